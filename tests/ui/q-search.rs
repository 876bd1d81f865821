// Full-text search misuse the compiler rejects: `search` on a non-text
// field (q! and the typed handle), a value that is not a text or a
// SearchQuery, an F() expression as a search's value, and index options
// that do not exist or do not fit.

use orm_core::prelude::*;
use orm_core::search::SearchQuery;

#[derive(Model)]
struct Entry {
    #[orm(primary_key)]
    id: i64,
    title: String,
    views: i32,
}

fn search_on_an_integer() {
    let _ = Entry::filter(q!(views__search = "1"));
}

fn search_on_an_integer_handle() {
    let _ = Entry::filter(Entry::fields().views.search(SearchQuery("1")));
}

fn a_number_is_not_a_query() {
    let _ = Entry::filter(q!(title__search = 1));
}

fn f_is_not_a_query() {
    let _ = Entry::filter(q!(title__search = F("title")));
}

#[derive(Model)]
#[orm(index(title, using = "gine"))]
#[orm(index(search_vector(title), using = "gin"))]
#[orm(index(search_vector(title), config = "English", using = "gin"))]
#[orm(index(search_vector(title), config = "english", using = "btree"))]
#[orm(index(title, views, opclasses = ["text_pattern_ops"]))]
#[orm(index(title, opclasses = ["x; DROP"]))]
#[orm(index(title, config = "english"))]
#[orm(index(title, method = "gin"))]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    title: String,
    views: i32,
}

fn main() {}
