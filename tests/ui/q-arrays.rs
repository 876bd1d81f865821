// q! terms and typed handles on array fields that the compiler rejects:
// an array lookup on a non-array field, a wrong element type, an unknown
// name after an array field, a text lookup on an integer element, and an
// array element type that does not exist.

use orm_core::prelude::*;

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    title: String,
    tags: Vec<String>,
    scores: Option<Vec<i32>>,
}

fn overlap_on_text() {
    let _ = Post::filter(q!(title__overlap = ["a"]));
}

fn contained_by_on_an_integer() {
    let _ = Post::filter(q!(id__contained_by = [1]));
}

fn wrong_element_type() {
    let _ = Post::filter(q!(tags__contains = [1, 2]));
}

fn text_value_for_an_array() {
    let _ = Post::filter(q!(scores__contains = "1"));
}

fn unknown_name_after_an_array() {
    let _ = Post::filter(q!(tags__first = "a"));
}

fn text_lookup_on_an_integer_element() {
    let _ = Post::filter(q!(scores__0__icontains = "1"));
}

fn len_of_text() {
    let _ = Post::fields().title.len();
}

fn wrong_type_for_len() {
    let _ = Post::filter(q!(tags__len = "2"));
}

#[derive(Model)]
struct Nested {
    #[orm(primary_key)]
    id: i64,
    grid: Vec<Vec<i32>>,
}

fn main() {}
