//! Writers and their articles with counters (`expr_` tables), for F expressions and aggregates.

use orm_core::prelude::*;

/// A writer with karma.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "expr_writers")]
pub(crate) struct Writer {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Reputation.
    pub karma: i32,
    /// Article.writer, reversed.
    pub articles: Reverse<Article>,
}

/// An article with counters.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "expr_articles")]
pub(crate) struct Article {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The writer.
    #[orm(related_name = "articles")]
    pub writer: ForeignKey<Writer>,
    /// Title.
    pub title: String,
    /// Reads.
    pub views: i64,
    /// Likes.
    pub likes: i32,
}

/// Ann (karma 50) with "a1" (100 views, 10 likes) and "a2" (20, 30);
/// Bob (karma 5) with "b1" (7, 1).
pub(crate) async fn sample() -> Result<()> {
    let ann = Writer::create(Writer {
        name: "ann".into(),
        karma: 50,
        ..Default::default()
    })
    .await?;
    let bob = Writer::create(Writer {
        name: "bob".into(),
        karma: 5,
        ..Default::default()
    })
    .await?;
    for (writer, title, views, likes) in [
        (&ann, "a1", 100, 10),
        (&ann, "a2", 20, 30),
        (&bob, "b1", 7, 1),
    ] {
        Article::create(Article {
            writer: ForeignKey::to(writer)?,
            title: title.into(),
            views,
            likes,
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}
