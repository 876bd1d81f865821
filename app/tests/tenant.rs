//! A tenant model declared in the application's library crate, queried
//! from this crate: filtered and stamped by the current tenant.

use orm_core::prelude::*;
use orm_core::tenant;
use orm_test_app::Memo;

#[tokio::test]
async fn a_tenant_model_of_the_library_crate_is_scoped() -> Result<()> {
    let db = orm_core::testing::test_db().await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, async {
        for (account, body) in [(1_i64, "one"), (1, "uno"), (2, "two")] {
            tenant::scope(account, async {
                let note = Memo::create(Memo {
                    body: body.into(),
                    ..Default::default()
                })
                .await?;
                assert_eq!(note.account_id, account, "stamped");
                Ok::<_, Error>(())
            })
            .await?;
        }
        let (one, two) = tokio::join!(
            tenant::scope(
                1_i64,
                Memo::all()
                    .order_by(["body"])
                    .values_list_flat::<String>("body")
            ),
            tenant::scope(2_i64, Memo::all().values_list_flat::<String>("body")),
        );
        assert_eq!(one?, ["one", "uno"]);
        assert_eq!(two?, ["two"]);
        let err = Memo::all().count().await.unwrap_err().to_string();
        assert!(
            err.contains("Memo is a tenant model and no tenant is current"),
            "{err}"
        );
        assert_eq!(Memo::objects_all_tenants().count().await?, 3);
        Ok(())
    })
    .await
}
