// q! terms on JSON fields that the compiler rejects: a text lookup with a
// non-text value, has_keys with one key, has_key on a text field, a key
// path on a field that is neither JSON nor a relation, a value that is
// not JSON, the typed handle's key on a text field.

use orm_core::prelude::*;

#[derive(Model)]
struct Dog {
    #[orm(primary_key)]
    id: i64,
    name: String,
    data: serde_json::Value,
}

fn text_lookup_with_a_number() {
    let _ = Dog::filter(q!(data__owner__icontains = 5));
}

fn has_keys_with_one_key() {
    let _ = Dog::filter(q!(data__has_keys = "a"));
}

fn has_keys_after_a_key_with_one_key() {
    let _ = Dog::filter(q!(data__owner__has_keys = "a"));
}

fn has_key_on_text() {
    let _ = Dog::filter(q!(name__has_key = "a"));
}

fn key_path_on_text() {
    let _ = Dog::filter(q!(name__owner = "a"));
}

fn not_a_json_value() {
    let _ = Dog::filter(q!(data__owner = 'c'));
}

fn typed_key_on_text() {
    let _ = Dog::fields().name.key("a");
}

fn main() {}
