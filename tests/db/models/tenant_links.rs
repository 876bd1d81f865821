//! Many-to-many links between tenant models: labels (tenant, row-level
//! security) on cards (tenant, another column name) and on topics (shared
//! by every tenant).

use orm_core::prelude::*;

/// A label of one tenant, on cards and topics.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_labels")]
pub(crate) struct TlLabel {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The tenant, enforced by PostgreSQL too (the link tables also).
    #[orm(tenant, rls)]
    pub tenant_id: i64,
    /// Name.
    pub name: String,
    /// Linked through `tl_labels_cards` (`tenant_id`, `tl_label_id`, `tl_card_id`).
    #[orm(related_name = "labels")]
    pub cards: ManyToMany<TlCard>,
    /// Linked through `tl_labels_topics`.
    pub topics: ManyToMany<TlTopic>,
}

/// A card of one tenant.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_cards")]
pub(crate) struct TlCard {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The tenant.
    #[orm(tenant)]
    pub account_id: i64,
    /// Title.
    pub title: String,
    /// TlLabel.cards, reversed.
    pub labels: Reverse<TlLabel>,
}

/// A topic: not a tenant model.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_topics")]
pub(crate) struct TlTopic {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}
