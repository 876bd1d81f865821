//! Many-to-many links between tenant models on a real server: the link
//! table carries the tenant (in its key, its foreign keys and row-level
//! security), the manager's add/remove/set/clear write the current
//! tenant's links, and lookups, counts and prefetch across the link keep
//! to the tenant.

use orm_core::prelude::*;
use orm_core::tenant;

use crate::common::setup;
use crate::migration_support::query;
use crate::models::tenant_links::{TlCard, TlLabel, TlTopic};

/// Tenant 1: label "l1", cards "c1", "c2"; tenant 2: label "l2", card
/// "c3"; topics "red", "blue" (shared).
async fn two_tenants() -> Result<(Vec<TlLabel>, Vec<TlCard>, Vec<TlTopic>)> {
    let mut labels = Vec::new();
    let mut cards = Vec::new();
    for (t, label, titles) in [(1_i64, "l1", &["c1", "c2"][..]), (2, "l2", &["c3"][..])] {
        tenant::scope(t, async {
            labels.push(
                TlLabel::create(TlLabel {
                    name: label.into(),
                    ..Default::default()
                })
                .await?,
            );
            for title in titles {
                cards.push(
                    TlCard::create(TlCard {
                        title: (*title).into(),
                        ..Default::default()
                    })
                    .await?,
                );
            }
            Ok::<_, Error>(())
        })
        .await?;
    }
    let mut topics = Vec::new();
    for name in ["red", "blue"] {
        topics.push(
            TlTopic::create(TlTopic {
                name: name.into(),
                ..Default::default()
            })
            .await?,
        );
    }
    Ok((labels, cards, topics))
}

fn titles(cards: &[TlCard]) -> Vec<&str> {
    let mut v: Vec<&str> = cards.iter().map(|c| c.title.as_str()).collect();
    v.sort_unstable();
    v
}

/// Every link row as `(tenant, label, card)`, read by the superuser.
async fn links(db: &Db) -> Result<Vec<(i64, i64, i64)>> {
    query::<(i64, i64, i64)>(
        db,
        "SELECT tenant_id, tl_label_id, tl_card_id FROM tl_labels_cards ORDER BY 1, 2, 3",
    )
    .await
}

#[tokio::test]
async fn the_manager_writes_the_current_tenants_links() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (labels, cards, _) = two_tenants().await?;
        let (l1, l2) = (&labels[0], &labels[1]);
        let (c1, c2, c3) = (&cards[0], &cards[1], &cards[2]);
        tenant::scope(1_i64, async {
            assert_eq!(l1.cards().add(&[c1, c2]).await?, 2);
            // Already linked: nothing new (ON CONFLICT DO NOTHING).
            assert_eq!(l1.cards().add(&[c1]).await?, 0);
            assert_eq!(titles(&l1.cards().all().await?), ["c1", "c2"]);
            assert_eq!(l1.cards().remove(&[c2]).await?, 1);
            assert_eq!(titles(&l1.cards().all().await?), ["c1"]);
            // set(): c1 unlinked, c2 linked, in one transaction.
            assert_eq!(l1.cards().set(&[c2]).await?, (1, 1));
            assert_eq!(titles(&l1.cards().all().await?), ["c2"]);
            assert_eq!(l1.cards().set(&[c1, c2]).await?, (0, 1));
            // Tenant 2's card: the link's foreign key, which includes the
            // tenant, refuses it (PostgreSQL's 23503, named).
            let err = l1.cards().add(&[c3]).await.unwrap_err();
            assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
            assert_eq!(err.constraint(), Some("tl_labels_cards_tl_card_id_fkey"));
            Ok::<_, Error>(())
        })
        .await?;
        // Another tenant's label: refused before any SQL, not an empty list.
        let err = tenant::scope(2_i64, async { l1.cards().all().count().await })
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("belongs to tenant 1 but the current tenant is 2"),
            "{err}"
        );
        let err = tenant::scope(2_i64, async { l1.cards().clear().await })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("belongs to tenant 1"), "{err}");
        // Without a tenant: the error every tenant statement gets.
        let err = l1.cards().add(&[c1]).await.unwrap_err().to_string();
        assert!(err.contains("no tenant is current"), "{err}");
        tenant::scope(2_i64, async {
            assert_eq!(l2.cards().add(&[c3]).await?, 1);
            Ok::<_, Error>(())
        })
        .await?;
        // Each link holds its label's tenant.
        let (a, b, c) = (c1.id, c2.id, c3.id);
        assert_eq!(
            links(&db).await?,
            [(1, l1.id, a), (1, l1.id, b), (2, l2.id, c)]
        );
        // Across tenants on purpose: the label's own tenant.
        tenant::unscoped(async {
            assert_eq!(l1.cards().clear().await?, 2);
            assert_eq!(l1.cards().add(&[c2]).await?, 1);
            Ok::<_, Error>(())
        })
        .await?;
        assert_eq!(links(&db).await?, [(1, l1.id, b), (2, l2.id, c)]);
        // By key (the admin's forms), across tenants: the owner row's
        // tenant, read by the insert itself.
        let rel = TlLabel::META
            .relations
            .iter()
            .find(|r| r.name == "cards")
            .expect("cards");
        tenant::unscoped(async {
            assert_eq!(rel.add_links(l1.pk(), vec![c1.pk()]).await?, 1);
            assert_eq!(rel.remove_links(l1.pk(), vec![c2.pk()]).await?, 1);
            Ok::<_, Error>(())
        })
        .await?;
        // And in a tenant scope, that tenant's.
        tenant::scope(2_i64, async {
            let err = rel.add_links(l2.pk(), vec![c1.pk()]).await.unwrap_err();
            assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
            assert_eq!(rel.remove_links(l2.pk(), vec![c3.pk()]).await?, 1);
            Ok::<_, Error>(())
        })
        .await?;
        assert_eq!(links(&db).await?, [(1, l1.id, a)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn lookups_counts_and_prefetch_across_a_tenant_link() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (labels, cards, topics) = two_tenants().await?;
        let (l1, l2) = (&labels[0], &labels[1]);
        let (c1, c2, c3) = (&cards[0], &cards[1], &cards[2]);
        tenant::scope(1_i64, async {
            l1.cards().add(&[c1, c2]).await?;
            l1.topics().add(&[&topics[0]]).await?;
            Ok::<_, Error>(())
        })
        .await?;
        tenant::scope(2_i64, async {
            l2.cards().add(&[c3]).await?;
            l2.topics().add(&[&topics[0], &topics[1]]).await?;
            Ok::<_, Error>(())
        })
        .await?;
        tenant::scope(1_i64, async {
            // Forward and reverse lookups through the link.
            let found = TlLabel::filter(q!(cards__title = "c2")).await?;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].id, l1.id);
            assert!(TlLabel::filter(q!(cards__title = "c3")).await?.is_empty());
            let found = TlCard::filter(q!(labels__name = "l1"))
                .order_by(["title"])
                .await?;
            assert_eq!(titles(&found), ["c1", "c2"]);
            // A shared topic: only this tenant's links to it count.
            assert_eq!(TlLabel::filter(q!(topics__name = "red")).count().await?, 1);
            assert_eq!(TlLabel::filter(q!(topics__name = "blue")).count().await?, 0);
            // Counted per label.
            let counted = TlLabel::all().annotate([Count("cards")]).await?;
            assert_eq!(counted.len(), 1);
            assert_eq!(counted[0].get::<i64>("cards__count")?, 2);
            // Prefetched both ways.
            let mut with = TlLabel::all().prefetch_related(["cards", "topics"]).await?;
            assert_eq!(with.len(), 1);
            let label = with.remove(0);
            assert_eq!(titles(label.cards.get().expect("prefetched")), ["c1", "c2"]);
            assert_eq!(label.topics.get().expect("prefetched").len(), 1);
            let cards = TlCard::all()
                .order_by(["title"])
                .prefetch_related(["labels"])
                .await?;
            let counts: Vec<usize> = cards
                .iter()
                .map(|c| c.labels.get().expect("prefetched").len())
                .collect();
            assert_eq!(counts, [1, 1]);
            Ok::<_, Error>(())
        })
        .await?;
        // Tenant 2 sees its own.
        tenant::scope(2_i64, async {
            assert_eq!(TlLabel::filter(q!(topics__name = "blue")).count().await?, 1);
            assert_eq!(titles(&l2.cards().all().await?), ["c3"]);
            Ok::<_, Error>(())
        })
        .await?;
        // Deleting a card deletes its links (the foreign key cascades).
        tenant::scope(1_i64, async {
            TlCard::filter(q!(title = "c1")).delete().await?;
            assert_eq!(titles(&l1.cards().all().await?), ["c2"]);
            l1.delete().await?;
            Ok::<_, Error>(())
        })
        .await?;
        let left = links(&db).await?;
        assert_eq!(left, [(2, l2.id, c3.id)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn row_level_security_holds_the_link_table() -> Result<()> {
    let url = orm_core::testing::test_database_url().await?;
    let admin = Db::builder(&url).connect().await?;
    orm_core::generate_schemas_on(&admin).await?;
    let (labels, cards, _) = orm_core::scope(&admin, async {
        let made = two_tenants().await?;
        let (labels, cards, _) = &made;
        tenant::scope(1_i64, labels[0].cards().add(&[&cards[0], &cards[1]])).await?;
        tenant::scope(2_i64, labels[1].cards().add(&[&cards[2]])).await?;
        Ok::<_, Error>(made)
    })
    .await?;
    let role = format!("orm_tenant_links_{}", std::process::id());
    let app = crate::tenant::plain_role(&admin, &url, &role).await?;
    let count = "SELECT count(*) FROM tl_labels_cards";
    orm_core::scope(&app, async {
        tenant::scope(1_i64, async {
            // Outside a block: the link table's policy shows this tenant's.
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(2,)]);
            // The ORM's writes through the manager pass the policy.
            assert_eq!(labels[0].cards().remove(&[&cards[1]]).await?, 1);
            assert_eq!(titles(&labels[0].cards().all().await?), ["c1"]);
            // A raw link stamped with another tenant: refused by WITH CHECK.
            let err = orm_core::raw::<(i32,)>(
                "INSERT INTO tl_labels_cards (tenant_id, tl_label_id, tl_card_id) \
                 VALUES (2, $1, $2)",
                &[&labels[1].id, &cards[2].id],
            )
            .await
            .unwrap_err()
            .to_string();
            assert!(err.contains("row-level security"), "{err}");
            Ok::<_, Error>(())
        })
        .await?;
        tenant::scope(2_i64, async {
            let n: Vec<(i64,)> = orm_core::raw(count, &[]).await?;
            assert_eq!(n, [(1,)]);
            Ok::<_, Error>(())
        })
        .await
    })
    .await?;
    let all: Vec<(i64,)> = orm_core::scope(&admin, orm_core::raw(count, &[])).await?;
    assert_eq!(all, [(2,)]);
    Ok(())
}
