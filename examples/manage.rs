//! A `manage` binary, as Django's `manage.py`: the models linked into it
//! are the ones `makemigrations` compares with the `migrations/` folder.
//!
//! ```text
//! export DATABASE_URL=postgres://app@localhost/app
//! cargo run --example manage -- makemigrations --name initial
//! cargo run --example manage -- migrate
//! cargo run --example manage -- showmigrations
//! cargo run --example manage -- sqlmigrate 0001
//! ```
//!
//! Here the models are in this file. In an application they are in the
//! library crate (`src/lib.rs`) and this file is `src/bin/manage.rs`, which
//! must name that crate to link its models, else `makemigrations` fails
//! with "no models are linked into this binary":
//!
//! ```text
//! use my_app as _; // the package `my-app`'s library crate
//!
//! fn main() {
//!     orm_core::cli::main()
//! }
//! ```
//!
//! `app/src/bin/manage.rs` in this repository is such a binary.

use orm_core::prelude::*;

/// An author.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "manage_authors")]
pub struct Author {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(unique, max_length = 80)]
    pub name: String,
    /// Their articles.
    pub articles: Reverse<Article>,
}

/// An article by one author.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "manage_articles")]
pub struct Article {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Deleted with the author.
    #[orm(related_name = "articles", on_delete = "cascade")]
    pub author: ForeignKey<Author>,
    /// Title.
    pub title: String,
}

fn main() {
    orm_core::cli::main()
}
