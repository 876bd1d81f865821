//! Every type the ORM supports, through a real pgbouncer in
//! `pool_mode = transaction` with `StatementMode::Unnamed`: the types of
//! an unnamed statement's parameters and columns must be known without a
//! named statement surviving to the next transaction.
//!
//! `citext` (and `citext[]`) is the case that matters: an extension type,
//! its OID is not built in, so tokio-postgres looks it up on the server
//! (with a *named* statement it keeps per client) the first time a client
//! meets it. pgbouncer (`orm_core::testing::pgbouncer`, 5 server
//! connections, `server_round_robin`) hands each statement of the one
//! client connection used here to the next server connection in turn.

use std::collections::BTreeSet;
use std::net::IpAddr;

use orm_core::prelude::*;
use orm_core::{Decimal, Interval, Range, StatementMode};
use serde_json::json;
use uuid::Uuid;

use crate::models::pooled::Thing;
use crate::models::types::Role;
use crate::pgbouncer::pooled;

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// Thing number `i`.
fn thing(i: u8) -> Thing {
    Thing {
        id: 0,
        role: [Role::Guest, Role::Member, Role::Admin][usize::from(i) % 3],
        roles: vec![Role::Member, [Role::Guest, Role::Admin][usize::from(i) % 2]],
        email: format!("User{i}@Example.org"),
        nick: i.is_multiple_of(2).then(|| format!("Nick{i}")),
        aliases: vec![format!("Alias{i}"), "Shared".to_owned()],
        price: dec(&format!("{i}.50")),
        ip: Some(ip(&format!("10.0.0.{i}"))),
        uid: Uuid::from_u128(u128::from(i) + 1),
        data: json!({"n": i, "tags": ["t", format!("t{i}")]}),
        took: Interval::from_hours(i64::from(i) + 1),
        seats: Range::new(i32::from(i), i32::from(i) + 10),
        prices: Some(Range::new(dec("1.00"), dec(&format!("{}.00", i + 2)))),
        scores: vec![i64::from(i), 100],
    }
}

/// Ids of `q`'s rows, in id order.
async fn ids(q: impl IntoQ<Thing>) -> Result<Vec<i64>> {
    Ok(Thing::filter(q)
        .order_by(["id"])
        .await?
        .iter()
        .map(|t| t.id)
        .collect())
}

#[tokio::test]
async fn every_type_round_trips_through_pgbouncer_in_unnamed_mode() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    // Open all of pgbouncer's server connections for this database (5
    // statements at once), so the round robin has somewhere to go.
    let wide = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(8)
        .connect()
        .await?;
    orm_core::scope(&wide, async {
        let sleep = || orm_core::raw::<(i32,)>("SELECT 1 FROM pg_sleep(0.1)", &[]);
        let (a, b, c, d, e, f) = tokio::join!(sleep(), sleep(), sleep(), sleep(), sleep(), sleep());
        for r in [a, b, c, d, e, f] {
            r?;
        }
        Ok::<_, Error>(())
    })
    .await?;
    // One client connection: every statement below runs on it, whatever
    // server connection pgbouncer lends it.
    let db = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(1)
        .connect()
        .await?;
    orm_core::scope(&db, async {
        let mut pids = BTreeSet::new();
        for _ in 0..10 {
            pids.insert(orm_core::raw::<(i32,)>("SELECT pg_backend_pid()", &[]).await?[0].0);
        }
        assert!(
            pids.len() > 1,
            "consecutive statements on one server connection: {pids:?}"
        );

        let mut made = Vec::new();
        for i in 1..=4 {
            made.push(Thing::create(thing(i)).await?);
        }
        let (a, b) = (&made[0], &made[1]);
        // Read back whole, by each field's exact lookup. citext compares
        // case-insensitively (PostgreSQL's citext module).
        assert_eq!(&Thing::get(q!(id = a.id)).await?, a);
        assert_eq!(&Thing::get(q!(email = "USER1@example.ORG")).await?, a);
        assert_eq!(&Thing::get(q!(nick = "nick2")).await?, b);
        assert_eq!(&Thing::get(q!(uid = b.uid)).await?, b);
        assert_eq!(&Thing::get(q!(price = dec("2.5"))).await?, b);
        assert_eq!(&Thing::get(q!(ip = Some(ip("10.0.0.1")))).await?, a);
        assert_eq!(
            &Thing::get(q!(data = json!({"n": 2, "tags": ["t", "t2"]}))).await?,
            b
        );
        assert_eq!(&Thing::get(q!(took = Interval::from_hours(2))).await?, a);
        assert_eq!(&Thing::get(q!(seats = Range::new(2, 12))).await?, b);
        assert_eq!(ids(q!(role = Role::Admin)).await?, [made[1].id]);
        // `__in` lists (one array parameter of the field's type).
        assert_eq!(
            ids(q!(
                email__in = ["user3@example.org", "USER4@EXAMPLE.ORG", "x"]
            ))
            .await?,
            [made[2].id, made[3].id]
        );
        assert_eq!(
            ids(q!(role__in = [Role::Guest, Role::Member])).await?,
            [made[0].id, made[2].id, made[3].id]
        );
        assert_eq!(ids(q!(uid__in = [a.uid, Uuid::nil()])).await?, [a.id]);
        assert_eq!(
            ids(q!(price__in = [dec("1.50"), dec("4.5")])).await?,
            [a.id, made[3].id]
        );
        // Arrays: containment (PostgreSQL's `@>`).
        assert_eq!(
            ids(q!(roles__contains = [Role::Admin])).await?,
            [a.id, made[2].id]
        );
        assert_eq!(ids(q!(aliases__contains = ["Alias3"])).await?, [made[2].id]);
        assert_eq!(ids(q!(aliases__contains = ["Shared"])).await?.len(), 4);
        assert_eq!(ids(q!(scores__contains = [2])).await?, [b.id]);
        // Ranges: contains an element (`[1,11)` excludes 11: PostgreSQL's
        // canonical integer ranges are half-open); JSON containment.
        assert_eq!(
            ids(q!(seats__contains = 11)).await?,
            [b.id, made[2].id, made[3].id]
        );
        assert_eq!(
            ids(q!(prices__contains = dec("3.5"))).await?,
            [b.id, made[2].id, made[3].id]
        );
        assert_eq!(
            ids(q!(data__contains = json!({"n": 3}))).await?,
            [made[2].id]
        );
        assert_eq!(
            ids(q!(took__gt = Interval::from_hours(3))).await?,
            [made[2].id, made[3].id]
        );
        // Values of each kind, not whole rows.
        let emails: Vec<String> = Thing::all()
            .order_by(["id"])
            .values_list_flat("email")
            .await?;
        assert_eq!(emails[0], "User1@Example.org");
        // Updates, by the query and by the instance.
        let n = Thing::filter(q!(email = "user1@example.org"))
            .update(q!(
                role = Role::Admin,
                roles = vec![Role::Guest],
                nick = Some("Renamed".to_owned()),
                aliases = vec!["One".to_owned()],
                took = Interval::from_days(1),
                seats = Range::new(0, 1),
                price = dec("9.99")
            ))
            .await?;
        assert_eq!(n, 1);
        let mut again = Thing::get(q!(id = a.id)).await?;
        assert_eq!(
            (again.role, &again.roles[..]),
            (Role::Admin, &[Role::Guest][..])
        );
        assert_eq!(
            (again.nick.as_deref(), &again.aliases[..]),
            (Some("Renamed"), &["One".to_owned()][..])
        );
        assert_eq!(
            (again.took, &again.seats, again.price),
            (Interval::from_days(1), &Range::new(0, 1), dec("9.99"))
        );
        again.email = "Changed@Example.org".to_owned();
        again.data = json!({"changed": true});
        again.save().await?;
        assert_eq!(Thing::get(q!(email = "changed@example.org")).await?, again);
        // The same inside a transaction block (one server connection for
        // the block; described there).
        let id = orm_core::transaction(|| async {
            let t = Thing::create(thing(9)).await?;
            assert_eq!(Thing::get(q!(aliases__contains = ["Alias9"])).await?, t);
            Thing::filter(q!(id = t.id))
                .update(q!(roles = vec![Role::Admin, Role::Admin]))
                .await?;
            Ok(t.id)
        })
        .await?;
        assert_eq!(
            Thing::get(q!(id = id)).await?.roles,
            [Role::Admin, Role::Admin]
        );
        assert_eq!(Thing::all().count().await?, 5);
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn extension_types_through_pgbouncer_from_many_clients_at_once() -> Result<()> {
    let Some(urls) = pooled().await else {
        return Ok(());
    };
    let db = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(12)
        .connect()
        .await?;
    orm_core::scope(&db, async {
        for i in 1..=4 {
            Thing::create(thing(i)).await?;
        }
        Ok::<_, Error>(())
    })
    .await?;
    // 24 tasks on 12 client connections, each reading citext (and
    // binding citext[] for `__in`) and the other types (each client meets them on several server
    // connections).
    let mut tasks = Vec::new();
    for t in 0..24u8 {
        let db = db.clone();
        tasks.push(tokio::spawn(orm_core::scope(&db.clone(), async move {
            for j in 0..20u8 {
                let i = (t + j) % 4 + 1;
                let one = Thing::get(q!(email = format!("user{i}@EXAMPLE.org"))).await?;
                assert_eq!(one.aliases[0], format!("Alias{i}"));
                let n = Thing::filter(q!(email__in = ["USER1@example.org", "user2@EXAMPLE.org"]))
                    .count()
                    .await?;
                assert_eq!(n, 2);
                let n = Thing::filter(q!(aliases__contains = ["Shared"]))
                    .count()
                    .await?;
                assert_eq!(n, 4);
                let nicks: Vec<Option<String>> = Thing::filter(q!(nick__isnull = false))
                    .order_by(["id"])
                    .values_list_flat("nick")
                    .await?;
                assert_eq!(nicks, [Some("Nick2".to_owned()), Some("Nick4".to_owned())]);
            }
            Ok::<_, Error>(())
        })));
    }
    for task in tasks {
        task.await.expect("a task panicked")?;
    }
    Ok(())
}

#[tokio::test]
async fn a_type_made_after_the_connection_opened_fails_once_then_works() -> Result<()> {
    let Some(urls) = orm_core::testing::pgbouncer::pooled_test_database()
        .await
        .expect("pgbouncer")
    else {
        return Ok(());
    };
    let direct = Db::connect(&urls.direct).await?;
    let script = |sql: &'static str| {
        let direct = direct.clone();
        async move {
            orm_core::scope(&direct, async {
                orm_core::current()?.batch_execute(sql).await
            })
            .await
        }
    };
    // A user type before the connection opens: the connection learns it
    // (and so keeps tokio-postgres's type lookup statement, dropped on the
    // server when it was done).
    script("CREATE TYPE mood AS ENUM ('ok')").await?;
    let db = Db::builder(&urls.pooled)
        .statement_mode(StatementMode::Unnamed)
        .max_size(1)
        .connect()
        .await?;
    let one = orm_core::scope(&db, orm_core::raw::<(i32,)>("SELECT 1", &[])).await?;
    assert_eq!(one[0].0, 1);
    // An extension type made now is unknown to that connection: its lookup
    // finds no statement on the server (26000), and the connection is
    // retired; the next one learns the type.
    script("CREATE EXTENSION IF NOT EXISTS citext").await?;
    let read = || orm_core::scope(&db, orm_core::raw::<(String,)>("SELECT 'Ab'::citext", &[]));
    let first = read().await;
    assert!(
        matches!(&first, Err(e) if e.to_string().contains("does not exist")),
        "{first:?}"
    );
    assert_eq!(read().await?[0].0, "Ab");
    assert_eq!(read().await?[0].0, "Ab");
    Ok(())
}
