// q! terms with transforms that the compiler rejects: a transform on a
// field of another type, a lookup the transformed value does not take, a
// chained transform that does not apply to the value before it, a value of
// the wrong type.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use orm_core::prelude::*;

#[derive(Model)]
struct Venue {
    #[orm(primary_key)]
    id: i64,
    date: NaiveDate,
}

#[derive(Model)]
struct Event {
    #[orm(primary_key)]
    id: i64,
    name: String,
    created: DateTime<Utc>,
    day: NaiveDate,
    starts: NaiveTime,
    venue: ForeignKey<Venue>,
}

fn transform_on_text() {
    let _ = Event::filter(q!(name__year = 3));
}

fn text_lookup_after_transform() {
    let _ = Event::filter(q!(created__year__icontains = "x"));
}

fn regex_after_date() {
    let _ = Event::filter(q!(created__date__regex = "^2"));
}

fn date_of_a_date() {
    let _ = Event::filter(q!(day__date = NaiveDate::MIN));
}

fn year_of_a_time() {
    let _ = Event::filter(q!(starts__year = 2020));
}

fn hour_of_a_date_in_a_chain() {
    let _ = Event::filter(q!(created__date__hour = 2020));
}

fn year_of_lowered_text() {
    let _ = Event::filter(q!(name__lower__year = 2020));
}

fn text_lookup_after_length() {
    let _ = Event::filter(q!(name__length__icontains = "x"));
}

fn wrong_value_type() {
    let _ = Event::filter(q!(created__year = "2020"));
}

fn unknown_field_of_the_related_model() {
    let _ = Event::filter(q!(venue__dat__year = 2020));
}

fn typed_handle_on_text() {
    let _ = Event::fields().name.year();
}

fn main() {}
