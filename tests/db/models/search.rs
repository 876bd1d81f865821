//! Models for full-text search (`tests/db/search.rs`): entries with a
//! title and a body, written by writers, and a GIN index on their
//! `SearchVector(title, body, config="english")` (Django's
//! `GinIndex(SearchVector("title", "body", config="english"))`).

use orm_core::prelude::*;

/// A writer of entries.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "fts_writers")]
pub(crate) struct Writer {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
}

/// An entry: the text searched.
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "fts_entries")]
#[orm(index(search_vector(title, body), config = "english", using = "gin"))]
pub(crate) struct Entry {
    #[orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub body: Option<String>,
    pub rating: i32,
    pub writer: ForeignKey<Writer>,
}

/// The rows the search tests query: (title, body, writer).
pub(crate) const ENTRIES: &[(&str, Option<&str>, &str)] = &[
    (
        "Cheese on toast",
        Some("A simple snack of cheese and bread."),
        "Ann",
    ),
    ("Pizza", Some("Dough, red tomato and many cheeses."), "Bob"),
    (
        "Red tomato salad",
        Some("Red tomato, basil and olive oil."),
        "Ann",
    ),
    (
        "Green tomato chutney",
        Some("Green tomato with a red onion."),
        "Bob",
    ),
    ("Soup of the day", None, "Cy"),
    (
        "Bread",
        Some("Flour, water, salt. Toast it with cheese."),
        "Cy",
    ),
];

/// Makes [`ENTRIES`] (and their writers), in order.
pub(crate) async fn entries() -> Result<Vec<Entry>> {
    let mut writers: Vec<Writer> = Vec::new();
    let mut out = Vec::new();
    for (i, (title, body, writer)) in ENTRIES.iter().enumerate() {
        let w = match writers.iter().find(|w| w.name == *writer) {
            Some(w) => w.clone(),
            None => {
                let w = Writer::create(Writer {
                    name: (*writer).to_owned(),
                    ..Default::default()
                })
                .await?;
                writers.push(w.clone());
                w
            }
        };
        out.push(
            Entry::create(Entry {
                title: (*title).to_owned(),
                body: body.map(str::to_owned),
                rating: i as i32,
                writer: ForeignKey::from_key(w.id),
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}
