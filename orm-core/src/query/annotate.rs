//! `annotate(..)` on model rows: per-row aggregates across relations
//! (`Count("posts")`, `Sum("posts__views")`), each a correlated scalar
//! subquery, so two counts over different relations never inflate each
//! other (Django's joins do, unless `distinct=True`).

use std::future::{Future, IntoFuture};
use std::ops::Deref;
use std::pin::Pin;

use crate::db;
use crate::error::{Error, Result};
use crate::model::{FieldMeta, Model, ModelMeta};
use crate::query::q::Node;
use crate::query::values::{Aggregate, Record};
use crate::query::values_query::{push_order_and_slice, split_lookup};
use crate::query::QuerySet;
use crate::relation::Hop;
use crate::sql::condition::{push_join_target, push_node, Scope};
use crate::sql::SqlWriter;
use crate::types::{FieldType, SqlType};
use crate::value::Value;

/// A model row with the values `annotate` computed for it; dereferences to
/// the model.
#[derive(Debug, Clone)]
pub struct Annotated<M> {
    object: M,
    values: Record,
}

impl<M> Deref for Annotated<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.object
    }
}

impl<M> Annotated<M> {
    /// The annotation called `name` as `T` (`i64` for counts).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an unknown name or a different type.
    pub fn get<T: FieldType>(&self, name: &str) -> Result<T> {
        self.values.get(name)
    }

    /// The row itself.
    pub fn into_inner(self) -> M {
        self.object
    }
}

/// A query of model rows with annotations; see [`QuerySet::annotate`].
pub struct AnnotatedQuery<M> {
    qs: QuerySet<M>,
    aggregates: Vec<Aggregate>,
    filters: Vec<(String, Value)>,
    order: Option<Vec<String>>,
}

/// One annotation, resolved: the hops to the related rows, the aggregated
/// column (none: count the rows), the result type.
struct Resolved<'a> {
    agg: &'a Aggregate,
    hops: Vec<Hop>,
    field: Option<&'static FieldMeta>,
    ty: SqlType,
}

fn resolve<'a>(meta: &'static ModelMeta, agg: &'a Aggregate) -> Result<Resolved<'a>> {
    let segments: Vec<&str> = agg.field.split("__").collect();
    let mut model = meta;
    let mut hops = Vec::new();
    let mut field = None;
    for (i, name) in segments.iter().enumerate() {
        if let Some(rel) = model.relation(name) {
            hops.push(rel.hop()?);
            model = rel.target.meta();
            continue;
        }
        match model.field(name) {
            Some(f) if i == segments.len() - 1 && !hops.is_empty() => field = Some(f),
            Some(_) if hops.is_empty() => break,
            _ => {
                return Err(Error::InvalidLookup {
                    model: model.name,
                    what: if hops.is_empty() { "relation" } else { "field" },
                    name: (*name).to_owned(),
                    valid: if hops.is_empty() {
                        model.relations.iter().map(|r| r.name.to_owned()).collect()
                    } else {
                        model.field_names()
                    },
                })
            }
        }
    }
    if hops.is_empty() {
        return Err(Error::InvalidQuery {
            model: meta.name,
            reason: format!(
                "annotate({}) needs a relation (e.g. Count(\"posts\")); aggregate this model's own fields with aggregate() or values().annotate()",
                agg.field
            ),
        });
    }
    let ty = agg.result_type(model, field.or(Some(model.pk_field())))?;
    Ok(Resolved {
        agg,
        hops,
        field,
        ty,
    })
}

/// `(SELECT COUNT("A1"."id") FROM "posts" AS "A1" WHERE "A1"."author_id" = "users"."id")`
fn push_annotation(w: &mut SqlWriter, outer: &ModelMeta, r: &Resolved<'_>) {
    let alias = |i: usize| format!("A{}", i + 1);
    w.push_sql("(SELECT ");
    let last = alias(r.hops.len() - 1);
    let last_model = r.hops[r.hops.len() - 1].target();
    let counted = r.field.unwrap_or(last_model.pk_field());
    r.agg.push_sql(w, &last, Some(counted), r.ty);
    w.push_sql(" FROM ");
    let mut correlation: Option<(String, &'static str, &'static str)> = None;
    for (i, hop) in r.hops.iter().enumerate() {
        let this = alias(i);
        let prev = if i == 0 {
            outer.table.to_owned()
        } else {
            alias(i - 1)
        };
        let prev_pk = if i == 0 {
            outer.pk_field().column
        } else {
            r.hops[i - 1].target().pk_field().column
        };
        match hop {
            Hop::Key {
                target,
                target_col,
                source_col,
            } => {
                if i > 0 {
                    w.push_sql(" JOIN ");
                }
                w.push_ident(target.table);
                w.push_sql(" AS ");
                w.push_ident(&this);
                if i == 0 {
                    correlation = Some((this.clone(), target_col, source_col));
                } else {
                    w.push_sql(" ON ");
                    w.push_column(&this, target_col);
                    w.push_sql(" = ");
                    w.push_column(&prev, source_col);
                }
            }
            Hop::Through {
                target,
                through,
                source_col,
                target_col,
            } => {
                let link = format!("{this}_link");
                if i > 0 {
                    w.push_sql(" JOIN ");
                }
                w.push_ident(through);
                w.push_sql(" AS ");
                w.push_ident(&link);
                if i == 0 {
                    correlation = Some((link.clone(), source_col, prev_pk));
                } else {
                    w.push_sql(" ON ");
                    w.push_column(&link, source_col);
                    w.push_sql(" = ");
                    w.push_column(&prev, prev_pk);
                }
                push_join_target(w, target, &this, &link, target_col);
            }
        }
    }
    if let Some((table, inner_col, outer_col)) = correlation {
        w.push_sql(" WHERE ");
        w.push_column(&table, inner_col);
        w.push_sql(" = ");
        w.push_column(outer.table, outer_col);
    }
    w.push_sql(")");
}

impl<M: Model> QuerySet<M> {
    /// Adds per-row aggregates across relations, as Django's `annotate`:
    /// `User::all().annotate([Count("posts")])`, read with
    /// `row.get::<i64>("posts__count")`. Filter on them with
    /// [`AnnotatedQuery::filter`] and order with their names.
    ///
    /// Each is a correlated subquery: two counts over different relations
    /// are each right (Django inflates them through its joins unless
    /// `distinct=True`: a deliberate difference).
    pub fn annotate(self, aggregates: impl IntoIterator<Item = Aggregate>) -> AnnotatedQuery<M> {
        AnnotatedQuery {
            qs: self,
            aggregates: aggregates.into_iter().collect(),
            filters: Vec::new(),
            order: None,
        }
    }
}

impl<M: Model> AnnotatedQuery<M> {
    /// Keeps the rows whose annotation matches: `"posts__count__gte"`,
    /// or a bare name for equality.
    #[must_use]
    pub fn filter(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.filters.push((key.to_owned(), value.into()));
        self
    }

    /// Orders by fields or annotation names (`"-posts__count"`).
    #[must_use]
    pub fn order_by<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.order = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Runs the query.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] / [`Error::InvalidQuery`] for an unknown
    /// relation, field or annotation; database errors.
    pub async fn fetch(self) -> Result<Vec<Annotated<M>>> {
        let meta = M::META;
        let resolved: Vec<Resolved<'_>> = self
            .aggregates
            .iter()
            .map(|a| resolve(meta, a))
            .collect::<Result<_>>()?;
        for r in &resolved {
            if meta.field(&r.agg.name()).is_some() {
                return Err(Error::InvalidQuery {
                    model: meta.name,
                    reason: format!(
                        "the annotation `{}` has the name of a field of {}; give it another with .alias(..)",
                        r.agg.name(),
                        meta.name
                    ),
                });
            }
        }
        let filter = self.qs.filter.simplify();
        filter.check_relations()?;
        filter.check_exprs(meta)?;
        if matches!(filter, Node::Nothing) || self.qs.limit == Some(0) {
            return Ok(Vec::new());
        }
        let find = |name: &str| resolved.iter().find(|r| r.agg.name() == name);
        let names = || resolved.iter().map(|r| r.agg.name()).collect::<Vec<_>>();
        let mut w = SqlWriter::new();
        w.push_sql("SELECT ");
        w.push_sql(M::statements().columns(meta));
        for r in &resolved {
            w.push_sql(", ");
            push_annotation(&mut w, meta, r);
            w.push_sql(" AS ");
            w.push_ident(&r.agg.name());
        }
        w.push_sql(" FROM ");
        w.push_ident(meta.table);
        let mut conditions = 0;
        if !matches!(filter, Node::All) {
            w.push_sql(" WHERE ");
            push_node(&mut w, Scope::root(meta), &filter, false);
            conditions += 1;
        }
        for (key, value) in &self.filters {
            let (name, op) = split_lookup(key);
            let Some(r) = find(name) else {
                return Err(Error::InvalidLookup {
                    model: meta.name,
                    what: "annotation",
                    name: name.to_owned(),
                    valid: names(),
                });
            };
            w.push_sql(if conditions == 0 { " WHERE " } else { " AND " });
            push_annotation(&mut w, meta, r);
            w.push_sql(op);
            w.push_bind(value.clone());
            conditions += 1;
        }
        push_order_and_slice(
            &mut w,
            &self.qs,
            self.order.as_deref(),
            &names(),
            "field or annotation",
        )?;
        let stmt = w.finish();
        let db = db::resolve(self.qs.db.as_ref())?;
        let width = meta.fields.len();
        let types: Vec<(String, SqlType)> = resolved.iter().map(|r| (r.agg.name(), r.ty)).collect();
        db.load_with(&stmt.sql, stmt.binds.iter(), |row| {
            let object = M::from_row(row, 0)?;
            let mut values = Vec::with_capacity(types.len());
            for (i, (name, ty)) in types.iter().enumerate() {
                values.push((name.clone(), Value::read(row, width + i, *ty)?));
            }
            Ok(Annotated {
                object,
                values: Record::new(values),
            })
        })
        .await
    }
}

impl<M: Model> IntoFuture for AnnotatedQuery<M> {
    type Output = Result<Vec<Annotated<M>>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.fetch())
    }
}
