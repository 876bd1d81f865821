//! A many-to-many between two tenant models of the library crate (`Memo`,
//! `MemoLabel`), used from this crate: the manager writes the current
//! tenant's links, lookups and prefetch keep to the tenant.

use orm_core::prelude::*;
use orm_core::tenant;
use orm_test_app::{Memo, MemoLabel};

fn names(labels: &[MemoLabel]) -> Vec<&str> {
    let mut v: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    v.sort_unstable();
    v
}

#[tokio::test]
async fn tenant_links_of_the_library_crates_models() -> Result<()> {
    let db = orm_core::testing::test_db().await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, async {
        let mut made = Vec::new();
        for account in [1_i64, 2] {
            made.push(
                tenant::scope(account, async {
                    let memo = Memo::create(Memo {
                        body: format!("memo of {account}"),
                        ..Default::default()
                    })
                    .await?;
                    let mut labels = Vec::new();
                    for name in ["urgent", "later"] {
                        labels.push(
                            MemoLabel::create(MemoLabel {
                                name: format!("{name}-{account}"),
                                ..Default::default()
                            })
                            .await?,
                        );
                    }
                    Ok::<_, Error>((memo, labels))
                })
                .await?,
            );
        }
        let (memo1, labels1) = &made[0];
        let (_, labels2) = &made[1];
        tenant::scope(1_i64, async {
            assert_eq!(memo1.labels().add(&[&labels1[0], &labels1[1]]).await?, 2);
            assert_eq!(memo1.labels().set(&[&labels1[0]]).await?, (1, 0));
            assert_eq!(names(&memo1.labels().all().await?), ["urgent-1"]);
            // Another account's label: refused by the link's key.
            let err = memo1.labels().add(&[&labels2[0]]).await.unwrap_err();
            assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
            // Lookups both ways, and prefetch.
            assert_eq!(
                Memo::filter(q!(labels__name = "urgent-1")).count().await?,
                1
            );
            assert_eq!(
                Memo::filter(q!(labels__name = "urgent-2")).count().await?,
                0
            );
            let found = MemoLabel::filter(q!(memos__body = "memo of 1")).await?;
            assert_eq!(names(&found), ["urgent-1"]);
            let memos = Memo::all().prefetch_related(["labels"]).await?;
            assert_eq!(memos.len(), 1);
            assert_eq!(
                names(memos[0].labels.get().expect("prefetched")),
                ["urgent-1"]
            );
            Ok::<_, Error>(())
        })
        .await?;
        // The link rows hold account 1.
        let links: Vec<(i64, i64)> = orm_core::raw(
            "SELECT account_id, memo_label_id FROM app_memos_labels",
            &[],
        )
        .await?;
        assert_eq!(links, [(1, labels1[0].id)]);
        Ok(())
    })
    .await
}
