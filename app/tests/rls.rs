//! Row-level security with the library crate's `Memo`
//! (`#[orm(tenant, rls)]`), called from this crate as a plain role (not
//! the table's owner, not a superuser: PostgreSQL holds those to no
//! policy), every statement outside a transaction block: each runs in a
//! block of its own that sets the tenant setting first
//! (`orm-core/src/db/rls.rs`).

use orm_core::prelude::*;
use orm_core::tenant;
use orm_test_app::Memo;

/// The app's tables made by the owner, and a pool connecting as a plain
/// role (made now) with the rights an application has on `app_memos`.
async fn as_plain_role() -> Result<(Db, Db)> {
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::connect(&url).await?;
    orm_core::generate_schemas_on(&admin).await?;
    // A fixed script (made once per server; the grants per database).
    admin
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE orm_app_memo LOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
             GRANT USAGE ON SCHEMA public TO orm_app_memo; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON app_memos TO orm_app_memo; \
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO orm_app_memo",
        )
        .await?;
    // postgres://postgres@/db?.. -> postgres://<role>@/db?..
    let app_url = url.replacen("postgres://postgres@", "postgres://orm_app_memo@", 1);
    assert_ne!(app_url, url, "the test server's URL names user postgres");
    let app = Db::connect(&app_url).await?;
    Ok((admin, app))
}

fn memo(body: &str) -> Memo {
    Memo {
        body: body.into(),
        ..Default::default()
    }
}

fn bodies(memos: &[Memo]) -> Vec<&str> {
    memos.iter().map(|m| m.body.as_str()).collect()
}

#[tokio::test]
async fn the_apps_tenant_model_under_row_level_security_outside_blocks() -> Result<()> {
    let (admin, app) = as_plain_role().await?;
    // The policy really holds this role (it would not hold the owner): as
    // the owner, a row of tenant 2 is made with raw SQL, unseen below.
    let made: Vec<(i64,)> = orm_core::scope(
        &admin,
        orm_core::raw(
            "INSERT INTO app_memos (account_id, body) VALUES (2, 'two-raw') RETURNING id",
            &[],
        ),
    )
    .await?;
    let two_raw = made[0].0;
    orm_core::scope(&app, async {
        let one = tenant::scope(1_i64, async {
            // create: stamped with the tenant.
            let a = Memo::create(memo("a")).await?;
            let b = Memo::create(memo("b")).await?;
            assert_eq!((a.account_id, b.account_id), (1, 1));
            // count, get, filter, stream, raw: tenant 1's rows only (the
            // two just made; `two-raw` is tenant 2's).
            assert_eq!(Memo::all().count().await?, 2);
            assert_eq!(Memo::get(q!(body = "b")).await?.id, b.id);
            let filtered = Memo::filter(q!(body__in = ["a", "two-raw"])).await?;
            assert_eq!(bodies(&filtered), ["a"]);
            let streamed: Vec<Memo> = Memo::all()
                .order_by(["body"])
                .stream()
                .try_collect()
                .await?;
            assert_eq!(bodies(&streamed), ["a", "b"]);
            // Raw SQL and the ORM's escape from the tenant filter: the
            // policy alone holds them to tenant 1.
            let raw: Vec<(String,)> =
                orm_core::raw("SELECT body FROM app_memos ORDER BY body", &[]).await?;
            assert_eq!(raw, [("a".to_owned(),), ("b".to_owned(),)]);
            let mapped: Vec<Memo> = Memo::raw("SELECT * FROM app_memos ORDER BY body", &[]).await?;
            assert_eq!(bodies(&mapped), ["a", "b"]);
            assert_eq!(Memo::objects_all_tenants().count().await?, 2);
            assert!(Memo::objects_all_tenants()
                .get_or_none(q!(id = two_raw))
                .await?
                .is_none());
            // update and delete: tenant 1's rows only, even unfiltered.
            assert_eq!(
                Memo::objects_all_tenants().update(q!(body = "one")).await?,
                2
            );
            let raw_update: Vec<(i64,)> = orm_core::raw(
                "UPDATE app_memos SET body = body || '!' RETURNING account_id",
                &[],
            )
            .await?;
            assert_eq!(raw_update, [(1,), (1,)]);
            assert_eq!(Memo::filter(q!(id = a.id)).delete().await?, 1);
            // Writing another tenant's row with raw SQL: refused by the
            // policy's WITH CHECK (SQLSTATE 42501).
            let err = orm_core::raw::<(i64,)>(
                "INSERT INTO app_memos (account_id, body) VALUES (2, 'x') RETURNING id",
                &[],
            )
            .await
            .unwrap_err();
            assert_eq!(err.sqlstate(), Some("42501"), "{err}");
            let left: Vec<String> = Memo::all().values_list_flat("body").await?;
            Ok::<_, Error>(left)
        })
        .await?;
        assert_eq!(one, ["one!"]);
        // Tenant 2: its raw row only; tenant 1's are invisible, and its
        // writes cannot touch them.
        tenant::scope(2_i64, async {
            assert_eq!(Memo::all().count().await?, 1);
            let all: Vec<(i64, String)> =
                orm_core::raw("SELECT account_id, body FROM app_memos", &[]).await?;
            assert_eq!(all, [(2, "two-raw".to_owned())]);
            assert_eq!(Memo::objects_all_tenants().delete().await?, 1);
            let c = Memo::create(memo("c")).await?;
            assert_eq!(c.account_id, 2);
            Ok::<_, Error>(())
        })
        .await?;
        // No tenant: the ORM refuses; raw SQL sees nothing (the setting of
        // each block ended with it).
        assert!(Memo::all().count().await.is_err());
        let n: Vec<(i64,)> =
            tenant::unscoped(orm_core::raw("SELECT count(*) FROM app_memos", &[])).await?;
        assert_eq!(n, [(0,)]);
        Ok::<_, Error>(())
    })
    .await?;
    // The owner sees every row: tenant 1's "one!" (b), tenant 2's "c".
    let all: Vec<(i64, String)> = orm_core::scope(
        &admin,
        orm_core::raw(
            "SELECT account_id, body FROM app_memos ORDER BY account_id",
            &[],
        ),
    )
    .await?;
    assert_eq!(all, [(1, "one!".to_owned()), (2, "c".to_owned())]);
    Ok(())
}

#[tokio::test]
async fn tenants_of_the_apps_model_never_see_each_other_under_load() -> Result<()> {
    let (admin, app) = as_plain_role().await?;
    // 12 tasks, tenants 1..=3 in turn, 40 statements each outside blocks:
    // each creates memos of its tenant and reads them back; every row a
    // task sees must be its tenant's.
    let mut tasks = Vec::new();
    for i in 0..12_i64 {
        let tenant_id = 1 + i % 3;
        tasks.push(tokio::spawn(orm_core::scope(
            &app.clone(),
            tenant::scope(tenant_id, async move {
                let (mut errors, mut crossed) = (Vec::new(), 0_usize);
                for j in 0..10 {
                    let step = async {
                        let m = Memo::create(memo(&format!("{i}-{j}"))).await?;
                        let seen: Vec<Memo> = Memo::all().await?;
                        let raw: Vec<(i64,)> =
                            orm_core::raw("SELECT account_id FROM app_memos", &[]).await?;
                        let streamed: Vec<Memo> = Memo::all().stream().try_collect().await?;
                        Ok::<_, Error>((m, seen, raw, streamed))
                    };
                    match step.await {
                        Ok((m, seen, raw, streamed)) => {
                            let theirs = m.account_id != tenant_id
                                || seen.iter().any(|m| m.account_id != tenant_id)
                                || raw.iter().any(|r| r.0 != tenant_id)
                                || streamed.iter().any(|m| m.account_id != tenant_id)
                                || !seen.iter().any(|s| s.id == m.id);
                            crossed += usize::from(theirs);
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                (errors, crossed)
            }),
        )));
    }
    let (mut errors, mut crossed) = (Vec::new(), 0);
    for task in tasks {
        let (e, c) = task.await.expect("task");
        errors.extend(e);
        crossed += c;
    }
    assert!(errors.is_empty(), "{} errors: {errors:?}", errors.len());
    assert_eq!(
        crossed, 0,
        "rounds that saw another tenant's row or missed their own"
    );
    // 4 tasks a tenant x 10 memos each, seen by the owner.
    let per: Vec<(i64, i64)> = orm_core::scope(
        &admin,
        orm_core::raw(
            "SELECT account_id, count(*) FROM app_memos GROUP BY 1 ORDER BY 1",
            &[],
        ),
    )
    .await?;
    assert_eq!(per, [(1, 40), (2, 40), (3, 40)]);
    Ok(())
}
