// Mistakes that q! itself reports, at the key, lookup or value.

use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
}

fn empty_lookup() {
    let _ = User::filter(q!(name__ = "x"));
}

fn unknown_lookup() {
    let _ = User::filter(q!(name__icontainz = "x"));
}

fn f_with_contains() {
    let _ = User::filter(q!(name__contains = F("name")));
}

fn none_with_gt() {
    let _ = User::filter(q!(karma__gt = None));
}

fn key_not_identifier() {
    let _ = User::filter(q!("name" = "x"));
}

fn missing_equals() {
    let _ = User::filter(q!(name "x"));
}

fn main() {}
