//! Full-text search on PostgreSQL, as Django's
//! `django.contrib.postgres.search`: the `search` lookup, [`SearchVector`](fn@SearchVector),
//! [`SearchQuery`](fn@SearchQuery), [`SearchRank`](fn@SearchRank) and [`SearchHeadline`](fn@SearchHeadline).
//!
//! - `q!(body__search = "cheese")` / `Post::fields().body.search("cheese")`
//!   / the runtime key `body__search`: `to_tsvector(COALESCE("post"."body",
//!   '')) @@ plainto_tsquery($1)`. With a [`SearchQuery`](fn@SearchQuery) value its
//!   configuration is the vector's too (Django's `SearchLookup`):
//!   `q!(body__search = SearchQuery("cheeses").config("english"))` finds
//!   "cheese".
//! - `annotate_expr("search", SearchVector(["title", "body"]))` then
//!   `filter_q(HavingQ::search("search", SearchQuery("cheese")))` (Django's
//!   `annotate(search=SearchVector(..)).filter(search=SearchQuery(..))`;
//!   `HQ("search", "cheese")` too: a text is a plain query).
//! - `annotate_expr("rank", SearchRank(vector, query))` and
//!   `order_by(["-rank"])`.
//!
//! Texts, weights and headline options are bound parameters. A
//! configuration name (`"english"`) must be `[a-z_][a-z0-9_]*` (with an
//! optional `schema.`); it is written as a quoted literal
//! (`'english'::regconfig`), so that an expression index written by a
//! migration (`#[orm(index(search_vector(title, body), config = "english",
//! using = "gin"))]`) is the same expression and the planner uses it. A
//! name of another form is [`Error::InvalidQuery`](crate::Error::InvalidQuery)
//! when the query runs, before anything is sent.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::search::{SearchQuery, SearchRank, SearchType, SearchVector};
//! use orm_core::query::HavingQ;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub title: String, pub body: String }
//! # async fn run() -> orm_core::Result<()> {
//! let cheesy = Post::filter(q!(body__search = "cheese")).await?;
//! let vector = SearchVector(["title"]).weight('A') + SearchVector(["body"]).weight('B');
//! let query = SearchQuery("\"red tomato\" -green")
//!     .search_type(SearchType::Websearch)
//!     .config("english");
//! let ranked = Post::all()
//!     .annotate_expr("search", vector.clone().config("english"))
//!     .annotate_expr("rank", SearchRank(vector.config("english"), query.clone()))
//!     .filter_q(HavingQ::search("search", query))
//!     .order_by(["-rank"])
//!     .await?;
//! let rank: f32 = ranked[0].get("rank")?;
//! # Ok(()) }
//! ```

#![allow(non_snake_case)]

use std::ops::{Add, BitAnd, BitOr, Not};

use crate::sql::search::check_config;
use crate::sql::tree::{QueryNode, VectorPart};
use crate::value::Value;

use crate::sql::tree::Expr;
pub use crate::sql::tree::{
    Search, SearchHeadline, SearchQuery, SearchRank, SearchType, SearchVector,
};

/// Django's `SearchVector("title", "body")`: the fields' text (NULL as
/// empty, other types cast to text) as one `tsvector`:
/// `to_tsvector(COALESCE("t"."title", '') || ' ' || COALESCE("t"."body", ''))`.
/// A name may cross foreign keys (`"author__name"`), as `F` does. Add
/// [`config`](SearchVector::config) and [`weight`](SearchVector::weight);
/// add vectors with `+`.
pub fn SearchVector<I>(fields: I) -> SearchVector
where
    I: IntoIterator,
    I::Item: Into<Expr>,
{
    SearchVector {
        parts: vec![VectorPart {
            exprs: fields.into_iter().map(Into::into).collect(),
            config: None,
            weight: None,
        }],
        error: None,
    }
}

impl SearchVector {
    /// The text search configuration (`"english"`):
    /// `to_tsvector('english'::regconfig, ..)`. On vectors added together,
    /// each part without one takes it.
    #[must_use]
    pub fn config(mut self, name: &str) -> SearchVector {
        if let Err(e) = check_config(name) {
            self.error.get_or_insert(e);
            return self;
        }
        for part in &mut self.parts {
            part.config.get_or_insert_with(|| name.to_owned());
        }
        self
    }

    /// The weight of the vector's lexemes, `'A'` (highest) to `'D'`:
    /// `setweight(to_tsvector(..), 'A')`. On vectors added together, each
    /// part without one takes it.
    #[must_use]
    pub fn weight(mut self, weight: char) -> SearchVector {
        if !matches!(weight, 'A'..='D') {
            self.error.get_or_insert(format!(
                "{weight:?} is not a search weight: expected 'A', 'B', 'C' or 'D'"
            ));
            return self;
        }
        for part in &mut self.parts {
            part.weight.get_or_insert(weight);
        }
        self
    }
}

/// `v1 + v2`: `(v1 || v2)`, as Django's combined `SearchVector`s.
impl Add for SearchVector {
    type Output = SearchVector;
    fn add(mut self, rhs: SearchVector) -> SearchVector {
        self.parts.extend(rhs.parts);
        self.error = self.error.or(rhs.error);
        self
    }
}

/// One field: `SearchRank("body", ..)` is `SearchRank(SearchVector(["body"]), ..)`.
impl From<&str> for SearchVector {
    fn from(name: &str) -> SearchVector {
        SearchVector([name])
    }
}

impl From<SearchVector> for Expr {
    fn from(v: SearchVector) -> Expr {
        Expr::Search(Box::new(Search::Vector(v)))
    }
}

/// Django's `SearchQuery("red tomato")`: `plainto_tsquery($1)`, the text
/// a bound value. Set [`search_type`](SearchQuery::search_type) and
/// [`config`](SearchQuery::config); combine with `&` (`(q1 && q2)`), `|`
/// (`(q1 || q2)`) and `!` (`!!(q)`).
pub fn SearchQuery(text: impl Into<String>) -> SearchQuery {
    SearchQuery {
        node: QueryNode::Leaf {
            text: Value::Text(Some(text.into())),
            kind: SearchType::Plain,
            config: None,
        },
        error: None,
    }
}

impl SearchQuery {
    fn leaves_mut(&mut self, f: &mut dyn FnMut(&mut SearchType, &mut Option<String>)) {
        fn walk(n: &mut QueryNode, f: &mut dyn FnMut(&mut SearchType, &mut Option<String>)) {
            match n {
                QueryNode::Leaf { kind, config, .. } => f(kind, config),
                QueryNode::And(a, b) | QueryNode::Or(a, b) => {
                    walk(a, f);
                    walk(b, f);
                }
                QueryNode::Not(n) => walk(n, f),
            }
        }
        walk(&mut self.node, f);
    }

    /// How the text is read (Django's `search_type`): plain
    /// (`plainto_tsquery`), phrase (`phraseto_tsquery`), raw (`to_tsquery`)
    /// or websearch (`websearch_to_tsquery`). On a combined query, every
    /// text.
    #[must_use]
    pub fn search_type(mut self, search_type: SearchType) -> SearchQuery {
        self.leaves_mut(&mut |kind, _| *kind = search_type);
        self
    }

    /// The text search configuration (`"english"`):
    /// `plainto_tsquery('english'::regconfig, $1)`. On a combined query,
    /// each text without one takes it.
    #[must_use]
    pub fn config(mut self, name: &str) -> SearchQuery {
        if let Err(e) = check_config(name) {
            self.error.get_or_insert(e);
            return self;
        }
        self.leaves_mut(&mut |_, config| {
            config.get_or_insert_with(|| name.to_owned());
        });
        self
    }
}

impl From<&str> for SearchQuery {
    fn from(text: &str) -> SearchQuery {
        SearchQuery(text)
    }
}

impl From<String> for SearchQuery {
    fn from(text: String) -> SearchQuery {
        SearchQuery(text)
    }
}

impl From<&String> for SearchQuery {
    fn from(text: &String) -> SearchQuery {
        SearchQuery(text.as_str())
    }
}

impl BitAnd for SearchQuery {
    type Output = SearchQuery;
    fn bitand(self, rhs: SearchQuery) -> SearchQuery {
        SearchQuery {
            node: QueryNode::And(Box::new(self.node), Box::new(rhs.node)),
            error: self.error.or(rhs.error),
        }
    }
}

impl BitOr for SearchQuery {
    type Output = SearchQuery;
    fn bitor(self, rhs: SearchQuery) -> SearchQuery {
        SearchQuery {
            node: QueryNode::Or(Box::new(self.node), Box::new(rhs.node)),
            error: self.error.or(rhs.error),
        }
    }
}

impl Not for SearchQuery {
    type Output = SearchQuery;
    fn not(self) -> SearchQuery {
        let node = match self.node {
            QueryNode::Not(inner) => *inner,
            node => QueryNode::Not(Box::new(node)),
        };
        SearchQuery {
            node,
            error: self.error,
        }
    }
}

impl From<SearchQuery> for Expr {
    fn from(q: SearchQuery) -> Expr {
        Expr::Search(Box::new(Search::Query(q)))
    }
}

/// Django's `SearchRank(vector, query)`: how well the row's vector matches
/// the query, a `real` (`ts_rank(vector, query)`). A field name is its
/// vector (`SearchRank("body", "cheese")`), a text a plain query.
pub fn SearchRank(vector: impl Into<SearchVector>, query: impl Into<SearchQuery>) -> SearchRank {
    SearchRank {
        vector: vector.into(),
        query: query.into(),
        weights: None,
        normalization: None,
        cover_density: false,
    }
}

impl SearchRank {
    /// The weights of the D, C, B and A lexemes, in that order
    /// (PostgreSQL's default `[0.1, 0.2, 0.4, 1.0]`): `ts_rank($1::real[], ..)`.
    #[must_use]
    pub fn weights(mut self, weights: [f32; 4]) -> SearchRank {
        self.weights = Some(weights);
        self
    }

    /// How a document's length scales its rank (PostgreSQL's bit mask,
    /// `0` to `32`): `ts_rank(.., $n::integer)`.
    #[must_use]
    pub fn normalization(mut self, normalization: i32) -> SearchRank {
        self.normalization = Some(normalization);
        self
    }

    /// `ts_rank_cd` (cover density) instead of `ts_rank`.
    #[must_use]
    pub fn cover_density(mut self, yes: bool) -> SearchRank {
        self.cover_density = yes;
        self
    }
}

impl From<SearchRank> for Expr {
    fn from(r: SearchRank) -> Expr {
        Expr::Search(Box::new(Search::Rank(r)))
    }
}

/// Django's `SearchHeadline(expression, query)`: the text with the
/// query's words marked (`ts_headline(expr, query[, $options])`). A string
/// names a field.
pub fn SearchHeadline(expr: impl Into<Expr>, query: impl Into<SearchQuery>) -> SearchHeadline {
    SearchHeadline {
        expr: expr.into(),
        query: query.into(),
        config: None,
        options: Vec::new(),
        error: None,
    }
}

impl SearchHeadline {
    /// The text search configuration: `ts_headline('english'::regconfig, ..)`.
    #[must_use]
    pub fn config(mut self, name: &str) -> SearchHeadline {
        match check_config(name) {
            Ok(()) => self.config = Some(name.to_owned()),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    fn option(mut self, name: &'static str, value: String) -> SearchHeadline {
        self.options.retain(|(k, _)| *k != name);
        self.options.push((name, value));
        self
    }

    /// The text before a match (`StartSel`, default `<b>`).
    #[must_use]
    pub fn start_sel(self, text: &str) -> SearchHeadline {
        self.option("StartSel", text.to_owned())
    }

    /// The text after a match (`StopSel`, default `</b>`).
    #[must_use]
    pub fn stop_sel(self, text: &str) -> SearchHeadline {
        self.option("StopSel", text.to_owned())
    }

    /// The longest headline, in words (`MaxWords`).
    #[must_use]
    pub fn max_words(self, n: u32) -> SearchHeadline {
        self.option("MaxWords", n.to_string())
    }

    /// The shortest headline, in words (`MinWords`).
    #[must_use]
    pub fn min_words(self, n: u32) -> SearchHeadline {
        self.option("MinWords", n.to_string())
    }

    /// The whole text as the headline (`HighlightAll`).
    #[must_use]
    pub fn highlight_all(self, yes: bool) -> SearchHeadline {
        self.option("HighlightAll", yes.to_string())
    }

    /// At most this many fragments (`MaxFragments`).
    #[must_use]
    pub fn max_fragments(self, n: u32) -> SearchHeadline {
        self.option("MaxFragments", n.to_string())
    }

    /// The text between fragments (`FragmentDelimiter`).
    #[must_use]
    pub fn fragment_delimiter(self, text: &str) -> SearchHeadline {
        self.option("FragmentDelimiter", text.to_owned())
    }
}

impl From<SearchHeadline> for Expr {
    fn from(h: SearchHeadline) -> Expr {
        Expr::Search(Box::new(Search::Headline(h)))
    }
}
