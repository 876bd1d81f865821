//! Tenant scoping (`#[orm(tenant)]`, `orm_core::tenant`) on a real server:
//! two tenants' rows, every path filtered or stamped by the current
//! tenant, the errors without one, the explicit escapes, and row-level
//! security holding raw SQL of a non-superuser role to its tenant.

use orm_core::prelude::*;
use orm_core::tenant;

use crate::common::setup;
use crate::models::tenants::{TnOrg, TnProject, TnTask};

/// Orgs 1 and 2, each with a project and tasks: tenant 1 has "a1", "a2"
/// (3 and 5 points), tenant 2 has "b1" (7 points).
pub(crate) async fn two_tenants() -> Result<()> {
    // The orgs are not tenant rows: created without a tenant.
    for (id, name) in [(1, "one"), (2, "two")] {
        TnOrg::create(TnOrg {
            id,
            name: name.into(),
            ..Default::default()
        })
        .await?;
    }
    for (tenant_id, project, tasks) in [
        (1_i64, "alpha", &[("a1", 3), ("a2", 5)][..]),
        (2_i64, "beta", &[("b1", 7)][..]),
    ] {
        tenant::scope(tenant_id, async {
            // The tenant field is stamped: not given here.
            let p = TnProject::create(TnProject {
                name: project.into(),
                ..Default::default()
            })
            .await?;
            assert_eq!(*p.org.key(), tenant_id);
            let objs = tasks
                .iter()
                .map(|(title, points)| TnTask {
                    project: ForeignKey::from_key(p.id),
                    title: (*title).into(),
                    points: *points,
                    ..Default::default()
                })
                .collect();
            let made = TnTask::bulk_create(objs).await?;
            assert!(made.iter().all(|t| t.tenant_id == tenant_id));
            Ok::<_, Error>(())
        })
        .await?;
    }
    Ok(())
}

pub(crate) fn titles(tasks: &[TnTask]) -> Vec<&str> {
    let mut v: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
    v.sort_unstable();
    v
}

#[tokio::test]
async fn every_read_is_filtered_by_the_current_tenant() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        two_tenants().await?;
        let b1_id = TnTask::objects_all_tenants()
            .get(q!(title = "b1"))
            .await?
            .id;
        tenant::scope(1_i64, async {
            assert_eq!(titles(&TnTask::all().await?), ["a1", "a2"]);
            assert_eq!(TnTask::all().count().await?, 2);
            assert!(!TnTask::filter(q!(title = "b1")).exists().await?);
            // get by key of another tenant's row: not found.
            assert!(matches!(
                TnTask::get(q!(id = b1_id)).await,
                Err(Error::DoesNotExist { .. })
            ));
            let sums = TnTask::all().aggregate([Sum("points")]).await?;
            assert_eq!(sums.get::<Option<i64>>("points__sum")?, Some(8));
            let flat: Vec<String> = TnTask::all()
                .order_by(["title"])
                .values_list_flat("title")
                .await?;
            assert_eq!(flat, ["a1", "a2"]);
            let streamed: Vec<TnTask> = TnTask::all().iterator(1).try_collect().await?;
            assert_eq!(titles(&streamed), ["a1", "a2"]);
            // A subquery of a tenant model, and a lookup across a relation.
            let projects =
                TnProject::filter(q!(id__in = TnTask::objects_all_tenants().values("project")))
                    .await?;
            assert_eq!(
                projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
                ["alpha"]
            );
            assert_eq!(TnTask::filter(q!(project__name = "beta")).count().await?, 0);
            let joined = TnTask::all().select_related(["project"]).await?;
            assert_eq!(joined.len(), 2);
            assert!(joined
                .iter()
                .all(|t| t.project.get().is_some_and(|p| p.name == "alpha")));
            // The tenant (not a tenant model) prefetches its projects of this
            // tenant only; a reverse manager is a filtered query.
            let orgs = TnOrg::all()
                .order_by(["id"])
                .prefetch_related(["projects"])
                .await?;
            let counts: Vec<usize> = orgs
                .iter()
                .map(|o| o.projects.get().expect("prefetched").len())
                .collect();
            assert_eq!(counts, [1, 0]);
            assert_eq!(orgs[1].projects().count().await?, 0);
            let alpha = TnProject::all().prefetch_related(["tasks"]).await?;
            assert_eq!(alpha.len(), 1);
            assert_eq!(alpha[0].tasks.get().expect("prefetched").len(), 2);
            Ok::<_, Error>(())
        })
        .await?;
        tenant::scope(2_i64, async {
            assert_eq!(titles(&TnTask::all().await?), ["b1"]);
            Ok::<_, Error>(())
        })
        .await
    })
    .await
}

#[tokio::test]
async fn every_write_is_stamped_or_held_to_the_current_tenant() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        two_tenants().await?;
        let b1 = TnTask::objects_all_tenants().get(q!(title = "b1")).await?;
        tenant::scope(1_i64, async {
            // update() and delete() of a query set: this tenant's rows only.
            assert_eq!(TnTask::all().update(q!(points = 1)).await?, 2);
            assert_eq!(TnTask::filter(q!(title = "b1")).delete().await?, 0);
            // save() of its own row updates it.
            let mut a1 = TnTask::get(q!(title = "a1")).await?;
            a1.title = "a1!".into();
            a1.save().await?;
            assert_eq!(TnTask::get(q!(id = a1.id)).await?.title, "a1!");
            // An object of another tenant is refused, not moved here.
            let mut moved = b1.clone();
            moved.title = "stolen".into();
            let err = moved.save().await.unwrap_err().to_string();
            assert!(
                err.contains("belongs to tenant 2 but the current tenant is 1"),
                "{err}"
            );
            assert!(b1.clone().delete().await.is_err());
            let err = TnTask::create(TnTask {
                tenant_id: 2,
                project: ForeignKey::from_key(b1.project.key().to_owned()),
                title: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err()
            .to_string();
            assert!(err.contains("belongs to tenant 2"), "{err}");
            assert!(TnTask::bulk_update(&[moved.clone()], &["title"])
                .await
                .is_err());
            // Raw SQL mapped to the model: rows of another tenant refused.
            let err = TnTask::raw("SELECT * FROM tn_tasks", &[])
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("belongs to tenant 2"), "{err}");
            let own = TnTask::raw("SELECT * FROM tn_tasks WHERE tenant_id = 1", &[]).await?;
            assert_eq!(own.len(), 2);
            Ok::<_, Error>(())
        })
        .await?;
        // Tenant 2's row is untouched; across tenants, every row.
        let b1_now = TnTask::objects_all_tenants().get(q!(id = b1.id)).await?;
        assert_eq!((b1_now.title.as_str(), b1_now.points), ("b1", 7));
        assert_eq!(TnTask::objects_all_tenants().count().await?, 3);
        // delete() of its own object, by key and tenant.
        tenant::scope(2_i64, async {
            assert_eq!(b1_now.delete().await?, 1);
            assert_eq!(TnTask::all().count().await?, 0);
            Ok::<_, Error>(())
        })
        .await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn without_a_tenant_every_statement_is_an_error() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        two_tenants().await?;
        let says = |r: Result<()>| {
            let err = r.unwrap_err().to_string();
            assert!(err.contains("no tenant is current"), "{err}");
        };
        says(TnTask::all().await.map(drop));
        says(TnTask::all().count().await.map(drop));
        says(TnTask::get(q!(id = 1)).await.map(drop));
        says(TnTask::all().update(q!(points = 0)).await.map(drop));
        says(TnTask::all().delete().await.map(drop));
        says(TnTask::create(TnTask::default()).await.map(drop));
        says(TnTask::raw("SELECT * FROM tn_tasks", &[]).await.map(drop));
        // Nothing was changed.
        assert_eq!(
            TnTask::objects_all_tenants()
                .aggregate([Sum("points")])
                .await?
                .get::<Option<i64>>("points__sum")?,
            Some(15)
        );
        // unscoped(): the block reaches every tenant, writes keep the tenant given.
        tenant::unscoped(async {
            assert_eq!(TnTask::all().count().await?, 3);
            assert_eq!(TnProject::all().count().await?, 2);
            Ok::<_, Error>(())
        })
        .await
    })
    .await
}

#[tokio::test]
async fn a_query_reads_the_tenant_of_the_scope_it_runs_in() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        two_tenants().await?;
        // Made outside any scope (`qs.count()` is evaluated before
        // `scope` wraps its future), run inside tenant 2's: tenant 2's
        // rows. Before, the statement was rendered when made: an error
        // here, and another tenant's rows inside another scope.
        assert_eq!(tenant::scope(2_i64, TnTask::all().count()).await?, 1);
        tenant::scope(1_i64, async {
            // Made in tenant 1's scope, run in tenant 2's.
            let rows = tenant::scope(2_i64, TnTask::all().fetch()).await?;
            assert_eq!(titles(&rows), ["b1"]);
            assert!(!tenant::scope(2_i64, TnTask::filter(q!(title = "a1")).exists()).await?);
            let stream = TnTask::all().stream();
            let streamed: Vec<TnTask> = tenant::scope(2_i64, stream.try_collect()).await?;
            assert_eq!(titles(&streamed), ["b1"]);
            let updated = tenant::scope(2_i64, TnTask::all().update(q!(points = 9))).await?;
            assert_eq!(updated, 1, "tenant 2's one task");
            let deleted = tenant::scope(2_i64, TnTask::filter(q!(title = "a1")).delete()).await?;
            assert_eq!(deleted, 0, "a1 is tenant 1's");
            // Tenant 1's rows are as they were.
            assert_eq!(TnTask::filter(q!(points = 9)).count().await?, 0);
            assert_eq!(TnTask::all().count().await?, 2);
            Ok::<_, Error>(())
        })
        .await?;
        let b1 = tenant::scope(2_i64, TnTask::get(q!(title = "b1"))).await?;
        assert_eq!(b1.points, 9);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn joined_scopes_each_see_their_own_tenant() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        two_tenants().await?;
        let one = tenant::scope(1_i64, async {
            let mut seen = Vec::new();
            for _ in 0..20 {
                seen.extend(TnTask::all().await?.into_iter().map(|t| t.tenant_id));
                tokio::task::yield_now().await;
            }
            Ok::<_, Error>(seen)
        });
        let two = tenant::scope(2_i64, async {
            let mut seen = Vec::new();
            for _ in 0..20 {
                seen.extend(TnTask::all().await?.into_iter().map(|t| t.tenant_id));
                tokio::task::yield_now().await;
            }
            Ok::<_, Error>(seen)
        });
        let (one, two) = tokio::join!(one, two);
        let (one, two) = (one?, two?);
        assert_eq!(one.len(), 40);
        assert!(one.iter().all(|&t| t == 1));
        assert_eq!(two.len(), 20);
        assert!(two.iter().all(|&t| t == 2));
        Ok(())
    })
    .await
}

/// Connects to `url` as `role`, a plain role made now (if missing) with
/// the rights an application has on the tables made so far. Superusers and
/// roles with BYPASSRLS skip every policy: the tests of row-level security
/// connect as a role that does not own the tables (FORCE would hold the
/// owner too).
pub(crate) async fn plain_role(admin: &Db, url: &str, role: &str) -> Result<Db> {
    use crate::migration_support::query;
    for sql in [
        format!(
            "DO $$ BEGIN CREATE ROLE \"{role}\" LOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ),
        format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""
        ),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
    ] {
        query::<(i32,)>(admin, &sql).await?;
    }
    Db::builder(as_role(url, role)).connect().await
}

/// `url` connecting as `role` (no password: the test server trusts local
/// connections).
pub(crate) fn as_role(url: &str, role: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let at = url[start..].find('@').map_or(start, |i| start + i);
    format!("{}{role}{}", &url[..start], &url[at..])
}

#[tokio::test]
async fn row_level_security_holds_raw_sql_to_the_tenant() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::builder(&url).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    orm_core::scope(&admin, two_tenants()).await?;
    let beta: i64 = orm_core::scope(&admin, async {
        TnProject::objects_all_tenants()
            .get(q!(name = "beta"))
            .await
    })
    .await?
    .id;
    let role = format!("orm_tenant_app_{}", std::process::id());
    let app = plain_role(&admin, &url, &role).await?;
    let count = "SELECT count(*) FROM tn_tasks";
    orm_core::scope(&app, async {
        tenant::scope(1_i64, async {
            // Outside a transaction block too: the statement runs in a
            // block of its own that sets `orm.tenant` first.
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(2,)]);
            // In a transaction block the ORM sets `orm.tenant` first:
            // raw SQL sees this tenant's rows only.
            orm_core::transaction(|| async {
                let rows: Vec<(String,)> =
                    orm_core::raw("SELECT title FROM tn_tasks ORDER BY title", &[]).await?;
                assert_eq!(rows, [("a1".to_owned(),), ("a2".to_owned(),)]);
                // Even the ORM's escape cannot cross: PostgreSQL holds it.
                assert_eq!(TnTask::objects_all_tenants().count().await?, 2);
                // Writing another tenant's row is refused by the policy's
                // WITH CHECK (in a savepoint, so the block goes on).
                let insert = orm_core::transaction(|| async {
                    orm_core::raw::<(i32,)>(
                        "INSERT INTO tn_tasks (tenant_id, project_id, title, points) \
                         VALUES (2, $1, 'x', 0)",
                        &[&beta],
                    )
                    .await
                })
                .await;
                let err = insert.unwrap_err().to_string();
                assert!(err.contains("row-level security"), "{err}");
                // The ORM's own writes pass it.
                let p = TnProject::get(q!(name = "alpha")).await?;
                TnTask::create(TnTask {
                    project: ForeignKey::from_key(p.id),
                    title: "a3".into(),
                    ..Default::default()
                })
                .await?;
                Ok(())
            })
            .await
        })
        .await?;
        tenant::scope(2_i64, async {
            orm_core::transaction(|| async {
                let rows: Vec<(String,)> = orm_core::raw("SELECT title FROM tn_tasks", &[]).await?;
                assert_eq!(rows, [("b1".to_owned(),)]);
                Ok(())
            })
            .await
        })
        .await?;
        // unscoped() sets nothing: through RLS, no row (a BYPASSRLS role is
        // what an admin task that reaches every tenant connects as).
        tenant::unscoped(orm_core::transaction(|| async {
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(0,)]);
            Ok(())
        }))
        .await
    })
    .await?;
    // The superuser sees every row, tenant 1's new one included.
    let all: Vec<(i64,)> = orm_core::scope(&admin, orm_core::raw(count, &[])).await?;
    assert_eq!(all, [(4,)]);
    Ok(())
}

/// The tables of `two_tenants`, made on a fresh test database, and a
/// connection to it as a plain role (`role`) that row-level security holds.
async fn rls_app(role: &str) -> Result<(Db, Db)> {
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::builder(&url).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    orm_core::scope(&admin, two_tenants()).await?;
    let app = plain_role(&admin, &url, role).await?;
    Ok((admin, app))
}

#[tokio::test]
async fn row_level_security_outside_transaction_blocks() -> Result<()> {
    let (admin, app) = rls_app(&format!("orm_tenant_out_{}", std::process::id())).await?;
    let count = "SELECT count(*) FROM tn_tasks";
    orm_core::scope(&app, async {
        tenant::scope(1_i64, async {
            // Every statement below runs outside a transaction block, each
            // in a block of its own that sets `orm.tenant`: raw SQL and the
            // ORM's escape see this tenant's rows (PostgreSQL's policy).
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(2,)]);
            assert_eq!(TnTask::objects_all_tenants().count().await?, 2);
            assert_eq!(TnTask::all().count().await?, 2);
            assert_eq!(titles(&TnTask::all().await?), ["a1", "a2"]);
            assert_eq!(TnTask::get(q!(title = "a2")).await?.points, 5);
            assert_eq!(TnTask::filter(q!(points__gte = 3)).count().await?, 2);
            // A raw read mapped to the model.
            let raw: Vec<TnTask> = TnTask::raw("SELECT * FROM tn_tasks ORDER BY title", &[]).await?;
            assert_eq!(titles(&raw), ["a1", "a2"]);
            // Streams and prefetches (not pipelined here) too.
            let streamed: Vec<TnTask> = TnTask::all()
                .order_by(["title"])
                .stream()
                .try_collect()
                .await?;
            assert_eq!(titles(&streamed), ["a1", "a2"]);
            let projects = TnProject::all().prefetch_related(["tasks"]).await?;
            assert_eq!(projects.len(), 1);
            assert_eq!(projects[0].tasks.get().expect("prefetched").len(), 2);
            // Writes: created, updated, deleted, this tenant's rows only.
            let alpha = TnProject::get(q!(name = "alpha")).await?;
            let made = TnTask::create(TnTask {
                project: ForeignKey::from_key(alpha.id),
                title: "a3".into(),
                points: 1,
                ..Default::default()
            })
            .await?;
            assert_eq!(made.tenant_id, 1);
            // bulk_create's COPY (in a block of its own).
            let task = |title: &str| TnTask {
                project: ForeignKey::from_key(alpha.id),
                title: title.into(),
                ..Default::default()
            };
            let made = TnTask::bulk_create(vec![task("a4"), task("a5")]).await?;
            assert!(made.iter().all(|t| t.tenant_id == 1));
            assert_eq!(TnTask::objects_all_tenants().update(q!(points = 9)).await?, 5);
            assert_eq!(
                TnTask::objects_all_tenants()
                    .filter(q!(title__in = ["a3", "a4", "a5"]))
                    .delete()
                    .await?,
                3
            );
            // Raw SQL cannot write another tenant's row (the policy's WITH
            // CHECK, PostgreSQL's "new row violates row-level security
            // policy", SQLSTATE 42501).
            let beta: Vec<(i64,)> = orm_core::scope(
                &admin,
                orm_core::raw("SELECT id FROM tn_projects WHERE name = 'beta'", &[]),
            )
            .await?;
            let err = orm_core::raw::<(i32,)>(
                "INSERT INTO tn_tasks (tenant_id, project_id, title, points) VALUES (2, $1, 'x', 0)",
                &[&beta[0].0],
            )
            .await
            .unwrap_err();
            assert_eq!(err.sqlstate(), Some("42501"), "{err}");
            // A constraint violation outside a block: the statement's own
            // error, with its constraint (not the COMMIT's or the block's).
            let err = TnProject::create(TnProject {
                name: "alpha".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
            assert_eq!(err.sqlstate(), Some("23505"), "{err}");
            assert!(err.constraint().is_some_and(|c| c.contains("name")), "{err}");
            // The connection went back clean: the next statement works.
            assert_eq!(TnTask::all().count().await?, 2);
            Ok::<_, Error>(())
        })
        .await?;
        tenant::scope(2_i64, async {
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(1,)]);
            assert_eq!(TnTask::get(q!(title = "b1")).await?.points, 7);
            Ok::<_, Error>(())
        })
        .await?;
        // No tenant current, through RLS: no row (the setting is local to
        // each block: nothing was left on the connections).
        let n: Vec<(i64,)> = tenant::unscoped(orm_core::raw(count, &[])).await?;
        assert_eq!(n, [(0,)]);
        Ok::<_, Error>(())
    })
    .await?;
    // The superuser sees every row: tenant 1's updated, "a3" deleted.
    let points: Vec<(String, i32)> = orm_core::scope(
        &admin,
        orm_core::raw("SELECT title, points FROM tn_tasks ORDER BY title", &[]),
    )
    .await?;
    assert_eq!(
        points,
        [
            ("a1".to_owned(), 9),
            ("a2".to_owned(), 9),
            ("b1".to_owned(), 7)
        ]
    );
    Ok(())
}

#[tokio::test]
async fn row_level_security_follows_a_scope_changed_inside_a_block() -> Result<()> {
    let (_admin, app) = rls_app(&format!("orm_tenant_in_{}", std::process::id())).await?;
    let count = || orm_core::raw::<(i64,)>("SELECT count(*) FROM tn_tasks", &[]);
    orm_core::scope(&app, async {
        // A block begun with no tenant, a scope inside it.
        orm_core::transaction(|| {
            tenant::scope(1_i64, async {
                assert_eq!(count().await?, [(2,)]);
                Ok(())
            })
        })
        .await?;
        // A block of tenant 1, tenant 2 inside it, then 1 again.
        tenant::scope(1_i64, async {
            orm_core::transaction(|| async {
                assert_eq!(count().await?, [(2,)]);
                // Tenant 2 from its first statement in a savepoint, which
                // then rolls back: PostgreSQL undoes the setting made inside
                // it (back to the block's 1), so it is set again before the
                // next statement of tenant 2.
                tenant::scope(2_i64, async {
                    let inner = orm_core::transaction(|| async {
                        assert_eq!(count().await?, [(1,)]);
                        Err::<(), _>(Error::Transaction("roll back".into()))
                    })
                    .await;
                    assert!(inner.is_err());
                    assert_eq!(count().await?, [(1,)]);
                    assert_eq!(TnTask::objects_all_tenants().count().await?, 1);
                    Ok::<_, Error>(())
                })
                .await?;
                assert_eq!(count().await?, [(2,)]);
                // unscoped() inside: the setting is cleared, as outside.
                tenant::unscoped(async {
                    assert_eq!(count().await?, [(0,)]);
                    Ok::<_, Error>(())
                })
                .await?;
                assert_eq!(count().await?, [(2,)]);
                Ok(())
            })
            .await
        })
        .await
    })
    .await
}

#[tokio::test]
async fn row_level_security_outside_blocks_through_pgbouncer() -> Result<()> {
    use orm_core::testing::pgbouncer::{pooled_test_database, APP_ROLE};
    let Some(urls) = pooled_test_database().await? else {
        return Ok(());
    };
    let admin = Db::connect(&urls.direct).await?;
    orm_core::generate_schemas_on(&admin).await?;
    orm_core::scope(&admin, two_tenants()).await?;
    // The plain role through pgbouncer (whose auth file lists it), in the
    // mode that works through a transaction pooler.
    drop(plain_role(&admin, &urls.direct, APP_ROLE).await?);
    let app = Db::builder(as_role(&urls.pooled, APP_ROLE))
        .statement_mode(orm_core::StatementMode::Unnamed)
        .max_size(16)
        .connect()
        .await?;
    // 20 tasks x 50 statements, tenants 1 and 2 in turn, none in a
    // transaction block: each sees and touches its tenant's rows only
    // (tenant 1 has 2 tasks, tenant 2 has 1).
    let mut tasks = Vec::new();
    for i in 0..20_usize {
        let tenant_id = 1 + (i % 2) as i64;
        let mine = 3 - tenant_id;
        tasks.push(tokio::spawn(orm_core::scope(
            &app.clone(),
            tenant::scope(tenant_id, async move {
                let (mut errors, mut crossed) = (Vec::new(), 0_usize);
                for j in 0..50_usize {
                    let step = async {
                        match j % 5 {
                            0 => Ok(vec![tenant_id; TnTask::all().count().await? as usize]),
                            1 => Ok(TnTask::all().await?.iter().map(|t| t.tenant_id).collect()),
                            2 => {
                                let rows: Vec<(i64,)> =
                                    orm_core::raw("SELECT tenant_id FROM tn_tasks", &[]).await?;
                                Ok(rows.into_iter().map(|r| r.0).collect())
                            }
                            3 => {
                                let n = TnTask::objects_all_tenants()
                                    .update(q!(points = j as i32))
                                    .await?;
                                Ok(vec![tenant_id; n as usize])
                            }
                            _ => {
                                let rows: Vec<(i64,)> = orm_core::raw(
                                    "UPDATE tn_tasks SET points = points RETURNING tenant_id",
                                    &[],
                                )
                                .await?;
                                Ok::<Vec<i64>, Error>(rows.into_iter().map(|r| r.0).collect())
                            }
                        }
                    };
                    match step.await {
                        Ok(seen) => {
                            if seen.len() != mine as usize || seen.iter().any(|&t| t != tenant_id) {
                                crossed += 1;
                            }
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
        "statements that saw another tenant's rows or missed their own"
    );
    Ok(())
}

#[tokio::test]
async fn row_level_security_outside_blocks_on_a_hot_standby() -> Result<()> {
    use orm_core::testing::ReplicaPair;
    let pair = tokio::task::spawn_blocking(ReplicaPair::start)
        .await
        .expect("joined")
        .expect("a primary and a hot standby");
    let primary = Db::connect(&pair.primary_url("postgres")).await?;
    orm_core::generate_schemas_on(&primary).await?;
    orm_core::scope(&primary, two_tenants()).await?;
    let role = "orm_tenant_standby";
    drop(plain_role(&primary, &pair.primary_url("postgres"), role).await?);
    pair.wait_replayed().await?;
    // The plain role, its reads routed to the standby.
    let app = Db::builder(as_role(&pair.primary_url("postgres"), role))
        .replica(as_role(&pair.standby_url("postgres"), role))
        .max_replica_lag(std::time::Duration::from_secs(120))
        .build()?;
    let reads = |db: &Db| db.replica_stats().expect("replicas").replicas[0].reads;
    orm_core::scope(&app, async {
        for (tenant_id, titles_of_tenant) in [(1_i64, &["a1", "a2"][..]), (2, &["b1"])] {
            tenant::scope(tenant_id, async {
                let before = reads(&app);
                // BEGIN; set_config; SELECT; COMMIT on the standby (a hot
                // standby runs read-only transactions and set_config).
                assert_eq!(titles(&TnTask::all().await?), titles_of_tenant);
                let rows: Vec<(String, bool)> = orm_core::raw_read(
                    "SELECT title, pg_is_in_recovery() FROM tn_tasks ORDER BY title",
                    &[],
                )
                .await?;
                assert_eq!(rows.len(), titles_of_tenant.len());
                assert!(rows.iter().all(|r| r.1), "read on the standby: {rows:?}");
                assert_eq!(reads(&app), before + 2, "both reads served by the standby");
                Ok::<_, Error>(())
            })
            .await?;
        }
        Ok(())
    })
    .await
}
