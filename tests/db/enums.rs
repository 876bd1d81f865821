//! DbEnum fields: filters by variant, a renamed variant as stored, a stored value of no variant.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::type_samples::{texts, three_rows};
use crate::models::types::{AllTypes, EnumHolder, Role};

/// The error and its sources, joined with `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

#[tokio::test]
async fn filter_enums_by_variant() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        three_rows().await?;
        assert_eq!(texts(q!(role = Role::Admin)).await?, ["alpha"]);
        assert_eq!(texts(q!(role__exact = Role::Member)).await?, ["beta"]);
        assert_eq!(
            texts(q!(role__in = [Role::Admin, Role::Guest])).await?,
            ["alpha", "gamma"]
        );
        assert_eq!(texts(!q!(role = Role::Admin)).await?, ["beta", "gamma"]);
        let f = AllTypes::fields();
        assert_eq!(texts(f.role.eq(Role::Guest)).await?, ["gamma"]);
        assert_eq!(
            AllTypes::exclude(q!(role__in = [Role::Guest, Role::Member]))
                .count()
                .await?,
            1
        );

        // The renamed variant is stored under its new name, and read back from it.
        let db = orm_core::current()?;
        db.batch_execute(
            "INSERT INTO types_enum_holder (user_role, maybe) \
             VALUES ('administrator', 'Member'), ('Guest', NULL)",
        )
        .await?;
        let held = EnumHolder::all().order_by(["id"]).await?;
        assert_eq!(
            held.iter().map(|h| (h.role, h.maybe)).collect::<Vec<_>>(),
            [(Role::Admin, Some(Role::Member)), (Role::Guest, None)]
        );
        db.batch_execute("DELETE FROM types_enum_holder WHERE user_role = 'administrator'")
            .await?;
        assert_eq!(EnumHolder::all().await?.len(), 1);
        let created = EnumHolder::create(EnumHolder {
            role: Role::Admin,
            ..Default::default()
        })
        .await?;
        assert_eq!(created.role, Role::Admin);
        db.batch_execute("DELETE FROM types_enum_holder WHERE user_role = 'administrator'")
            .await?;
        assert_eq!(
            EnumHolder::all()
                .await?
                .iter()
                .map(|h| h.role)
                .collect::<Vec<_>>(),
            [Role::Guest],
            "the Admin row was stored as 'administrator'"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn unknown_enum_value_in_the_database_is_a_decode_error() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let db = orm_core::current()?;
        db.batch_execute(
            "INSERT INTO types_enum_holder (id, user_role, maybe) VALUES \
             (1, 'superuser', NULL), (2, 'Member', 'admin'), (3, 'Guest', 'Guest')",
        )
        .await?;
        let expected = "`superuser` is not a variant of Role \
                        (expected one of: Guest, Member, administrator)";
        let check = |result: Result<Vec<EnumHolder>>, column: &str, message: &str| match result {
            Err(Error::Decode(e)) => {
                assert_eq!((e.model, e.column), ("EnumHolder", column));
                let chain = error_chain(&e.source);
                assert!(chain.contains(message), "{chain}");
            }
            other => panic!("expected a decode error on {column}, got {other:?}"),
        };
        check(EnumHolder::all().await, "user_role", expected);
        check(
            EnumHolder::get(q!(id = 1)).await.map(|h| vec![h]),
            "user_role",
            expected,
        );
        // The nullable column's bad value is reported on its own column.
        check(
            EnumHolder::filter(q!(id = 2)).await,
            "maybe",
            "`admin` is not a variant of Role",
        );
        let err = EnumHolder::get(q!(id = 1)).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot decode column `user_role` of EnumHolder: "),
            "{err}"
        );
        assert!(error_chain(&err).contains(expected), "{err:?}");

        // Rows with valid values still load; queries that decode nothing work.
        assert_eq!(
            EnumHolder::get(q!(id = 3)).await?,
            EnumHolder {
                id: 3,
                role: Role::Guest,
                maybe: Some(Role::Guest)
            }
        );
        assert_eq!(EnumHolder::all().count().await?, 3);
        assert_eq!(
            EnumHolder::filter(q!(role = Role::Member)).count().await?,
            1
        );
        assert_eq!(EnumHolder::filter(q!(id = 1)).delete().await?, 1);
        Ok(())
    })
    .await
}
