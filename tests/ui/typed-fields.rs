// Conditions built with the typed field handles (`User::fields()`).

use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    title: String,
}

fn condition_of_other_model() {
    let _ = Post::filter(User::fields().name.eq("x"));
}

fn set_none_on_non_null() {
    let _ = User::all().update(User::fields().name.set(None));
}

fn wrong_value() {
    let _ = User::filter(User::fields().karma.gte("x"));
}

fn main() {}
