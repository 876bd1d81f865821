// q! terms and typed handles on range fields that the compiler rejects:
// a range lookup on a non-range field, an element or range of the wrong
// type, a name after a range field that is not a bound, and a bound
// compared with text.

use orm_core::prelude::*;
use orm_core::Range;

#[derive(Model)]
struct Event {
    #[orm(primary_key)]
    id: i64,
    title: String,
    span: Range<i32>,
}

fn range_lookup_on_text() {
    let _ = Event::filter(q!(title__fully_lt = 1..2));
}

fn isempty_on_an_integer() {
    let _ = Event::fields().id.isempty(true);
}

fn wrong_element_type() {
    let _ = Event::filter(q!(span__contains = "5"));
}

fn range_of_the_wrong_type() {
    let _ = Event::filter(q!(span__overlap = 1i64..2));
}

fn text_startswith_on_a_range() {
    let _ = Event::filter(q!(span__startswith = "1"));
}

fn unknown_name_after_a_range() {
    let _ = Event::filter(q!(span__lower__gte = 1));
}

fn bound_compared_with_text() {
    let _ = Event::filter(q!(span__startswith__gte = "1"));
}

fn contained_by_on_text() {
    let _ = Event::filter(q!(title__contained_by = 1..2));
}

fn main() {}
