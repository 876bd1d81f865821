//! Books of the related ordering and values tests (`rv_` tables): a
//! nullable foreign key, a one-to-one both ways, a many-to-many.

use orm_core::prelude::*;

/// A novelist; some have no books, some no bio.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rv_novelists")]
pub(crate) struct Novelist {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Reputation (ties on purpose).
    pub karma: i32,
    /// Book.novelist, reversed.
    pub books: Reverse<Book>,
    /// Bio.novelist, reversed (one or none).
    pub bio: ReverseOne<Bio>,
}

/// At most one per novelist.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rv_bios")]
pub(crate) struct Bio {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Whose.
    #[orm(related_name = "bio")]
    pub novelist: OneToOne<Novelist>,
    /// Optional.
    pub website: Option<String>,
}

/// A label.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rv_labels")]
pub(crate) struct Label {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Book.labels, reversed.
    pub books: Reverse<Book>,
}

/// A book, perhaps without a novelist.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "rv_books")]
pub(crate) struct Book {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Nullable.
    #[orm(related_name = "books", on_delete = "set_null")]
    pub novelist: Option<ForeignKey<Novelist>>,
    /// Title.
    pub title: String,
    /// Likes.
    pub likes: i32,
    /// Views.
    pub views: i64,
    /// Linked through rv_book_labels.
    #[orm(related_name = "books", through = "rv_book_labels")]
    pub labels: ManyToMany<Label>,
}

/// Novelists Ada (karma 50, bio "ada.dev"), Bob (5, no bio), Cy (5, a bio
/// without website, no books); books "Rust" (Ada, 10 likes, 100 views,
/// labels lang and fun), "Python" (Ada, 5, 300, lang), "Go" (Bob, 1, 1,
/// none) and "Orphan" (no novelist, 0, 50, none).
pub(crate) async fn shelf() -> Result<()> {
    let mut novelists = Vec::new();
    for (name, karma) in [("Ada", 50), ("Bob", 5), ("Cy", 5)] {
        novelists.push(
            Novelist::create(Novelist {
                name: name.into(),
                karma,
                ..Default::default()
            })
            .await?,
        );
    }
    let [ada, bob, cy] = &novelists[..] else {
        unreachable!("three novelists")
    };
    for (novelist, website) in [(ada, Some("ada.dev")), (cy, None)] {
        Bio::create(Bio {
            novelist: OneToOne::to(novelist)?,
            website: website.map(str::to_owned),
            ..Default::default()
        })
        .await?;
    }
    let lang = Label::create(Label {
        name: "lang".into(),
        ..Default::default()
    })
    .await?;
    let fun = Label::create(Label {
        name: "fun".into(),
        ..Default::default()
    })
    .await?;
    for (novelist, title, likes, views) in [
        (Some(ada), "Rust", 10, 100),
        (Some(ada), "Python", 5, 300),
        (Some(bob), "Go", 1, 1),
        (None, "Orphan", 0, 50),
    ] {
        let book = Book::create(Book {
            novelist: novelist.map(ForeignKey::to).transpose()?,
            title: title.into(),
            likes,
            views,
            ..Default::default()
        })
        .await?;
        match title {
            "Rust" => book.labels().add(&[&lang, &fun]).await?,
            "Python" => book.labels().add(&[&lang]).await?,
            _ => 0,
        };
    }
    Ok(())
}

/// The titles of `books`, in order.
pub(crate) fn titles(books: &[Book]) -> Vec<&str> {
    books.iter().map(|b| b.title.as_str()).collect()
}
