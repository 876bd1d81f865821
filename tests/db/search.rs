//! Full-text search against PostgreSQL (Django's "Full text search" topic
//! and `django.contrib.postgres.search`): the `search` lookup, stemming
//! with a configuration, `SearchVector` across fields and relations,
//! `SearchQuery` types and combinations, `SearchRank` ordering and
//! weights, `SearchHeadline`, and the GIN index on the vector used by the
//! planner.
//!
//! The expected rows follow from PostgreSQL's text search: the `english`
//! configuration stems "cheeses" to "chees", as "cheese"; `simple` does
//! not stem; `websearch_to_tsquery('"red tomato" -green')` is `'red' <->
//! 'tomato' & !'green'`; `ts_rank` weighs lexemes of weight A 1.0 and D
//! 0.1 by default.

use orm_core::prelude::*;
use orm_core::query::{HavingQ, HQ};
use orm_core::search::{SearchHeadline, SearchQuery, SearchRank, SearchType, SearchVector};

use crate::common::setup;
use crate::models::search::{entries, Entry};

/// The titles of the entries `q` matches, sorted.
async fn titles(q: impl IntoQ<Entry>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Entry::filter(q)
        .await?
        .into_iter()
        .map(|e| e.title)
        .collect();
    out.sort();
    Ok(out)
}

/// The titles of the entries whose `title + body` vector (english)
/// matches `query`, sorted.
async fn matching(query: SearchQuery) -> Result<Vec<String>> {
    let rows = Entry::all()
        .annotate_expr("search", SearchVector(["title", "body"]).config("english"))
        .filter_q(HavingQ::search("search", query))
        .await?;
    let mut out: Vec<String> = rows.iter().map(|r| r.title.clone()).collect();
    out.sort();
    Ok(out)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn the_search_lookup_stems_with_a_configuration() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        entries().await?;
        // english: "cheeses" and "cheese" are one lexeme.
        assert_eq!(
            titles(q!(body__search = SearchQuery("cheeses").config("english"))).await?,
            strings(&["Bread", "Cheese on toast", "Pizza"])
        );
        // simple: no stemming, only the word itself.
        assert_eq!(
            titles(q!(body__search = SearchQuery("cheeses").config("simple"))).await?,
            strings(&["Pizza"])
        );
        // The typed handle and the runtime key (a plain query, the
        // server's default configuration: "pizza" is "pizza" in every one).
        assert_eq!(
            titles(Entry::fields().title.search("pizza")).await?,
            strings(&["Pizza"])
        );
        assert_eq!(
            titles(Lookup::parse::<Entry>("title__search", "Pizza")?).await?,
            strings(&["Pizza"])
        );
        // A NULL body is an empty document: it matches nothing, and is not
        // an error.
        assert_eq!(
            titles(q!(body__search = "soup")).await?,
            Vec::<String>::new()
        );
        // Across a relation.
        assert_eq!(
            titles(q!(writer__name__search = "ann")).await?,
            strings(&["Cheese on toast", "Red tomato salad"])
        );
        // exclude: the others (the NULL body's row included: its vector is
        // empty, not NULL).
        let mut rest: Vec<String> = Entry::exclude(q!(title__search = "tomato"))
            .await?
            .into_iter()
            .map(|e| e.title)
            .collect();
        rest.sort();
        assert_eq!(
            rest,
            strings(&["Bread", "Cheese on toast", "Pizza", "Soup of the day"])
        );
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn search_vectors_and_query_types() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        entries().await?;
        // Title and body together; a NULL body leaves the title searchable.
        assert_eq!(
            matching(SearchQuery("soup").config("english")).await?,
            strings(&["Soup of the day"])
        );
        // websearch: the phrase "red tomato", without "green".
        assert_eq!(
            matching(
                SearchQuery("\"red tomato\" -green")
                    .search_type(SearchType::Websearch)
                    .config("english")
            )
            .await?,
            strings(&["Pizza", "Red tomato salad"])
        );
        // phrase: "red onion" only where the words follow each other.
        assert_eq!(
            matching(
                SearchQuery("red onion")
                    .search_type(SearchType::Phrase)
                    .config("english")
            )
            .await?,
            strings(&["Green tomato chutney"])
        );
        // raw: PostgreSQL's syntax.
        assert_eq!(
            matching(
                SearchQuery("toast & !bread")
                    .search_type(SearchType::Raw)
                    .config("english")
            )
            .await?,
            Vec::<String>::new()
        );
        // &, |, !.
        let english = |t: &str| SearchQuery(t).config("english");
        assert_eq!(
            matching(english("tomato") & !english("green")).await?,
            strings(&["Pizza", "Red tomato salad"])
        );
        assert_eq!(
            matching(english("soup") | english("pizza")).await?,
            strings(&["Pizza", "Soup of the day"])
        );
        // A text on a vector annotation is a plain query (Django's
        // SearchVectorExact), and the vector reads as its text form.
        let rows = Entry::all()
            .annotate_expr("search", SearchVector(["title"]).config("english"))
            .filter_q(HQ("search", "salads"))
            .await?;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].get::<String>("search")?,
            "'red':1 'salad':3 'tomato':2"
        );
        // Across a relation: the writer's name in the vector.
        let rows = Entry::all()
            .annotate_expr("search", SearchVector(["title", "writer__name"]))
            .filter_q(HavingQ::search("search", "bob"))
            .order_by(["title"])
            .await?;
        let found: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(found, ["Green tomato chutney", "Pizza"]);
        // A bad configuration name is refused before anything is sent.
        let err = matching(SearchQuery("x").config("english; drop"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn ranks_order_the_results_and_weights_change_the_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        entries().await?;
        let query = || SearchQuery("cheese").config("english");
        let vector = || SearchVector(["title", "body"]).config("english");
        let rows = Entry::all()
            .annotate_expr("search", vector())
            .annotate_expr("rank", SearchRank(vector(), query()))
            .filter_q(HavingQ::search("search", query()))
            .order_by(["-rank", "title"])
            .await?;
        let ranks: Vec<f32> = rows
            .iter()
            .map(|r| r.get::<f32>("rank"))
            .collect::<Result<_>>()?;
        // Twice in "Cheese on toast" (title and body), once elsewhere.
        assert_eq!(rows[0].title, "Cheese on toast");
        assert_eq!(rows.len(), 3);
        assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
        assert!(ranks[0] > ranks[1], "{ranks:?}");

        // "toast": in the title of "Cheese on toast", in the body of
        // "Bread". The weight of the title's part decides the order.
        let ranked = |title: char, body: char| async move {
            let vector = SearchVector(["title"]).weight(title).config("english")
                + SearchVector(["body"]).weight(body).config("english");
            let rows = Entry::filter(q!(title__in = ["Cheese on toast", "Bread"]))
                .annotate_expr(
                    "rank",
                    SearchRank(vector, SearchQuery("toast").config("english")),
                )
                .order_by(["-rank"])
                .await?;
            Ok::<_, Error>(rows.iter().map(|r| r.title.clone()).collect::<Vec<_>>())
        };
        assert_eq!(ranked('A', 'D').await?, ["Cheese on toast", "Bread"]);
        assert_eq!(ranked('D', 'A').await?, ["Bread", "Cheese on toast"]);
        // Custom weights (D, C, B, A) reverse it again: A counts least.
        let vector = SearchVector(["title"]).weight('A').config("english")
            + SearchVector(["body"]).weight('D').config("english");
        let rows = Entry::filter(q!(title__in = ["Cheese on toast", "Bread"]))
            .annotate_expr(
                "rank",
                SearchRank(vector, SearchQuery("toast").config("english"))
                    .weights([1.0, 0.4, 0.2, 0.1])
                    .normalization(0),
            )
            .order_by(["-rank"])
            .await?;
        let order: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(order, ["Bread", "Cheese on toast"]);
        // Cover density ranks too.
        let rows = Entry::filter(q!(title__search = SearchQuery("tomato").config("english")))
            .annotate_expr(
                "rank",
                SearchRank("title", SearchQuery("tomato").config("english")).cover_density(true),
            )
            .await?;
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.get::<f32>("rank").unwrap() > 0.0));
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn headlines_mark_the_words() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        entries().await?;
        let rows = Entry::filter(q!(title = "Red tomato salad"))
            .annotate_expr(
                "headline",
                SearchHeadline("title", SearchQuery("tomatoes").config("english"))
                    .config("english")
                    .start_sel("<<")
                    .stop_sel(">>"),
            )
            .await?;
        assert_eq!(rows[0].get::<String>("headline")?, "Red <<tomato>> salad");
        // A quote in an option is a value, not SQL or another option.
        let rows = Entry::filter(q!(title = "Pizza"))
            .annotate_expr(
                "headline",
                SearchHeadline("title", SearchQuery("pizza").config("english"))
                    .config("english")
                    .start_sel("'")
                    .stop_sel("'"),
            )
            .await?;
        assert_eq!(rows[0].get::<String>("headline")?, "'Pizza'");
        Ok::<_, Error>(())
    })
    .await
}

#[tokio::test]
async fn the_gin_index_serves_the_search() -> Result<()> {
    // Django's docs: an index on the SearchVector with the same
    // configuration; the query's expression must be the index's.
    let db = setup().await;
    orm_core::scope(&db, async {
        entries().await?;
        let query = SearchQuery("cheese").config("english");
        let stmt = Entry::all()
            .annotate_expr("search", SearchVector(["title", "body"]).config("english"))
            .filter_q(HavingQ::search("search", query))
            .sql()?
            .expect("a query");
        let plan: Vec<(String,)> = orm_core::transaction(|| async {
            orm_core::raw::<(i32,)>("SET LOCAL enable_seqscan = off", &[]).await?;
            let binds: Vec<&(dyn orm_core::__private::ToSql + Sync)> = stmt
                .binds
                .iter()
                .map(|b| b as &(dyn orm_core::__private::ToSql + Sync))
                .collect();
            orm_core::raw::<(String,)>(
                orm_core::AssertSqlSafe(format!("EXPLAIN {}", stmt.sql)),
                &binds,
            )
            .await
        })
        .await?;
        let plan: Vec<String> = plan.into_iter().map(|(l,)| l).collect();
        assert!(
            plan.iter()
                .any(|l| l.contains("fts_entries_title_body_search_idx")),
            "{plan:#?}"
        );
        Ok::<_, Error>(())
    })
    .await
}
