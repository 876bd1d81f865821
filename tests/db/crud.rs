//! Writing rows: create, save, delete, refresh, bulk writes, get_or_create, update_or_create.
//!
//! Each with the errors it returns.

use orm_core::prelude::*;

use crate::common::{setup, users, User};

#[tokio::test]
async fn create_returns_the_row_as_stored() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let u = User::create(User::named("Gemini")).await?;
        assert!(u.id > 0);
        assert_eq!(u.karma, 0);
        assert_eq!(u.email, None);
        assert_eq!(u.created_at, u.updated_at);
        assert!((chrono::Utc::now() - u.created_at).num_seconds().abs() < 60);
        assert_eq!(User::get(q!(id = u.id)).await?, u);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn save_inserts_then_updates() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let mut a = User::named("Ada");
        a.save().await?;
        let id = a.id;
        assert!(id > 0);
        let created = a.created_at;
        a.karma += 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        a.save().await?;
        assert_eq!(a.id, id, "an update keeps the id");
        assert_eq!(a.created_at, created, "auto_now_add is set once");
        assert!(a.updated_at > created, "auto_now moves on every save");
        let stored = User::get(q!(pk = id)).await?;
        assert_eq!(stored, a);
        assert_eq!(User::all().count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn save_with_unknown_pk_inserts_it() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let mut u = User {
            id: 4242,
            ..User::named("Explicit")
        };
        u.save().await?;
        assert_eq!(User::get(q!(id = 4242)).await?.name, "Explicit");
        // The identity sequence still hands out its own ids afterwards.
        let next = User::create(User::named("Next")).await?;
        assert_ne!(next.id, 4242);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn delete_and_refresh() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let mut a = User::create(User::named("Ada")).await?;
        User::filter(q!(id = a.id)).update(q!(karma = 99)).await?;
        assert_eq!(a.karma, 0);
        a.refresh_from_db().await?;
        assert_eq!(a.karma, 99);
        assert_eq!(a.delete().await?, 1);
        assert_eq!(a.delete().await?, 0);
        assert!(matches!(
            User::get(q!(id = a.id)).await,
            Err(Error::DoesNotExist { model: "User" })
        ));
        assert!(matches!(
            a.refresh_from_db().await,
            Err(Error::DoesNotExist { .. })
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn get_counts_matches_as_django_and_gets_by_key_twice_alike() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let objs: Vec<User> = (0..25)
            .map(|i| User {
                name: format!("g{i}"),
                karma: if i < 3 { 1 } else { 2 },
                ..Default::default()
            })
            .collect();
        let users = User::bulk_create(objs).await?;
        // Django's MAX_GET_RESULTS: 21 rows fetched at most, "more than 20".
        match User::get(q!(karma = 2)).await {
            Err(Error::MultipleObjectsReturned {
                model: "User",
                count: 20,
                more: true,
            }) => {}
            other => panic!("22 rows: {other:?}"),
        }
        match User::get_or_none(q!(karma = 1)).await {
            Err(Error::MultipleObjectsReturned {
                count: 3,
                more: false,
                ..
            }) => {}
            other => panic!("3 rows: {other:?}"),
        }
        // An own limit under 21: as many rows, reported as they are.
        match User::filter(q!(karma = 2))
            .limit(5)
            .get(q!(karma = 2))
            .await
        {
            Err(Error::MultipleObjectsReturned {
                count: 5,
                more: false,
                ..
            }) => {}
            other => panic!("5 rows: {other:?}"),
        }
        // An ordered query's get finds its row (that the ordering is not
        // sent is checked on the SQL, in the unit tests).
        assert_eq!(
            User::all()
                .order_by(["-name"])
                .get(q!(name = "g4"))
                .await?
                .id,
            users[4].id
        );
        // A sliced query keeps its ordering (newest first here, against the
        // table's order) and fetches at most 21 rows.
        let sliced = User::filter(q!(karma = 2)).order_by(["-id"]);
        match sliced.clone().limit(50).get(q!(karma = 2)).await {
            Err(Error::MultipleObjectsReturned {
                count: 20,
                more: true,
                ..
            }) => {}
            other => panic!("22 rows in a slice of 50: {other:?}"),
        }
        assert_eq!(sliced.offset(21).get(q!(karma = 2)).await?.id, users[3].id);
        // By key and by a unique field (no LIMIT sent), the first get of a
        // field and the later ones (its text kept) alike.
        for user in &users[..3] {
            assert_eq!(User::get(q!(id = user.id)).await?.name, user.name);
            assert_eq!(User::get(q!(name = user.name.as_str())).await?.id, user.id);
        }
        assert!(User::get_or_none(q!(id = -1)).await?.is_none());
        assert!(matches!(
            User::get(q!(name = "nobody")).await,
            Err(Error::DoesNotExist { model: "User" })
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_returns_ids_in_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        assert!(User::bulk_create(vec![]).await?.is_empty());
        let objs: Vec<User> = (0..2000)
            .map(|i| User {
                name: format!("u{i:04}"),
                karma: i,
                email: (i % 2 == 0).then(|| format!("u{i}@x")),
                ..Default::default()
            })
            .collect();
        let created = User::bulk_create(objs).await?;
        assert_eq!(created.len(), 2000);
        for (i, u) in created.iter().enumerate() {
            assert_eq!(u.name, format!("u{i:04}"));
            assert_eq!(u.karma, i as i32);
            assert!(u.id > 0);
        }
        let mut ids: Vec<i64> = created.iter().map(|u| u.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 2000);
        let stored = User::all().order_by(["id"]).await?;
        assert_eq!(stored, created);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_mixed_pks_and_atomic_failure() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let created = User::bulk_create(vec![
            User::named("auto1"),
            User {
                id: 1000,
                ..User::named("given")
            },
            User::named("auto2"),
        ])
        .await?;
        assert_eq!(
            created.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["auto1", "given", "auto2"]
        );
        assert_eq!(created[1].id, 1000);
        // A duplicate inside the batch: nothing of the batch is kept.
        let err = User::bulk_create(vec![User::named("dup"), User::named("dup")])
            .await
            .unwrap_err();
        assert_eq!(err.constraint(), Some("users_name_key"));
        assert_eq!(User::all().count().await?, 3);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_insert_copies_rows_without_reading_them_back() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let before = db.query_count();
        assert_eq!(User::bulk_insert(vec![]).await?, 0);
        assert_eq!(db.query_count(), before, "an empty batch sends nothing");

        let objs: Vec<User> = (0..5000)
            .map(|i| User {
                name: format!("u{i:04}"),
                karma: i - 2500,
                email: (i % 3 == 0).then(|| format!("u{i}@x, 'quoted' \\ %_")),
                ..Default::default()
            })
            .collect();
        let before = db.query_count();
        assert_eq!(User::bulk_insert(objs.clone()).await?, 5000);
        assert_eq!(db.query_count() - before, 1, "one statement for 5,000 rows");
        // (That the one statement is a COPY: logging::bulk_writes_send_one_statement.)
        let stored = User::all().order_by(["id"]).await?;
        assert_eq!(stored.len(), 5000);
        for (got, sent) in stored.iter().zip(&objs) {
            assert!(got.id > 0);
            assert_eq!(
                (&got.name, got.karma, &got.email),
                (&sent.name, sent.karma, &sent.email)
            );
            // auto_now and auto_now_add were set before the copy.
            assert!(got.created_at > chrono::DateTime::<chrono::Utc>::default());
            assert_eq!(got.created_at, got.updated_at);
        }

        // Given and generated keys in one call: two copies, one transaction.
        let n = User::bulk_insert(vec![
            User {
                id: 90_000,
                ..User::named("given")
            },
            User::named("generated"),
        ])
        .await?;
        assert_eq!(n, 2);
        assert_eq!(User::get(q!(id = 90_000i64)).await?.name, "given");
        assert!(User::get(q!(name = "generated")).await?.id > 0);
        Ok(())
    })
    .await
}

/// A model with nothing to insert but its generated key.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "ticks")]
struct Tick {
    #[orm(primary_key)]
    id: i64,
}

#[tokio::test]
async fn bulk_writes_of_a_model_with_only_a_generated_key() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ids = |ticks: Vec<Tick>| ticks.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(
            ids(Tick::bulk_create(vec![Tick::default(); 3]).await?),
            [1, 2, 3]
        );
        assert_eq!(Tick::bulk_insert(vec![Tick::default(); 2]).await?, 2);
        // Given keys and generated ones in one call.
        let mixed = Tick::bulk_create(vec![Tick { id: 100 }, Tick::default()]).await?;
        assert_eq!(ids(mixed), [100, 6]);
        let mixed = vec![Tick { id: 200 }, Tick::default()];
        assert_eq!(Tick::bulk_insert(mixed).await?, 2);
        let stored: Vec<i64> = Tick::all().order_by(["id"]).values_list_flat("id").await?;
        assert_eq!(stored, [1, 2, 3, 4, 5, 6, 7, 100, 200]);
        Ok(())
    })
    .await
}

/// A model without times or `jsonb`: an insert reads back only the
/// generated key.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "memos")]
struct Memo {
    #[orm(primary_key)]
    id: i64,
    text: String,
    rank: Option<i16>,
}

/// A `jsonb` field: PostgreSQL keeps its numbers as `numeric`.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "measures")]
struct Measure {
    #[orm(primary_key)]
    id: i64,
    data: serde_json::Value,
}

#[tokio::test]
async fn saves_read_back_the_key_and_what_is_stored_otherwise() -> Result<()> {
    let db = setup().await;
    // Upper-cases every memo's text, and skips the row of one called
    // "skipped".
    db.batch_execute(
        "CREATE FUNCTION memo_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.text = 'skipped' THEN RETURN NULL; END IF; \
         NEW.text := upper(NEW.text); RETURN NEW; END $$; \
         CREATE TRIGGER memo_trigger BEFORE INSERT ON memos FOR EACH ROW EXECUTE FUNCTION memo_trigger()",
    )
    .await?;
    orm_core::scope(&db, async {
        let mut a = Memo {
            text: "first".into(),
            rank: Some(3),
            ..Default::default()
        };
        a.save().await?;
        assert!(a.id > 0, "the generated key is filled in");
        // As in Django, the other fields keep the values sent.
        assert_eq!((a.text.as_str(), a.rank), ("first", Some(3)));
        let stored = Memo::get(q!(id = a.id)).await?;
        assert_eq!((stored.text.as_str(), stored.rank), ("FIRST", Some(3)));
        let given = Memo::create(Memo {
            id: 500,
            text: "given".into(),
            rank: None,
        })
        .await?;
        assert_eq!((given.id, given.text.as_str()), (500, "given"));
        assert_eq!(Memo::get(q!(id = 500)).await?.text, "GIVEN");
        // A skipped row: none comes back (generated key) or none is
        // inserted (given key, no RETURNING), and both say so.
        for id in [0, 600] {
            let skipped = Memo {
                id,
                text: "skipped".into(),
                rank: None,
            };
            match Memo::create(skipped).await {
                Err(Error::DoesNotExist { model: "Memo" }) => {}
                other => panic!("id {id}: expected DoesNotExist, got {other:?}"),
            }
        }
        assert_eq!(Memo::all().count().await?, 2);

        // serde_json writes 1e16 as `1e16`; jsonb returns `10000000000000000`,
        // an integer: the saved object takes the stored value.
        let m = Measure::create(Measure {
            data: serde_json::json!({"big": 1e16, "small": 0.5}),
            ..Default::default()
        })
        .await?;
        assert_eq!(Measure::get(q!(id = m.id)).await?, m);
        assert_eq!(m.data["big"], serde_json::json!(10_000_000_000_000_000_u64));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_insert_is_atomic() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        User::create(User::named("taken")).await?;
        // A duplicate of a stored row, after many good rows: none is kept.
        let mut objs: Vec<User> = (0..3000).map(|i| User::named(&format!("n{i}"))).collect();
        objs.push(User::named("taken"));
        let err = User::bulk_insert(objs).await.unwrap_err();
        assert_eq!(err.constraint(), Some("users_name_key"), "{err}");
        assert_eq!(User::all().count().await?, 1);

        // Given keys are copied first, generated ones second; the second
        // copy fails, and the first (already sent) is rolled back with it.
        let err = User::bulk_insert(vec![
            User {
                id: 7,
                ..User::named("given")
            },
            User::named("taken"),
        ])
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("users_name_key"), "{err}");
        assert!(!User::filter(q!(id = 7i64)).exists().await?);
        assert_eq!(User::all().count().await?, 1);

        // Inside a transaction that rolls back, nothing stays.
        let tx = db.begin().await?;
        orm_core::scope(&tx, async {
            User::bulk_insert(vec![User::named("in tx")]).await
        })
        .await?;
        assert_eq!(User::all().using(&tx).count().await?, 2);
        tx.rollback().await?;
        assert_eq!(User::all().count().await?, 1);

        // The connection is clean after a failed copy.
        assert_eq!(User::bulk_insert(vec![User::named("after")]).await?, 1);
        assert_eq!(User::all().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn integrity_errors_name_the_constraint() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        User::create(User::named("Bob")).await?;
        let err = User::create(User::named("Bob")).await.unwrap_err();
        match &err {
            Error::Integrity(e) => {
                assert_eq!(e.kind(), IntegrityKind::Unique);
                assert_eq!(e.constraint(), Some("users_name_key"));
                assert_eq!(e.table(), Some("users"));
            }
            other => panic!("expected an integrity error, got {other:?}"),
        }
        assert!(err.to_string().contains("users_name_key"), "{err}");
        // The failed insert lost nothing.
        assert_eq!(User::all().count().await?, 1);
        // Too long for varchar(30): refused before sending, naming the field.
        let err = User::create(User::named(&"x".repeat(31)))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "User.name: at most 30 characters allowed (max_length), it has 31"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn get_reports_none_and_many() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let rows: Vec<(String, i32)> = (0..30).map(|i| (format!("n{i}"), 5)).collect();
        let refs: Vec<(&str, i32, Option<&str>)> =
            rows.iter().map(|(n, k)| (n.as_str(), *k, None)).collect();
        users(&refs).await;
        let err = User::get(q!(karma = 5)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "get() returned more than one User -- it returned more than 20!"
        );
        let err = User::get(q!(name__in = ["n1", "n2"])).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "get() returned more than one User -- it returned 2!"
        );
        let err = User::get(q!(karma = 6)).await.unwrap_err();
        assert_eq!(err.to_string(), "User matching query does not exist");
        assert_eq!(User::get_or_none(q!(karma = 6)).await?, None);
        assert_eq!(
            User::get_or_none(q!(name = "n3")).await?.map(|u| u.name),
            Some("n3".into())
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn get_or_create_creates_once() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (bob, created) = User::get_or_create(q!(name = "Bob"), User::named("Bob")).await?;
        assert!(created);
        let (again, created) = User::get_or_create(q!(name = "Bob"), User::named("Bob")).await?;
        assert!(!created);
        assert_eq!(again, bob);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn get_or_create_survives_a_race() -> Result<()> {
    let db = setup().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn(orm_core::scope(&db, async {
                User::get_or_create(q!(name = "Racer"), User::named("Racer")).await
            }))
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let (user, was_created) = task.await.expect("task")?;
        ids.push(user.id);
        created += usize::from(was_created);
    }
    assert_eq!(created, 1, "exactly one caller creates the row");
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller gets the same row");
    orm_core::scope(&db, async {
        assert_eq!(User::all().count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn update_or_create_creates_then_updates() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (u, created) =
            User::update_or_create(q!(name = "Ada"), q!(karma = 5, email = "ada@x")).await?;
        assert!(created);
        assert_eq!(
            (u.name.as_str(), u.karma, u.email.as_deref()),
            ("Ada", 5, Some("ada@x"))
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let (v, created) = User::update_or_create(q!(name = "Ada"), q!(karma = 6)).await?;
        assert!(!created);
        assert_eq!(v.id, u.id);
        assert_eq!(v.karma, 6);
        assert_eq!(
            v.email.as_deref(),
            Some("ada@x"),
            "fields not in defaults are kept"
        );
        assert!(v.updated_at > u.updated_at, "auto_now fields are refreshed");
        assert_eq!(User::get(q!(id = u.id)).await?, v);
        // Django 5.0's create_defaults: other values for a new row than for
        // an update (`defaults` may then hold an F() expression).
        let (w, created) = User::update_or_create_with(
            q!(name = "Bea"),
            q!(karma = F("karma") + 1),
            q!(karma = 100, email = "bea@x"),
        )
        .await?;
        assert!(created);
        assert_eq!((w.karma, w.email.as_deref()), (100, Some("bea@x")));
        let (w2, created) = User::update_or_create_with(
            q!(name = "Bea"),
            q!(karma = F("karma") + 1),
            q!(karma = 100, email = "other@x"),
        )
        .await?;
        assert!(!created);
        assert_eq!(w2.id, w.id);
        let stored = User::get(q!(id = w.id)).await?;
        assert_eq!(
            (stored.karma, stored.email.as_deref()),
            (101, Some("bea@x"))
        );
        // create_defaults must be values: an expression cannot fill a new row.
        assert!(matches!(
            User::update_or_create_with(q!(name = "Cy"), q!(karma = 1), q!(karma = F("karma")))
                .await,
            Err(Error::InvalidQuery(_))
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_create_skips_or_updates_conflicting_rows() -> Result<()> {
    // Django's bulk_create(ignore_conflicts=True) and
    // bulk_create(update_conflicts=True, unique_fields=[..], update_fields=[..])
    // on PostgreSQL: ON CONFLICT DO NOTHING / DO UPDATE.
    use orm_core::OnConflict;
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = |name: &str, karma: i32| User {
            karma,
            ..User::named(name)
        };
        let first = User::bulk_create(vec![made("ann", 1), made("bob", 2)]).await?;
        // Ignore: the conflicting "ann" is skipped, "cy" inserted; no keys
        // are read back, as in Django.
        let skipped =
            User::bulk_create_with(vec![made("ann", 50), made("cy", 3)], OnConflict::Ignore)
                .await?;
        assert!(skipped.iter().all(|u| u.id == 0));
        let karmas = |rows: Vec<(String, i32)>| rows;
        assert_eq!(
            karmas(
                User::all()
                    .order_by(["name"])
                    .values_list(("name", "karma"))
                    .await?
            ),
            [("ann".into(), 1), ("bob".into(), 2), ("cy".into(), 3)]
        );
        // Update: "bob" takes the new karma (not the new email), "dee" is
        // inserted; keys come back, the existing row's for "bob".
        let mut bob = made("bob", 20);
        bob.email = Some("new@x".into());
        let upserted = User::bulk_create_with(
            vec![bob, made("dee", 4)],
            OnConflict::update(&["name"], &["karma"]),
        )
        .await?;
        assert_eq!(upserted[0].id, first[1].id);
        assert!(upserted[1].id > 0);
        let stored = User::get(q!(name = "bob")).await?;
        assert_eq!((stored.karma, stored.email), (20, None));
        assert_eq!(User::all().count().await?, 4);
        // Without a policy a conflict fails and inserts nothing.
        let err = User::bulk_create(vec![made("eve", 5), made("ann", 6)])
            .await
            .unwrap_err();
        assert!(err.is_integrity(IntegrityKind::Unique), "{err:?}");
        assert_eq!(User::filter(q!(name = "eve")).count().await?, 0);
        // Refused before anything is sent.
        for bad in [
            OnConflict::update(&[], &["karma"]),
            OnConflict::update(&["name"], &[]),
            OnConflict::update(&["name"], &["id"]),
        ] {
            assert!(matches!(
                User::bulk_create_with(vec![made("fay", 1)], bad).await,
                Err(Error::InvalidQuery(_))
            ));
        }
        assert!(matches!(
            User::bulk_create_with(vec![], OnConflict::update(&["nosuch"], &["karma"])).await,
            Err(Error::InvalidLookup(_))
        ));
        Ok(())
    })
    .await
}
