// Composite primary keys: a relation to a model with one, a ManyToMany
// from one, an `Option` key field, and `pk` compared with a value that is
// not the key's tuple.

use orm_core::prelude::*;

#[derive(Model, Clone, Default)]
struct Release {
    #[orm(primary_key)]
    version: i32,
    #[orm(primary_key)]
    name: String,
}

#[derive(Model)]
struct Download {
    #[orm(primary_key)]
    id: i64,
    // As in Django 5.2: no foreign key to a composite key.
    release: ForeignKey<Release>,
}

#[derive(Model)]
struct Link {
    #[orm(primary_key)]
    a: i64,
    #[orm(primary_key)]
    b: Option<i64>,
    tags: ManyToMany<Tag>,
}

#[derive(Model)]
struct Tag {
    #[orm(primary_key)]
    id: i64,
}

fn main() {
    let _ = Release::filter(q!(pk = 1));
    let _ = Release::filter(q!(pk = (1, 2)));
    let _ = Release::filter(q!(pk__in = [(1, "a", 3)]));
}
