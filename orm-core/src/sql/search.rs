//! Full-text search inside an [`Expr`] and the `search` lookup (Django's
//! `django.contrib.postgres.search`; the data is in `tree.rs`): what each
//! takes, the type of its value, and its SQL, in Django's shapes:
//!
//! - `SearchVector("title", "body")`: `to_tsvector(COALESCE("t"."title", '')
//!   || ' ' || COALESCE("t"."body", ''))`, with a configuration
//!   `to_tsvector('english'::regconfig, ..)`, with a weight
//!   `setweight(.., 'A')`; vectors added: `(v1 || v2)`.
//! - `SearchQuery("red tomato")`: `plainto_tsquery($1)` (`phraseto_tsquery`,
//!   `to_tsquery`, `websearch_to_tsquery` for the other search types);
//!   `(q1 && q2)`, `(q1 || q2)`, `!!(q)`.
//! - `SearchRank(v, q)`: `ts_rank(v, q)`, `ts_rank($1::real[], v, q, $2::integer)`.
//! - `SearchHeadline(e, q)`: `ts_headline(e, q, $1)`.
//! - `body__search = "cheese"`: `to_tsvector(COALESCE("t"."body", '')) @@
//!   plainto_tsquery($1)`.
//!
//! Texts, weights and options are bound parameters. A configuration name
//! is the one thing written into the text, as a quoted literal after a
//! strict check of its form ([`check_config`]): a parameter's type would
//! be `regconfig`, which the binary protocol sends as an OID the client
//! does not know, and a text cast to `regconfig` is not a constant to the
//! planner, so an expression index (`CREATE INDEX .. USING gin
//! (to_tsvector('english'::regconfig, ..))`, written by the same
//! function) would never match the query's expression.

use crate::error::{Error, Result};
use crate::meta::ModelMeta;
use crate::sql::condition::Scope;
use crate::sql::tree::{
    Expr, QueryNode, Search, SearchHeadline, SearchQuery, SearchType, SearchVector,
};
use crate::sql::SqlWriter;
use crate::types::SqlType;
use crate::value::Value;

/// The longest configuration name (PostgreSQL's identifiers: 63 bytes,
/// twice with a schema).
const MAX_CONFIG: usize = 127;

/// Checks a text search configuration name: `english`, `pg_catalog.simple`
/// (lower-case letters, digits and `_`, not starting with a digit, with at
/// most one schema).
///
/// # Errors
/// A description of the form a name must have.
pub(crate) fn check_config(name: &str) -> std::result::Result<(), String> {
    let ok = name.len() <= MAX_CONFIG && orm_names::is_plain_name(name);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a text search configuration name: expected lower-case letters, \
             digits and `_` ([a-z_][a-z0-9_]*), optionally after a schema and `.` \
             (`english`, `pg_catalog.simple`)",
            crate::meta::shown(name)
        ))
    }
}

/// `'english'::regconfig` (checked by [`check_config`]).
pub(crate) fn push_config(w: &mut SqlWriter, name: &str) {
    w.push_literal(name);
    w.push_sql("::regconfig");
}

/// `to_tsvector([config, ]COALESCE(a, '') || ' ' || COALESCE(b, ''))`,
/// each item written by `item` (a column, or an expression). Shared by
/// queries and index DDL, so the two are the same expression.
pub(crate) fn push_to_tsvector<T>(
    w: &mut SqlWriter,
    config: Option<&str>,
    items: &[T],
    item: &mut dyn FnMut(&mut SqlWriter, &T),
) {
    w.push_sql("to_tsvector(");
    if let Some(config) = config {
        push_config(w, config);
        w.push_sql(", ");
    }
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            w.push_sql(" || ' ' || ");
        }
        w.push_sql("COALESCE(");
        item(w, it);
        w.push_sql(", '')");
    }
    w.push_sql(")");
}

fn invalid(meta: &ModelMeta, reason: String) -> Error {
    Error::from(crate::error::QueryError {
        model: meta.name,
        reason,
    })
}

impl SearchType {
    /// The search type named as Django names it: `plain`, `phrase`, `raw`,
    /// `websearch`.
    pub fn from_name(name: &str) -> Option<SearchType> {
        Some(match name {
            "plain" => SearchType::Plain,
            "phrase" => SearchType::Phrase,
            "raw" => SearchType::Raw,
            "websearch" => SearchType::Websearch,
            _ => return None,
        })
    }

    fn function(self) -> &'static str {
        match self {
            SearchType::Plain => "plainto_tsquery(",
            SearchType::Phrase => "phraseto_tsquery(",
            SearchType::Raw => "to_tsquery(",
            SearchType::Websearch => "websearch_to_tsquery(",
        }
    }
}

impl QueryNode {
    fn leaves(&self) -> Vec<&QueryNode> {
        match self {
            QueryNode::Leaf { .. } => vec![self],
            QueryNode::And(a, b) | QueryNode::Or(a, b) => {
                let mut out = a.leaves();
                out.extend(b.leaves());
                out
            }
            QueryNode::Not(n) => n.leaves(),
        }
    }

    fn push(&self, w: &mut SqlWriter) {
        match self {
            QueryNode::Leaf { text, kind, config } => {
                w.push_sql(kind.function());
                if let Some(config) = config {
                    push_config(w, config);
                    w.push_sql(", ");
                }
                w.push_bind(text.clone());
                w.push_sql(")");
            }
            QueryNode::And(a, b) | QueryNode::Or(a, b) => {
                w.push_sql("(");
                a.push(w);
                w.push_sql(if matches!(self, QueryNode::And(..)) {
                    " && "
                } else {
                    " || "
                });
                b.push(w);
                w.push_sql(")");
            }
            QueryNode::Not(n) => {
                w.push_sql("!!(");
                n.push(w);
                w.push_sql(")");
            }
        }
    }
}

impl SearchQuery {
    /// The configuration of the query (its first text's), which the
    /// `search` lookup gives the field's vector, as Django's `SearchLookup`.
    pub(crate) fn config_name(&self) -> Option<&str> {
        match self.node.leaves().first() {
            Some(QueryNode::Leaf { config, .. }) => config.as_deref(),
            _ => None,
        }
    }

    /// The problem found when it was built, if any.
    pub(crate) fn problem(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// True when a text of the query holds a NUL.
    pub(crate) fn has_nul(&self) -> bool {
        self.node.leaves().iter().any(|l| match l {
            QueryNode::Leaf { text, .. } => text.has_nul(),
            _ => false,
        })
    }

    /// Renders the `tsquery`.
    pub(crate) fn push_sql(&self, w: &mut SqlWriter) {
        self.node.push(w);
    }
}

impl SearchQuery {
    /// The `search` lookup on a text column written by `col`:
    /// `to_tsvector([config, ]COALESCE(col, '')) @@ <query>`.
    pub(crate) fn push_lookup(&self, w: &mut SqlWriter, col: &dyn Fn(&mut SqlWriter)) {
        push_to_tsvector(w, self.config_name(), &[()], &mut |w, _| col(w));
        w.push_sql(" @@ ");
        self.push_sql(w);
    }
}

impl SearchVector {
    fn check(
        &self,
        meta: &'static ModelMeta,
        arg: &dyn Fn(&Expr) -> Result<Option<SqlType>>,
    ) -> Result<()> {
        if let Some(error) = &self.error {
            return Err(invalid(meta, error.clone()));
        }
        for part in &self.parts {
            if part.exprs.is_empty() {
                return Err(invalid(
                    meta,
                    "SearchVector() needs at least one field".into(),
                ));
            }
            for e in &part.exprs {
                arg(e)?;
            }
        }
        Ok(())
    }

    fn has_nul(&self) -> bool {
        self.parts.iter().any(|p| p.exprs.iter().any(Expr::has_nul))
    }

    /// `to_tsvector(..)`, `setweight(to_tsvector(..), 'A')`, and `(v1 ||
    /// v2)` for vectors added together.
    pub(crate) fn push_sql(
        &self,
        w: &mut SqlWriter,
        scope: Scope<'_>,
        arg_type: &dyn Fn(&Expr) -> Option<SqlType>,
    ) {
        let many = self.parts.len() > 1;
        if many {
            w.push_sql("(");
        }
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                w.push_sql(" || ");
            }
            if part.weight.is_some() {
                w.push_sql("setweight(");
            }
            push_to_tsvector(w, part.config.as_deref(), &part.exprs, &mut |w, e| {
                push_as_text(w, scope, e, arg_type(e))
            });
            if let Some(weight) = part.weight {
                w.push_sql(", ");
                // One of A, B, C, D (checked when it was set).
                w.push_literal(weight.encode_utf8(&mut [0; 4]));
                w.push_sql(")");
            }
        }
        if many {
            w.push_sql(")");
        }
    }
}

/// An expression as text: as it is when it is text (Django's `Coalesce` of
/// a `CharField`/`TextField`), else `(expr)::text`.
fn push_as_text(w: &mut SqlWriter, scope: Scope<'_>, e: &Expr, ty: Option<SqlType>) {
    match e {
        Expr::Value(v) => {
            w.push_bind(v.clone());
            w.push_sql("::text");
        }
        e if ty.is_some_and(|t| t.is_text()) => e.push_sql(w, scope),
        e => {
            w.push_sql("(");
            e.push_sql(w, scope);
            w.push_sql(")::text");
        }
    }
}

impl Search {
    /// True when a value of the expression is text with a NUL character.
    pub(crate) fn has_nul(&self) -> bool {
        match self {
            Search::Vector(v) => v.has_nul(),
            Search::Query(q) => q.has_nul(),
            Search::Rank(r) => r.vector.has_nul() || r.query.has_nul(),
            Search::Headline(h) => {
                h.expr.has_nul()
                    || h.query.has_nul()
                    || h.options.iter().any(|(_, v)| v.contains('\0'))
            }
        }
    }

    /// Checks the parts and returns the type of the value.
    pub(crate) fn result_type(
        &self,
        meta: &'static ModelMeta,
        arg: &dyn Fn(&Expr) -> Result<Option<SqlType>>,
    ) -> Result<Option<SqlType>> {
        let query = |q: &SearchQuery| match &q.error {
            Some(e) => Err(invalid(meta, e.clone())),
            None => Ok(()),
        };
        Ok(Some(match self {
            Search::Vector(v) => {
                v.check(meta, arg)?;
                SqlType::TsVector
            }
            Search::Query(q) => {
                query(q)?;
                return Err(invalid(
                    meta,
                    "a SearchQuery is the value of a `search` lookup or of a filter on a \
                     SearchVector annotation (HavingQ::search), or part of a SearchRank; \
                     it is not a value to annotate"
                        .into(),
                ));
            }
            Search::Rank(r) => {
                r.vector.check(meta, arg)?;
                query(&r.query)?;
                SqlType::Real
            }
            Search::Headline(h) => {
                if let Some(e) = &h.error {
                    return Err(invalid(meta, e.clone()));
                }
                query(&h.query)?;
                if let Some(ty) = arg(&h.expr)? {
                    if !ty.is_text() {
                        return Err(invalid(
                            meta,
                            format!("SearchHeadline() takes text, not {}", ty.name()),
                        ));
                    }
                }
                SqlType::Text
            }
        }))
    }

    /// Renders the expression; `arg_type` is each field's checked type.
    pub(crate) fn push_sql(
        &self,
        w: &mut SqlWriter,
        scope: Scope<'_>,
        arg_type: &dyn Fn(&Expr) -> Option<SqlType>,
    ) {
        match self {
            Search::Vector(v) => v.push_sql(w, scope, arg_type),
            Search::Query(q) => q.push_sql(w),
            Search::Rank(r) => {
                w.push_sql(if r.cover_density {
                    "ts_rank_cd("
                } else {
                    "ts_rank("
                });
                if let Some(weights) = r.weights {
                    w.push_bind(Value::Array(
                        weights.iter().map(|f| Value::F32(Some(*f))).collect(),
                    ));
                    w.push_sql("::real[], ");
                }
                r.vector.push_sql(w, scope, arg_type);
                w.push_sql(", ");
                r.query.push_sql(w);
                if let Some(n) = r.normalization {
                    w.push_sql(", ");
                    w.push_bind(Value::I32(Some(n)));
                    w.push_sql("::integer");
                }
                w.push_sql(")");
            }
            Search::Headline(h) => push_headline(w, scope, h, arg_type),
        }
    }
}

/// `ts_headline([config, ]expr, query[, $options])`, the options one text
/// (`StartSel='<b>', MaxWords='10'`, as Django quotes them).
fn push_headline(
    w: &mut SqlWriter,
    scope: Scope<'_>,
    h: &SearchHeadline,
    arg_type: &dyn Fn(&Expr) -> Option<SqlType>,
) {
    w.push_sql("ts_headline(");
    if let Some(config) = &h.config {
        push_config(w, config);
        w.push_sql(", ");
    }
    push_as_text(w, scope, &h.expr, arg_type(&h.expr));
    w.push_sql(", ");
    h.query.push_sql(w);
    if !h.options.is_empty() {
        let text = h
            .options
            .iter()
            .map(|(k, v)| format!("{k}='{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        w.push_sql(", ");
        w.push_bind(Value::Text(Some(text)));
    }
    w.push_sql(")");
}
