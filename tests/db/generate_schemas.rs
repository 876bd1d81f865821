//! generate_schemas: creates exactly the schema the models' migration state describes, as makemigrations + migrate do.
//!
//! Models with every feature the schema has; the catalog of a generated
//! database read back and compared with `SchemaState::from_models`, and
//! with a migrated database.

use std::collections::BTreeMap;

use orm_core::migrate::state::{ColumnState, Constraint, ForeignKeyState};
use orm_core::migrate::{ops, Made, MakeOptions, Renames, SchemaState};
use orm_core::prelude::*;
use orm_core::ModelMeta;

use crate::common::folder;
use crate::migration_support::{empty_db, introspect, migrator, query};

/// Models with every feature of the schema: foreign keys with each
/// `on_delete`, in a cycle and to their own table, a one-to-one,
/// many-to-many links through an automatic table, a named one (declared on
/// both sides) and a model, unique fields, `unique_together`, indexes
/// (one declared twice), defaults, `max_length`, nullable fields, identity
/// and other primary keys, an enum, and a table name long enough for its
/// key names to be shortened.
mod every {
    use orm_core::prelude::*;

    /// Stored as text.
    #[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
    pub(crate) enum Level {
        /// The default.
        #[default]
        Low,
        /// The other.
        High,
    }

    /// An owner: bigint identity key, one side of a foreign key cycle.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(
        table = "gen_owners",
        unique_together(name, level),
        index(level, rating),
        index(score)
    )]
    pub(crate) struct Owner {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Unique, varchar(40).
        #[orm(unique, max_length = 40)]
        pub name: String,
        /// An enum.
        pub level: Level,
        /// Indexed twice (here and `index(score)`): one index.
        #[orm(index, default = 0)]
        pub score: i32,
        /// Nullable.
        pub note: Option<String>,
        /// A float default.
        #[orm(default = 1.5)]
        pub rating: f64,
        /// A boolean default.
        #[orm(default = true)]
        pub active: bool,
        /// The cycle's other half: added after both tables.
        #[orm(on_delete = "set_null")]
        pub favorite: Option<ForeignKey<Item>>,
    }

    /// A tag: a text key, no identity.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "gen_tags")]
    pub(crate) struct Tag {
        /// Key, varchar(20).
        #[orm(primary_key, max_length = 20)]
        pub code: String,
        /// The named link table again, from this side.
        #[orm(through = "gen_item_labels")]
        pub labelled: ManyToMany<Item>,
    }

    /// A token: a uuid key.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "gen_tokens")]
    pub(crate) struct Token {
        /// Key.
        #[orm(primary_key)]
        pub id: uuid::Uuid,
        /// Types without a default.
        pub issued: chrono::DateTime<chrono::Utc>,
        /// A date.
        pub day: Option<chrono::NaiveDate>,
        /// Bytes.
        pub secret: Vec<u8>,
        /// JSON.
        pub claims: Option<serde_json::Value>,
    }

    /// An item: integer identity key, a key of each `on_delete`.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "gen_items")]
    pub(crate) struct Item {
        /// Key.
        #[orm(primary_key)]
        pub id: i32,
        /// CASCADE (the default).
        pub owner: ForeignKey<Owner>,
        /// SET NULL.
        #[orm(on_delete = "set_null")]
        pub fallback: Option<ForeignKey<Owner>>,
        /// RESTRICT.
        #[orm(on_delete = "restrict")]
        pub keeper: ForeignKey<Owner>,
        /// RESTRICT, as Django's PROTECT.
        #[orm(on_delete = "protect")]
        pub guard: ForeignKey<Owner>,
        /// SET DEFAULT.
        #[orm(on_delete = "set_default", default = 1)]
        pub spare: ForeignKey<Owner>,
        /// NO ACTION.
        #[orm(on_delete = "do_nothing")]
        pub loose: ForeignKey<Owner>,
        /// One-to-one: unique, not indexed again.
        pub profile: Option<OneToOne<Token>>,
        /// To its own table.
        #[orm(on_delete = "set_null")]
        pub parent: Option<ForeignKey<Item>>,
        /// Through the automatic `gen_items_tags`.
        pub tags: ManyToMany<Tag>,
        /// Through `gen_item_labels`, which no model declares.
        #[orm(through = "gen_item_labels")]
        pub labels: ManyToMany<Tag>,
        /// To its own table: from_item_id, to_item_id.
        pub related: ManyToMany<Item>,
        /// Through the `Membership` model's table: no link table.
        #[orm(through = "gen_memberships")]
        pub members: ManyToMany<Owner>,
    }

    /// The through model of `Item.members`.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "gen_memberships", unique_together(item, owner))]
    pub(crate) struct Membership {
        /// Key, smallint identity.
        #[orm(primary_key)]
        pub id: i16,
        /// Column item_id.
        pub item: ForeignKey<Item>,
        /// Column owner_id.
        pub owner: ForeignKey<Owner>,
        /// A text default with a quote.
        #[orm(default = "it's a member")]
        pub role: String,
    }

    /// A table whose key names pass PostgreSQL's 63 bytes.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "gen_a_table_whose_name_is_long_enough_for_its_keys_to_be_cut")]
    pub(crate) struct Long {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Unique.
        #[orm(unique)]
        pub code: String,
        /// A key and its index.
        pub owner: ForeignKey<Owner>,
    }
}

fn models() -> Vec<&'static ModelMeta> {
    use every::*;
    vec![
        Owner::META,
        Tag::META,
        Token::META,
        Item::META,
        Membership::META,
        Long::META,
    ]
}

/// `state` with its constraints and indexes sorted by name (the catalog
/// has no order for them).
fn sorted(mut state: SchemaState) -> SchemaState {
    for t in state.tables.values_mut() {
        t.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    }
    state
}

/// The names of the columns `list` (`a,b`) holds.
fn names(list: &str) -> Vec<String> {
    list.split(',').map(str::to_owned).collect()
}

/// The columns in key order of a constraint's (`conkey`) or an index's
/// (`indkey`) array `keys` on table `rel`.
fn key_columns(keys: &str, rel: &str) -> String {
    format!(
        "(SELECT string_agg(a.attname::text, ',' ORDER BY u.i) FROM unnest({keys}) \
         WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = u.n)"
    )
}

/// The schema of `db` read from the catalog as a [`SchemaState`] (the
/// history table left out): types and defaults as PostgreSQL prints them.
async fn read(db: &Db) -> Result<SchemaState> {
    let mut state = SchemaState::default();
    let columns: Vec<(String, String, String, bool, Option<String>, String)> = query(
        db,
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 \
           AND NOT a.attisdropped AND c.relname <> 'orm_migrations' ORDER BY 1, a.attnum",
    )
    .await?;
    for (table, name, sql_type, not_null, default, identity) in columns {
        let t = state.tables.entry(table).or_default();
        t.columns.push(ColumnState {
            name,
            sql_type,
            nullable: !not_null,
            identity: identity == "d",
            default,
        });
    }
    let sql = format!(
        "SELECT c.relname::text, k.conname::text, k.contype::text, {}, \
                coalesce((SELECT relname::text FROM pg_class WHERE oid = k.confrelid), ''), \
                coalesce({}, ''), k.confdeltype::text \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> 'orm_migrations' \
         ORDER BY 1, 2",
        key_columns("k.conkey", "k.conrelid"),
        key_columns("k.confkey", "k.confrelid"),
    );
    let constraints: Vec<(String, String, String, String, String, String, String)> =
        query(db, &sql).await?;
    for (table, name, kind, columns, target, target_column, on_delete) in constraints {
        let t = state.tables.entry(table).or_default();
        let key = Constraint {
            name: name.clone(),
            columns: names(&columns),
            ..Constraint::default()
        };
        match kind.as_str() {
            "p" => t.primary_key = key,
            "u" => t.uniques.push(key),
            "f" => t.foreign_keys.push(ForeignKeyState {
                name,
                column: columns,
                references: target,
                target_column,
                on_delete: match on_delete.as_str() {
                    "c" => "CASCADE",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    "r" => "RESTRICT",
                    _ => "NO ACTION",
                }
                .into(),
                tenant: None,
            }),
            other => panic!("a constraint no model declares: {name} ({other})"),
        }
    }
    let sql = format!(
        "SELECT t.relname::text, i.relname::text, {} \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> 'orm_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid \
                           AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u')) \
         ORDER BY 1, 2",
        key_columns("x.indkey::int2[]", "x.indrelid"),
    );
    let indexes: Vec<(String, String, String)> = query(db, &sql).await?;
    for (table, name, columns) in indexes {
        state
            .tables
            .entry(table)
            .or_default()
            .indexes
            .push(Constraint {
                name,
                columns: names(&columns),
                ..Constraint::default()
            });
    }
    Ok(sorted(state))
}

/// `state` with its columns' types and defaults as PostgreSQL prints them:
/// each table's columns created bare (no key) on an empty database, from
/// the state by this test, and read back.
async fn printed(state: &SchemaState) -> Result<SchemaState> {
    let scratch = empty_db().await;
    for (name, t) in &state.tables {
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut sql = format!("\"{}\" {}", c.name, c.sql_type);
                if c.identity {
                    sql += " GENERATED BY DEFAULT AS IDENTITY";
                }
                if !c.nullable {
                    sql += " NOT NULL";
                }
                if let Some(default) = &c.default {
                    sql += &format!(" DEFAULT {default}");
                }
                sql
            })
            .collect();
        let create = format!("CREATE TABLE \"{name}\" ({})", columns.join(", "));
        query::<(i32,)>(&scratch, &create).await?;
    }
    let bare = read(&scratch).await?;
    let mut out = state.clone();
    for (name, t) in &mut out.tables {
        t.columns = bare.tables[name].columns.clone();
    }
    Ok(sorted(out))
}

#[tokio::test]
async fn generate_schemas_creates_the_models_state_and_migrations_the_same() -> Result<()> {
    let models = models();
    let state = SchemaState::from_models(&models);
    let sql = orm_core::schema::schema_sql(&models)?;
    assert!(
        sql.iter()
            .any(|s| s.starts_with("DO $$") && s.contains("gen_owners_favorite_id_fkey")),
        "the cycle's key is added afterwards: {sql:#?}"
    );
    // The state has the features this test is about.
    let items = &state.tables["gen_items"];
    let mut actions: Vec<&str> = items
        .foreign_keys
        .iter()
        .map(|f| f.on_delete.as_str())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    assert_eq!(
        actions,
        [
            "CASCADE",
            "NO ACTION",
            "RESTRICT",
            "SET DEFAULT",
            "SET NULL"
        ]
    );
    let tables: Vec<&String> = state.tables.keys().collect();
    assert_eq!(
        tables,
        [
            "gen_a_table_whose_name_is_long_enough_for_its_keys_to_be_cut",
            "gen_item_labels",
            "gen_items",
            "gen_items_related",
            "gen_items_tags",
            "gen_memberships",
            "gen_owners",
            "gen_tags",
            "gen_tokens",
        ]
    );
    let long = &state.tables["gen_a_table_whose_name_is_long_enough_for_its_keys_to_be_cut"];
    assert!(long.primary_key.name.len() <= 63 && long.primary_key.name.ends_with("_pkey"));
    assert!(long.uniques[0].name.len() <= 63 && long.uniques[0].name.ends_with("_key"));
    let labels = &state.tables["gen_item_labels"];
    assert_eq!(
        labels.indexes.len(),
        1,
        "the first declaration's: {labels:#?}"
    );
    let score_indexes = state.tables["gen_owners"]
        .indexes
        .iter()
        .filter(|i| i.columns == ["score"])
        .count();
    assert_eq!(score_indexes, 1);

    // generate_schemas's statements, run twice on an empty database (the
    // second run finds everything there), create exactly the state.
    let generated = empty_db().await;
    for _ in 0..2 {
        for stmt in &sql {
            query::<(i32,)>(&generated, stmt).await?;
        }
    }
    let expected = printed(&state).await?;
    let found = read(&generated).await?;
    assert_eq!(found, expected);
    let changes = ops::diff(&found, &expected, &Renames::default(), &BTreeMap::new());
    assert_eq!(changes, Ok(Vec::new()), "nothing for makemigrations to do");

    // makemigrations + migrate create the same schema, to the text of
    // every definition, and then find nothing to change.
    let dir = folder();
    let migrated = empty_db().await;
    let m = migrator(&dir, &migrated, &models);
    m.make(&MakeOptions::default())?;
    m.migrate(None, false).await?;
    assert_eq!(read(&migrated).await?, found);
    assert_eq!(introspect(&migrated).await?, introspect(&generated).await?);
    assert!(!m.check()?);
    assert_eq!(m.make(&MakeOptions::default())?, Made::NoChanges);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn create_table_sql_creates_the_models_table() -> Result<()> {
    let db = empty_db().await;
    let token = every::Token::META;
    for stmt in orm_core::schema::create_table_sql(token)? {
        query::<(i32,)>(&db, &stmt).await?;
    }
    let expected = printed(&SchemaState::from_models(&[token])).await?;
    assert_eq!(read(&db).await?, expected);
    Ok(())
}
