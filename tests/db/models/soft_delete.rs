//! Soft delete models (`sd_` tables): authors, their books (a second
//! soft delete field name, a nullable `SET_NULL` editor, tags), chapters
//! (a second cascade level), and reviews, which are not soft delete.

use chrono::{DateTime, Utc};
use orm_core::prelude::*;

/// A writer; marked deleted instead of removed.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_authors", soft_delete)]
pub(crate) struct SdAuthor {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique among the live authors.
    #[orm(unique)]
    pub name: String,
    /// When it was deleted; NULL while it is not.
    pub deleted_at: Option<DateTime<Utc>>,
    /// SdBook.author, reversed.
    pub books: Reverse<SdBook>,
}

/// A book: cascades from its author, the mark named `removed_at`.
#[derive(Model, Debug, Clone, Default)]
#[orm(
    table = "sd_books",
    soft_delete = "removed_at",
    unique_together(author, title)
)]
pub(crate) struct SdBook {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Who wrote it (CASCADE).
    #[orm(related_name = "books")]
    pub author: ForeignKey<SdAuthor>,
    /// Who edited it, if anyone (SET NULL).
    #[orm(related_name = "edited", on_delete = "set_null")]
    pub editor: Option<ForeignKey<SdAuthor>>,
    /// Unique per author among the live books.
    pub title: String,
    /// Pages.
    pub pages: i32,
    /// Tags.
    #[orm(through = "sd_book_tags", related_name = "books")]
    pub tags: ManyToMany<SdTag>,
    /// Chapters.
    pub chapters: Reverse<SdChapter>,
    /// When it was deleted.
    pub removed_at: Option<DateTime<Utc>>,
}

/// A tag of books, soft deleted on its own.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_tags", soft_delete)]
pub(crate) struct SdTag {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// When it was deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A chapter of a book: a second level of the cascade.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_chapters", soft_delete)]
pub(crate) struct SdChapter {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Its book (CASCADE).
    #[orm(related_name = "chapters")]
    pub book: ForeignKey<SdBook>,
    /// Title.
    pub title: String,
    /// When it was deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A review of a book; not soft delete: a soft deleted book keeps it.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "sd_reviews")]
pub(crate) struct SdReview {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Its book (CASCADE).
    pub book: ForeignKey<SdBook>,
    /// Stars.
    pub stars: i32,
}

/// The rows of the tests: Ada (Emma 300 pages, Persuasion 250, edited by
/// Bob; Emma has two chapters and a review, tags "classic" and "novel"),
/// Bob (Dune, 400, no editor).
pub(crate) struct Shelf {
    pub ada: SdAuthor,
    pub bob: SdAuthor,
    pub emma: SdBook,
    pub persuasion: SdBook,
    pub dune: SdBook,
    pub classic: SdTag,
    pub novel: SdTag,
}

pub(crate) async fn shelf() -> orm_core::Result<Shelf> {
    let author = |name: &str| SdAuthor {
        name: name.into(),
        ..Default::default()
    };
    let ada = SdAuthor::create(author("Ada")).await?;
    let bob = SdAuthor::create(author("Bob")).await?;
    let book = |by: &SdAuthor, title: &str, pages: i32, editor: Option<&SdAuthor>| SdBook {
        author: ForeignKey::to(by).expect("saved"),
        editor: editor.map(|e| ForeignKey::to(e).expect("saved")),
        title: title.into(),
        pages,
        ..Default::default()
    };
    let emma = SdBook::create(book(&ada, "Emma", 300, None)).await?;
    let persuasion = SdBook::create(book(&ada, "Persuasion", 250, Some(&bob))).await?;
    let dune = SdBook::create(book(&bob, "Dune", 400, None)).await?;
    for title in ["One", "Two"] {
        SdChapter::create(SdChapter {
            book: ForeignKey::to(&emma)?,
            title: title.into(),
            ..Default::default()
        })
        .await?;
    }
    SdReview::create(SdReview {
        book: ForeignKey::to(&emma)?,
        stars: 5,
        ..Default::default()
    })
    .await?;
    let tag = |name: &str| SdTag {
        name: name.into(),
        ..Default::default()
    };
    let classic = SdTag::create(tag("classic")).await?;
    let novel = SdTag::create(tag("novel")).await?;
    emma.tags().add(&[&classic, &novel]).await?;
    Ok(Shelf {
        ada,
        bob,
        emma,
        persuasion,
        dune,
        classic,
        novel,
    })
}
