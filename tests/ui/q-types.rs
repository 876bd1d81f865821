// q! terms that the compiler rejects: an unknown field or relation, a
// lookup or value of the wrong type, each at the key or the value.

use orm_core::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    karma: i32,
    email: Option<String>,
}

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    author: ForeignKey<User>,
    title: String,
    tags: ManyToMany<Tag>,
}

fn unknown_field() {
    let _ = User::filter(q!(nmae = "x"));
}

fn relation_lookup() {
    let _ = User::filter(q!(name__x__icontains = "x"));
}

fn path_through_non_relation() {
    let _ = User::filter(q!(name__foo__exact = 1));
}

fn unknown_related_field() {
    let _ = Post::filter(q!(author__nmae = "x"));
}

fn text_lookup_on_int() {
    let _ = User::filter(q!(karma__icontains = "x"));
}

fn iexact_none_on_int() {
    let _ = User::filter(q!(karma__iexact = None));
}

fn exact_none_on_non_null() {
    let _ = User::filter(q!(karma__exact = None));
}

fn none_on_non_null() {
    let _ = User::filter(q!(name = None));
}

fn wrong_value_type() {
    let _ = User::filter(q!(karma__gte = "x"));
}

fn wrong_integer_type() {
    let _ = User::filter(q!(karma = 1i64));
}

fn in_wrong_element_type() {
    let _ = User::filter(q!(karma__in = ["x"]));
}

fn isnull_not_bool() {
    let _ = User::filter(q!(email__isnull = "yes"));
}

fn key_wrong_type() {
    let _ = Post::filter(q!(author = "x"));
}

fn update_with_lookup() {
    let _ = User::all().update(q!(karma__gt = 1));
}

async fn update_many_to_many() -> Result<u64> {
    Post::all().update(q!(tags = 1)).await
}

fn main() {}
