//! Relations: [`ForeignKey`], [`OneToOne`], [`ManyToMany`] and the reverse
//! side, [`Reverse`], with their metadata ([`RelationMeta`]).
//!
//! A relation field is declared on the model that holds it:
//!
//! ```no_run
//! use orm_core::prelude::*;
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct User {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub name: String,
//!     pub posts: Reverse<Post>,            // the other side of Post.author
//! }
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Tag {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Post {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(related_name = "posts", on_delete = "cascade")]
//!     pub author: ForeignKey<User>,         // column author_id
//!     pub title: String,
//!     #[orm(through = "post_tags")]
//!     pub tags: ManyToMany<Tag>,
//! }
//! ```

mod fields;
mod managers;
mod meta;
pub(crate) mod ops;

pub use fields::{ForeignKey, ManyToMany, OneToOne, Reverse, ReverseOne};
pub use managers::{reverse_one, reverse_query, ManyToManyManager};
pub(crate) use meta::{Hop, HopTenant, LinkTenant};
pub use meta::{OnDelete, RelationKind, RelationMeta};
#[doc(hidden)]
pub use ops::DynModel;
pub(crate) use ops::{BoxFuture, ModelOps, Related};
