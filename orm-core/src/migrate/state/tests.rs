//! The schema the models describe: names, and what is declared twice.

use super::*;
use crate::prelude::*;

/// A table declared by two models: the first one's is the schema's.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "st_twice", crate = "crate", index(rank))]
struct First {
    #[orm(primary_key)]
    id: i64,
    /// Indexed twice (here and `index(rank)`): one index.
    #[orm(index)]
    rank: i32,
    /// Both sides name the link table `st_links`.
    #[orm(through = "st_links")]
    others: crate::ManyToMany<Other>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "st_twice", crate = "crate")]
struct Second {
    #[orm(primary_key)]
    id: i32,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "st_others", crate = "crate")]
struct Other {
    #[orm(primary_key)]
    id: i64,
    #[orm(through = "st_links")]
    firsts: crate::ManyToMany<First>,
}

#[test]
fn long_names_are_shortened_stably() {
    assert_eq!(object_name("users", &["karma"], "idx"), "users_karma_idx");
    let long = object_name(&"t".repeat(60), &["a", "b"], "uniq");
    assert_eq!(long.len(), 63);
    assert!(long.ends_with("_uniq"));
    assert_eq!(long, object_name(&"t".repeat(60), &["a", "b"], "uniq"));
    assert_eq!(pkey_name("users"), "users_pkey");
    assert_eq!(pkey_name(&"t".repeat(58)).len(), 63, "fits as it is");
    let long = pkey_name(&"t".repeat(59));
    assert_eq!(long.len(), 63);
    assert!(long.ends_with("_pkey"), "not cut by PostgreSQL: {long}");
}

#[test]
fn what_is_declared_twice_is_created_once() {
    let tables = tables_of(&[First::META, Second::META, Other::META]);
    let names: Vec<&str> = tables.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["st_twice", "st_others", "st_links"]);
    let twice = &tables[0].1;
    assert_eq!(twice.columns[0].sql_type, "bigint", "the first model's");
    assert_eq!(
        twice.indexes,
        [Constraint {
            name: "st_twice_rank_idx".into(),
            columns: vec!["rank".into()],
            ..Constraint::default()
        }]
    );
    let links = &tables[2].1;
    assert_eq!(links.primary_key.columns, ["first_id", "other_id"]);
    assert_eq!(
        links.indexes.len(),
        1,
        "the first declaration's: {links:#?}"
    );
    let state = SchemaState::from_models(&[First::META, Second::META, Other::META]);
    assert_eq!(state.tables["st_twice"], *twice);
}
