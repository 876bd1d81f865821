//! Index options in migrations (Django's `GinIndex`, `GistIndex`,
//! `BrinIndex`, `HashIndex`, `opclasses`, and `GinIndex(SearchVector(..))`):
//! makemigrations adds, changes and removes them, the files read back
//! (no changes after), and the database has what `generate_schemas` makes.

use orm_core::migrate::{Made, MakeOptions};
use orm_core::prelude::*;

use crate::common::folder;
use crate::migration_support::{empty_db, generated, introspect, migrator, written};

/// Versions of one table (`fts_mig_docs`).
mod v1 {
    use orm_core::prelude::*;

    /// No index.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "fts_mig_docs")]
    pub(super) struct Doc {
        #[orm(primary_key)]
        pub id: i64,
        pub title: String,
        pub body: Option<String>,
        pub tags: Vec<String>,
        pub seen: i64,
    }
}

mod v2 {
    use orm_core::prelude::*;

    /// A search index, a GIN index on an array, an operator class, a BRIN
    /// and a hash index.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "fts_mig_docs")]
    // One attribute: clippy's `duplicated_attributes` flags a `using =
    // "gin"` repeated across two.
    #[orm(
        index(search_vector(title, body), config = "english", using = "gin"),
        index(tags, using = "gin"),
        index(title, opclasses = ["text_pattern_ops"]),
        index(seen, using = "brin"),
        index(title, using = "hash")
    )]
    pub(super) struct Doc {
        #[orm(primary_key)]
        pub id: i64,
        pub title: String,
        pub body: Option<String>,
        pub tags: Vec<String>,
        pub seen: i64,
    }
}

mod v3 {
    use orm_core::prelude::*;

    /// The search index in another configuration, the tags' index gone,
    /// the rest as in v2.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "fts_mig_docs")]
    #[orm(index(search_vector(title, body), config = "simple", using = "gin"))]
    #[orm(index(title, opclasses = ["text_pattern_ops"]))]
    #[orm(index(seen, using = "brin"))]
    #[orm(index(title, using = "hash"))]
    pub(super) struct Doc {
        #[orm(primary_key)]
        pub id: i64,
        pub title: String,
        pub body: Option<String>,
        pub tags: Vec<String>,
        pub seen: i64,
    }
}

#[tokio::test]
async fn index_options_are_added_changed_and_removed() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Doc::META]);
    m1.make(&MakeOptions::default())?;
    m1.migrate(None, false).await?;

    let m2 = migrator(&dir, &db, &[v2::Doc::META]);
    let sql = std::fs::read_to_string(written(m2.make(&MakeOptions::default())?)).unwrap();
    for expected in [
        "CREATE INDEX \"fts_mig_docs_title_body_search_idx\" ON \"fts_mig_docs\" USING gin \
         ((to_tsvector('english'::regconfig, COALESCE(\"title\", '') || ' ' || \
         COALESCE(\"body\", ''))))",
        r#"CREATE INDEX "fts_mig_docs_tags_gin_idx" ON "fts_mig_docs" USING gin ("tags")"#,
        r#"CREATE INDEX "fts_mig_docs_title_ops_idx" ON "fts_mig_docs" ("title" "text_pattern_ops")"#,
        r#"CREATE INDEX "fts_mig_docs_seen_brin_idx" ON "fts_mig_docs" USING brin ("seen")"#,
        r#"CREATE INDEX "fts_mig_docs_title_hash_idx" ON "fts_mig_docs" USING hash ("title")"#,
    ] {
        assert!(sql.contains(expected), "{expected}\nnot in\n{sql}");
    }
    m2.migrate(None, false).await?;
    assert_eq!(introspect(&db).await?, generated(&[v2::Doc::META]).await?);
    let indexes = introspect(&db).await?.join("\n");
    // PostgreSQL's own reading of the definitions.
    assert!(
        indexes.contains(
            "USING gin (to_tsvector('english'::regconfig, ((COALESCE(title, ''::text) || ' '::text) || COALESCE(body, ''::text))))"
        ),
        "{indexes}"
    );
    assert!(
        indexes.contains("USING btree (title text_pattern_ops)"),
        "{indexes}"
    );
    // The file's recorded state reads back: nothing more to do.
    assert!(matches!(m2.make(&MakeOptions::default())?, Made::NoChanges));

    // A changed configuration and a removed index.
    let m3 = migrator(&dir, &db, &[v3::Doc::META]);
    let sql = std::fs::read_to_string(written(m3.make(&MakeOptions::default())?)).unwrap();
    assert!(
        sql.contains(r#"DROP INDEX "fts_mig_docs_tags_gin_idx""#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"DROP INDEX "fts_mig_docs_title_body_search_idx""#),
        "{sql}"
    );
    assert!(sql.contains("to_tsvector('simple'::regconfig"), "{sql}");
    m3.migrate(None, false).await?;
    assert_eq!(introspect(&db).await?, generated(&[v3::Doc::META]).await?);
    assert!(matches!(m3.make(&MakeOptions::default())?, Made::NoChanges));
    // And back.
    m3.migrate(Some("0002"), false).await?;
    assert_eq!(introspect(&db).await?, generated(&[v2::Doc::META]).await?);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
