//! Composite primary keys (Django 5.2's `CompositePrimaryKey`): get, filter,
//! save, delete and refresh by the whole key, a through model keyed by its
//! two foreign keys next to the `ManyToMany` that uses its table, and the
//! migration that creates such a key.

use orm_core::migrate::MakeOptions;
use orm_core::prelude::*;

use crate::common::{folder, setup};
use crate::migration_support::{empty_db, generated, introspect, migrator, query};
use crate::models::composite::{CkPost, CkTag, PostTag, Release};

fn release(version: i32, name: &str, notes: &str) -> Release {
    Release {
        version,
        name: name.into(),
        notes: notes.into(),
    }
}

#[tokio::test]
async fn composite_key_get_filter_save_delete_refresh() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        Release::create(release(1, "A", "first")).await?;
        Release::create(release(1, "B", "second")).await?;
        Release::create(release(2, "A", "third")).await?;

        // get by the key tuple; one key field alone matches several rows.
        let r = Release::get(q!(pk = (1, "B"))).await?;
        assert_eq!(r.notes, "second");
        assert!(matches!(
            Release::get(q!(version = 1)).await,
            Err(Error::MultipleObjectsReturned { .. })
        ));
        assert!(matches!(
            Release::get(q!(pk = (2, "B"))).await,
            Err(Error::DoesNotExist { .. })
        ));

        // pk__in of tuples, and exclude.
        let found = Release::filter(q!(pk__in = [(1, "A"), (2, "A"), (9, "Z")]))
            .order_by(["version", "name"])
            .await?;
        assert_eq!(
            found.iter().map(|r| r.notes.as_str()).collect::<Vec<_>>(),
            ["first", "third"]
        );
        let none: [(i32, &str); 0] = [];
        assert_eq!(Release::filter(q!(pk__in = none)).count().await?, 0);
        assert_eq!(Release::exclude(q!(pk = (1, "A"))).count().await?, 2);

        // save() with the key set: UPDATE, and INSERT when no row was updated.
        let mut r = Release::get(q!(pk = (1, "A"))).await?;
        r.notes = "changed".into();
        r.save().await?;
        assert_eq!(Release::get(q!(pk = (1, "A"))).await?.notes, "changed");
        assert_eq!(
            Release::get(q!(pk = (1, "B"))).await?.notes,
            "second",
            "one row updated"
        );
        let mut new = release(3, "A", "new");
        new.save().await?;
        assert_eq!(Release::all().count().await?, 4);

        // refresh_from_db() and delete() by the whole key.
        let mut stale = release(1, "B", "stale");
        stale.refresh_from_db().await?;
        assert_eq!(stale.notes, "second");
        assert_eq!(release(1, "B", "").delete().await?, 1);
        assert_eq!(
            Release::filter(q!(version = 1)).count().await?,
            1,
            "(1, A) is still there"
        );

        // first()/last() order by every key field.
        assert_eq!(
            Release::all().first().await?.map(|r| r.name),
            Some("A".to_owned())
        );
        let last = Release::all().last().await?.expect("a row");
        assert_eq!((last.version, last.name.as_str()), (3, "A"));

        // The key type is the tuple of the key fields' types.
        let bulk = Release::all()
            .in_bulk([(1, "A".to_owned()), (3, "A".to_owned())])
            .await?;
        assert_eq!(bulk.len(), 2);
        assert_eq!(bulk[&(3, "A".to_owned())].notes, "new");

        // A query set delete goes by its filter, never by one key field.
        assert_eq!(Release::filter(q!(pk = (2, "A"))).delete().await?, 1);
        assert_eq!(Release::all().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn composite_key_bulk_create_and_unique_violation() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = Release::bulk_create(vec![release(5, "A", "x"), release(5, "B", "y")]).await?;
        assert_eq!(made.len(), 2);
        assert_eq!(Release::filter(q!(version = 5)).count().await?, 2);
        let err = Release::create(release(5, "A", "dup")).await.unwrap_err();
        assert_eq!(err.constraint(), Some("ck_releases_pkey"));
        // bulk_update matches each row by its whole key: (5, "A") and
        // (5, "B") share a version, so a match on the first field alone
        // would write both rows with one object's notes.
        let mut changed = made.clone();
        changed[0].notes = "first".into();
        changed[1].notes = "second".into();
        assert_eq!(Release::bulk_update(&changed, &["notes"]).await?, 2);
        let a = Release::get(q!(pk = (5, "A"))).await?;
        let b = Release::get(q!(pk = (5, "B"))).await?;
        assert_eq!((a.notes.as_str(), b.notes.as_str()), ("first", "second"));
        // `pk__in` a query set of the same model: the key as a row.
        let picked = Release::filter(q!(pk__in = Release::filter(q!(notes = "second")))).await?;
        assert_eq!(picked.len(), 1);
        assert_eq!((picked[0].version, picked[0].name.as_str()), (5, "B"));
        // A key field is not written by bulk_update (as Django refuses pk).
        let err = Release::bulk_update(&changed, &["name"]).await.unwrap_err();
        assert!(err.to_string().contains("primary key"), "{err}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn composite_key_runtime_lookup_and_hostile_input() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        Release::create(release(1, "x'); DROP TABLE t;--", "n")).await?;
        // Hostile text is a bound value like any other.
        let r = Release::get(q!(pk = (1, "x'); DROP TABLE t;--"))).await?;
        assert_eq!(r.notes, "n");
        // The run-time lookup names no composite `pk`: a clear error, nothing sent.
        let err = orm_core::Lookup::parse::<Release>("pk", "1").unwrap_err();
        assert!(matches!(err, Error::InvalidLookup(_)), "{err}");
        assert!(err.to_string().contains("pk"), "{err}");
        // The typed form checks the tuple's arity and types at compile
        // time (tests/ui/composite-key.rs).
        Ok(())
    })
    .await
}

#[tokio::test]
async fn through_model_keyed_by_two_foreign_keys() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let post = CkPost::create(CkPost {
            title: "hello".into(),
            ..Default::default()
        })
        .await?;
        let other = CkPost::create(CkPost {
            title: "other".into(),
            ..Default::default()
        })
        .await?;
        let rust = CkTag::create(CkTag {
            name: "rust".into(),
            ..Default::default()
        })
        .await?;
        let sql = CkTag::create(CkTag {
            name: "sql".into(),
            ..Default::default()
        })
        .await?;

        // Links made by the ManyToMany manager are rows of the model.
        assert_eq!(post.tags().add(&[&rust]).await?, 1);
        let links = PostTag::filter(q!(post = post.id)).await?;
        assert_eq!(links.len(), 1);
        assert_eq!(*links[0].tag.key(), rust.id);

        // Rows made by the model are links of the manager.
        PostTag::create(PostTag {
            post: ForeignKey::from_key(post.id),
            tag: ForeignKey::from_key(sql.id),
        })
        .await?;
        PostTag::create(PostTag {
            post: ForeignKey::from_key(other.id),
            tag: ForeignKey::from_key(sql.id),
        })
        .await?;
        let mut names: Vec<String> = post
            .tags()
            .all()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        assert_eq!(names, ["rust", "sql"]);
        let link = PostTag::get(q!(pk = (post.id, sql.id))).await?;
        assert_eq!(*link.post.key(), post.id);

        // A duplicate link violates the composite key.
        let err = PostTag::create(link.clone()).await.unwrap_err();
        assert_eq!(err.constraint(), Some("ck_post_tags_pkey"));

        // save() of a link that exists changes nothing; of a new one inserts.
        let mut again = link.clone();
        again.save().await?;
        assert_eq!(PostTag::all().count().await?, 3);

        // Prefetch through the table still works.
        let posts = CkPost::all()
            .prefetch_related(["tags"])
            .order_by(["id"])
            .await?;
        assert_eq!(posts[0].tags.get().map(<[_]>::len), Some(2));
        assert_eq!(posts[1].tags.get().map(<[_]>::len), Some(1));

        // From the model keyed by two foreign keys: select_related joins
        // both targets in the one query, prefetch_related loads each in one
        // more; either way every link row carries its post and tag.
        let mut joined = PostTag::all()
            .select_related(["post", "tag"])
            .order_by(["post", "tag"])
            .await?;
        let mut prefetched = PostTag::all()
            .prefetch_related(["post", "tag"])
            .order_by(["post", "tag"])
            .await?;
        for links in [&mut joined, &mut prefetched] {
            let pairs: Vec<(String, String)> = links
                .iter()
                .map(|l| {
                    (
                        l.post.get().expect("post loaded").title.clone(),
                        l.tag.get().expect("tag loaded").name.clone(),
                    )
                })
                .collect();
            assert_eq!(
                pairs,
                [
                    ("hello".to_owned(), "rust".to_owned()),
                    ("hello".to_owned(), "sql".to_owned()),
                    ("other".to_owned(), "sql".to_owned()),
                ]
            );
        }

        // Deleting a link row with the model, then with the manager.
        assert_eq!(link.delete().await?, 1);
        assert_eq!(post.tags().all().count().await?, 1);
        post.tags().remove(&[&rust]).await?;
        assert_eq!(PostTag::filter(q!(post = post.id)).count().await?, 0);
        assert_eq!(
            PostTag::filter(q!(post = other.id)).count().await?,
            1,
            "other's link stays"
        );

        // Deleting a tag cascades to its link rows, each counted once.
        let report = CkTag::filter(q!(id = sql.id)).delete_report().await?;
        assert_eq!(report.per_model.get("PostTag"), Some(&1));
        assert_eq!(PostTag::all().count().await?, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn schema_has_one_link_table_with_a_composite_key() -> Result<()> {
    let mut models: Vec<_> = orm_core::registered_models().collect();
    models.sort_by_key(|m| m.table);
    models.dedup_by_key(|m| m.table);
    let schema = orm_core::schema::schema_sql(&models)?;
    let creates: Vec<&String> = schema
        .iter()
        .filter(|s| s.starts_with("CREATE TABLE IF NOT EXISTS \"ck_post_tags\" ("))
        .collect();
    assert_eq!(creates.len(), 1, "{schema:#?}");
    assert!(
        creates[0].contains(
            "CONSTRAINT \"ck_post_tags_pkey\" PRIMARY KEY (\"ck_post_id\", \"ck_tag_id\")"
        ),
        "{}",
        creates[0]
    );
    Ok(())
}

#[tokio::test]
async fn makemigrations_creates_a_composite_key() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let models = [CkPost::META, CkTag::META, PostTag::META, Release::META];
    let m = migrator(&dir, &db, &models);
    let made = m.make(&MakeOptions::default())?;
    let _ = made;
    m.migrate(None, false).await?;
    assert!(!m.check()?, "no change left after the migration");
    assert_eq!(introspect(&db).await?, generated(&models).await?);
    let keys: Vec<(String,)> = query(
        &db,
        "SELECT string_agg(a.attname, ',' ORDER BY array_position(c.conkey, a.attnum)) \
         FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) \
         WHERE c.conname = 'ck_releases_pkey' GROUP BY c.conname",
    )
    .await?;
    assert_eq!(keys, [("version,name".to_owned(),)]);
    orm_core::scope(&db, async {
        Release::create(release(1, "A", "n")).await?;
        assert_eq!(Release::get(q!(pk = (1, "A"))).await?.notes, "n");
        Ok::<_, Error>(())
    })
    .await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
