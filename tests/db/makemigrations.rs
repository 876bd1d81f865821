//! makemigrations: a model change made into SQL (a NOT NULL column filled, a table renamed, hostile names) and applied.

use orm_core::migrate::MakeOptions;
use orm_core::prelude::*;

use crate::common::folder;
use crate::migration_support::{count, empty_db, generated, introspect, migrator, query, written};
use crate::models::migrated_people::v1;

/// Version 4 (for the NOT NULL test): a required column without a default.
mod v4 {
    use orm_core::prelude::*;

    /// A person.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_people")]
    pub(super) struct Person {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Name.
        pub name: String,
        /// Age.
        pub age: i32,
        /// Optional text.
        pub bio: Option<String>,
        /// Required, no default.
        pub country: String,
    }
}

/// Notes with tags (a many-to-many link table), before and after the notes
/// table is renamed.
mod tagged {
    /// Before.
    pub(super) mod before {
        use orm_core::prelude::*;

        /// A tag.
        #[derive(Model, Debug, Clone, Default)]
        #[orm(table = "mig_tags")]
        pub(crate) struct Tag {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// Label.
            pub label: String,
        }

        /// A note.
        #[derive(Model, Debug, Clone, Default)]
        #[orm(table = "mig_notes")]
        pub(crate) struct Note {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// Text.
            pub body: String,
            /// Tags, through `mig_notes_tags`.
            pub tags: ManyToMany<Tag>,
        }
    }

    /// After: the notes table is `mig_memos`.
    pub(super) mod after {
        use orm_core::prelude::*;

        pub(crate) use super::before::Tag;

        /// A note, in a renamed table.
        #[derive(Model, Debug, Clone, Default)]
        #[orm(table = "mig_memos", renamed_from = "mig_notes")]
        pub(crate) struct Note {
            /// Key.
            #[orm(primary_key)]
            pub id: i64,
            /// Text.
            pub body: String,
            /// Tags, through `mig_memos_tags` (renamed with the table).
            pub tags: ManyToMany<Tag>,
        }
    }
}

/// Names no one should choose (quotes, `$$`, a backslash) on two models
/// whose foreign keys form a cycle, so `generate_schemas` adds one key in a
/// `DO` block, where its name is also a string literal.
mod hostile {
    use orm_core::prelude::*;

    /// One side.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_a'$$\"\\")]
    pub(super) struct A {
        /// Key.
        #[orm(primary_key, column = "i'd$$\"\\")]
        pub id: i64,
        /// The other side.
        #[orm(column = "b'$$\"\\", on_delete = "set_null")]
        pub b: Option<orm_core::ForeignKey<B>>,
        /// A default with a quote and a backslash.
        #[orm(default = "it's \\ here")]
        pub note: String,
    }

    /// The other side.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_b'$$\"\\")]
    pub(super) struct B {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// The first side.
        #[orm(column = "a'$$\"\\", on_delete = "set_null")]
        pub a: Option<orm_core::ForeignKey<A>>,
    }
}

#[tokio::test]
async fn not_null_column_needs_a_value_for_existing_rows() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Person::META]);
    m1.make(&MakeOptions::default())?;
    m1.migrate(None, false).await?;
    orm_core::scope(
        &db,
        v1::Person::create(v1::Person {
            name: "Ada".into(),
            ..Default::default()
        }),
    )
    .await?;
    let m4 = migrator(&dir, &db, &[v4::Person::META]);
    let err = m4.make(&MakeOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("mig_people.country (text)"), "{message}");
    assert!(
        message.contains("--default mig_people.country="),
        "{message}"
    );
    assert_eq!(
        m4.needs_default(&Default::default())?,
        ["mig_people.country"]
    );
    let path = written(m4.make(&MakeOptions {
        name: Some("add country".into()),
        fills: [("mig_people.country".to_owned(), "'unknown'".to_owned())].into(),
    })?);
    assert!(path.ends_with("0002_add_country.sql"));
    m4.migrate(None, false).await?;
    let ada = orm_core::scope(&db, async { v4::Person::get(q!(name = "Ada")).await }).await?;
    assert_eq!(ada.country, "unknown");
    assert_eq!(
        introspect(&db).await?,
        generated(&[v4::Person::META]).await?
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn table_rename_keeps_rows_and_links() -> Result<()> {
    use tagged::{after, before};
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[before::Tag::META, before::Note::META]);
    m1.make(&MakeOptions::default())?;
    m1.migrate(None, false).await?;
    orm_core::scope(&db, async {
        let tag = before::Tag::create(before::Tag {
            label: "todo".into(),
            ..Default::default()
        })
        .await?;
        let note = before::Note::create(before::Note {
            body: "buy milk".into(),
            ..Default::default()
        })
        .await?;
        note.tags().add(&[&tag]).await?;
        Ok::<_, Error>(())
    })
    .await?;
    let models = [after::Tag::META, after::Note::META];
    let m2 = migrator(&dir, &db, &models);
    let path = written(m2.make(&MakeOptions::default())?);
    let sql = std::fs::read_to_string(&path).unwrap();
    assert!(
        sql.contains(r#"ALTER TABLE "mig_notes" RENAME TO "mig_memos";"#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"ALTER TABLE "mig_notes_tags" RENAME TO "mig_memos_tags";"#),
        "{sql}"
    );
    assert!(!sql.contains("DROP TABLE"), "{sql}");
    m2.migrate(None, false).await?;
    let tagged = orm_core::scope(&db, async {
        after::Note::filter(q!(tags__label = "todo"))
            .values_list_flat::<String>("body")
            .await
    })
    .await?;
    assert_eq!(tagged, ["buy milk"]);
    assert_eq!(introspect(&db).await?, generated(&models).await?);
    m2.migrate(Some("0001"), false).await?;
    assert_eq!(
        count(&db, "mig_notes_tags").await?,
        1,
        "reverted with the link kept"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn hostile_names_in_generated_schemas_and_migrations() -> Result<()> {
    let models = [hostile::A::META, hostile::B::META];
    let sql = orm_core::schema::schema_sql(&models)?;
    assert!(
        sql.iter()
            .any(|s| s.starts_with("DO $orm1$ BEGIN IF NOT EXISTS") && s.contains("conname = E'")),
        "{sql:#?}"
    );
    let db = empty_db().await;
    // Twice: the second run finds everything there.
    for _ in 0..2 {
        for stmt in &sql {
            query::<(i32,)>(&db, stmt).await?;
        }
    }
    let schema = introspect(&db).await?;
    let keys = schema.iter().filter(|l| l.contains("FOREIGN KEY")).count();
    assert_eq!(keys, 2, "{schema:#?}");
    let note = r#"column mig_a'$$"\.note text not_null=true default=Some("'it''s \\ here'::text") identity="""#;
    assert!(schema.iter().any(|l| l == note), "{schema:#?}");

    // Migrations make the same schema, and take it away again.
    let dir = folder();
    let migrated = empty_db().await;
    let m = migrator(&dir, &migrated, &models);
    written(m.make(&MakeOptions::default())?);
    m.migrate(None, false).await?;
    assert_eq!(introspect(&migrated).await?, schema);
    m.migrate(Some("zero"), true).await?;
    assert!(introspect(&migrated).await?.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
