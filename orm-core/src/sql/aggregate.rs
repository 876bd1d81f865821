//! Aggregates as SQL: `COUNT`, `SUM`, `AVG`, `MIN`, `MAX`, `STDDEV_*`,
//! `VAR_*`, `BOOL_AND`, `BOOL_OR`, `STRING_AGG`, `ARRAY_AGG`, `JSONB_AGG`
//! over a model's rows or across relations ([`Resolved`], which the query
//! chain resolves from an `Aggregate`), with `DISTINCT`, `ORDER BY`,
//! `FILTER (WHERE ..)` and a `COALESCE` default, and the `SELECT` of
//! `aggregate()`.

use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::{Hop, RelationMeta};
use crate::sql::condition::{push_node, Scope};
use crate::sql::joins::{push_join_target, push_link_source_tenant};
use crate::sql::statements::{push_select, push_where, Select};
pub(crate) use crate::sql::tree::Function;
use crate::sql::tree::Node;
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;

impl Function {
    /// The name Django gives the result (`views__stddev`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::Sum => "sum",
            Function::Avg => "avg",
            Function::Min => "min",
            Function::Max => "max",
            Function::StdDev { .. } => "stddev",
            Function::Variance { .. } => "variance",
            Function::BoolAnd => "booland",
            Function::BoolOr => "boolor",
            Function::StringAgg => "stringagg",
            Function::ArrayAgg => "arrayagg",
            Function::JsonbAgg => "jsonbagg",
        }
    }

    /// The SQL function.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Function::Count => "COUNT",
            Function::Sum => "SUM",
            Function::Avg => "AVG",
            Function::Min => "MIN",
            Function::Max => "MAX",
            Function::StdDev { sample: false } => "STDDEV_POP",
            Function::StdDev { sample: true } => "STDDEV_SAMP",
            Function::Variance { sample: false } => "VAR_POP",
            Function::Variance { sample: true } => "VAR_SAMP",
            Function::BoolAnd => "BOOL_AND",
            Function::BoolOr => "BOOL_OR",
            Function::StringAgg => "STRING_AGG",
            Function::ArrayAgg => "ARRAY_AGG",
            Function::JsonbAgg => "JSONB_AGG",
        }
    }

    /// The name of the constructor, for error messages (`JSONBAgg`).
    pub(crate) fn title(self) -> &'static str {
        match self {
            Function::Count => "Count",
            Function::Sum => "Sum",
            Function::Avg => "Avg",
            Function::Min => "Min",
            Function::Max => "Max",
            Function::StdDev { .. } => "StdDev",
            Function::Variance { .. } => "Variance",
            Function::BoolAnd => "BoolAnd",
            Function::BoolOr => "BoolOr",
            Function::StringAgg => "StringAgg",
            Function::ArrayAgg => "ArrayAgg",
            Function::JsonbAgg => "JSONBAgg",
        }
    }

    /// Whether `distinct()` applies, as Django's `allow_distinct`: `Count`,
    /// `Sum`, `Avg` and the three collecting aggregates. `MIN`/`MAX` and
    /// `BOOL_AND`/`BOOL_OR` give the same answer with or without it, and
    /// Django refuses it for `StdDev`/`Variance` too.
    pub(crate) fn allows_distinct(self) -> bool {
        matches!(
            self,
            Function::Count
                | Function::Sum
                | Function::Avg
                | Function::StringAgg
                | Function::ArrayAgg
                | Function::JsonbAgg
        )
    }

    /// Whether `ordering()` applies (Django's `OrderableAggMixin`).
    pub(crate) fn allows_ordering(self) -> bool {
        matches!(
            self,
            Function::StringAgg | Function::ArrayAgg | Function::JsonbAgg
        )
    }

    /// Whether the result is read as a double, whatever the field
    /// (PostgreSQL gives `numeric` for integers).
    fn as_double(self) -> bool {
        matches!(
            self,
            Function::Avg | Function::StdDev { .. } | Function::Variance { .. }
        )
    }
}

/// An aggregate resolved against a model: the relations to cross (none for
/// the model's own fields), the aggregated field (none: `*`), the result type.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub function: Function,
    pub distinct: bool,
    /// The value over no rows instead of NULL (`COALESCE`).
    pub default: Option<crate::value::Value>,
    /// Its name in the result (`views__sum`, or the alias).
    pub name: String,
    pub hops: Vec<Hop>,
    /// The relation of each hop (for the rows `filter` and `ordering` name).
    pub rels: Vec<&'static RelationMeta>,
    pub field: Option<&'static FieldMeta>,
    pub ty: SqlType,
    /// `FILTER (WHERE ..)`: a simplified condition on the queried model,
    /// not [`Node::All`] (no filter is `None`).
    pub filter: Option<Box<Node>>,
    /// `ORDER BY` inside the call: the level of each field's row (0: the
    /// queried row, `k`: the row `rels[k - 1]` reaches), the field, and
    /// whether descending.
    pub ordering: Vec<(usize, &'static FieldMeta, bool)>,
    /// The bound delimiter of `STRING_AGG`.
    pub delimiter: Option<crate::value::Value>,
}

/// The rows an aggregate's call may name: the queried row (`outer`, of
/// model `meta`) and the rows its relations reach, `reached[k - 1]` for the
/// row after `k` relations (none outside a subquery across relations).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub outer: &'a str,
    pub meta: &'static ModelMeta,
    pub reached: &'a [(&'static RelationMeta, &'a str)],
}

impl<'a> Rows<'a> {
    /// The queried rows only, by the alias `outer`.
    pub(crate) fn of(outer: &'a str, meta: &'static ModelMeta) -> Self {
        Rows {
            outer,
            meta,
            reached: &[],
        }
    }

    /// The alias of the row at `level`.
    fn alias(&self, level: usize) -> &'a str {
        match level.checked_sub(1).and_then(|i| self.reached.get(i)) {
            Some((_, alias)) => alias,
            None => self.outer,
        }
    }
}

impl Resolved {
    /// `COUNT(DISTINCT "t"."c")`, `SUM("t"."c") FILTER (WHERE ..)::bigint`,
    /// `STRING_AGG("t"."c", $1 ORDER BY "t"."d" DESC)`, ... over `rows`:
    /// the aggregated column is on the row its relations reach.
    pub(crate) fn push_call(&self, w: &mut SqlWriter, rows: Rows<'_>) {
        let (field, ty) = (self.field, self.ty);
        let table = rows.alias(self.hops.len());
        if self.default.is_some() {
            w.push_sql("COALESCE(");
        }
        w.push_sql(self.function.sql());
        w.push_sql("(");
        if self.distinct {
            w.push_sql("DISTINCT ");
        }
        match field {
            Some(f) => w.push_column(table, f.column),
            None => w.push_sql("*"),
        }
        if let Some(delimiter) = &self.delimiter {
            w.push_sql(", ");
            w.push_bind(delimiter.clone());
        }
        if !self.ordering.is_empty() {
            w.push_sql(" ORDER BY ");
            w.push_list(&self.ordering, ", ", |w, (level, f, desc)| {
                w.push_column(rows.alias(*level), f.column);
                if *desc {
                    w.push_sql(" DESC");
                }
            });
        }
        w.push_sql(")");
        if let Some(filter) = &self.filter {
            // The condition is on the queried row; lookups along the
            // aggregate's own relations name the rows the call reads.
            let scope = Scope {
                alias: rows.outer,
                meta: rows.meta,
                row: (rows.outer, rows.meta),
                reached: rows.reached,
                ..Scope::root(rows.meta)
            };
            w.push_sql(" FILTER (WHERE ");
            push_node(w, scope, filter, false);
            w.push_sql(")");
        }
        match (self.function, ty) {
            (Function::Sum, SqlType::BigInt) => w.push_sql("::bigint"),
            (Function::Sum, SqlType::Double) => w.push_sql("::double precision"),
            (f, SqlType::Double) if f.as_double() => w.push_sql("::double precision"),
            _ => {}
        }
        if let Some(default) = &self.default {
            w.push_sql(", ");
            w.push_bind(default.clone());
            w.push_sql(")");
        }
    }
}

/// `SELECT <aggregates> FROM ..`; over a subquery when sliced or distinct.
/// When an aggregate crosses a relation, the matching rows become a CTE
/// and each aggregate a scalar subquery over it, so aggregates over
/// different relations never inflate each other (nor the model's own):
/// `WITH "orm_base" AS (SELECT .. WHERE ..) SELECT (SELECT SUM("orm_base"."karma")
/// FROM "orm_base") AS .., (SELECT COUNT("A1"."id") FROM "orm_base" JOIN "posts"
/// AS "A1" ON ..) AS ..` (the CTE's name is unlikely to shadow a model table).
pub(crate) fn aggregate(s: &Select<'_>, items: &[Resolved]) -> Statement {
    let mut w = SqlWriter::new();
    let inner = Select {
        joins: &[],
        lock: None,
        columns: None,
        distinct_on: &[],
        ..*s
    };
    if items.iter().any(|r| !r.hops.is_empty()) {
        w.push_sql("WITH \"orm_base\" AS (");
        push_select(&mut w, &inner);
        w.push_sql(") SELECT ");
        w.push_list(items, ", ", |w, r| {
            push_aggregate_over(w, "orm_base", s.meta, r, false);
            w.push_sql(" AS ");
            w.push_ident(&r.name);
        });
        return w.finish();
    }
    let sub = s.limit.is_some() || s.offset.is_some() || s.distinct;
    let table = if sub { "subquery" } else { s.meta.table };
    w.push_sql("SELECT ");
    w.push_list(items, ", ", |w, r| {
        r.push_call(w, Rows::of(table, s.meta));
        w.push_sql(" AS ");
        w.push_ident(&r.name);
    });
    w.push_sql(" FROM ");
    if sub {
        w.push_sql("(");
        push_select(&mut w, &inner);
        w.push_sql(") AS \"subquery\"");
    } else {
        w.push_ident(s.meta.table);
        push_where(&mut w, s.meta, s.filter);
    }
    w.finish()
}

/// An aggregate over the rows reached from `outer` (a table or alias of
/// model `outer_meta`) through `r.hops`, as a scalar subquery:
///
/// - `correlated`, per row of the enclosing query (`annotate`):
///   `(SELECT COUNT("A1"."id") FROM "posts" AS "A1" WHERE "A1"."author_id" = "users"."id")`;
/// - otherwise over every row of `outer` (`aggregate` over a CTE):
///   `(SELECT SUM("A1"."views") FROM "orm_base" JOIN "posts" AS "A1" ON "A1"."author_id" = "orm_base"."id")`.
pub(crate) fn push_aggregate_over(
    w: &mut SqlWriter,
    outer: &str,
    outer_meta: &'static ModelMeta,
    r: &Resolved,
    correlated: bool,
) {
    let alias = |i: usize| format!("A{}", i + 1);
    w.push_sql("(SELECT ");
    let aliases: Vec<String> = (0..r.hops.len()).map(alias).collect();
    let reached: Vec<(&'static RelationMeta, &str)> = r
        .rels
        .iter()
        .zip(&aliases)
        .map(|(rel, alias)| (*rel, alias.as_str()))
        .collect();
    r.push_call(
        w,
        Rows {
            outer,
            meta: outer_meta,
            reached: &reached,
        },
    );
    w.push_sql(" FROM ");
    if !correlated {
        w.push_ident(outer);
    }
    let mut correlation: Option<(String, &'static str, &'static str)> = None;
    // A soft delete model's rows count when live: the first table's
    // condition goes in the `WHERE`, the others' in their `ON`.
    let mut first_live: Option<(&'static ModelMeta, String)> = None;
    let mut first_tenant: Option<(Option<crate::relation::HopTenant>, String, String)> = None;
    for (i, hop) in r.hops.iter().enumerate() {
        let this = alias(i);
        let prev = if i == 0 {
            outer.to_owned()
        } else {
            alias(i - 1)
        };
        let prev_pk = if i == 0 {
            outer_meta.pk_field().column
        } else {
            r.hops[i - 1].target().pk_field().column
        };
        // The first table of a correlated subquery is joined by its WHERE.
        let joined = i > 0 || !correlated;
        let hop_correlation = match hop {
            Hop::Key {
                target,
                target_col,
                source_col,
            } => {
                let on = push_hop_table(
                    w,
                    target.table,
                    &this,
                    joined,
                    (target_col, &prev, source_col),
                );
                match on {
                    Some(_) => first_live = Some((*target, this.clone())),
                    None => crate::soft_delete::scope::push_live(w, target, &this),
                }
                on
            }
            Hop::Through {
                target,
                through,
                source_col,
                target_col,
                tenant,
            } => {
                let link = format!("{this}_link");
                let on = push_hop_table(w, through, &link, joined, (source_col, &prev, prev_pk));
                match on {
                    // The link's tenant, with the correlation in the WHERE.
                    Some(_) => first_tenant = Some((*tenant, link.clone(), prev.clone())),
                    None => push_link_source_tenant(w, *tenant, &link, &prev),
                }
                push_join_target(w, target, (&this, &link, target_col), *tenant);
                crate::soft_delete::scope::push_live(w, target, &this);
                on
            }
        };
        if hop_correlation.is_some() {
            correlation = hop_correlation;
        }
    }
    if let Some((table, inner_col, outer_col)) = correlation {
        w.push_sql(" WHERE ");
        w.push_column(&table, inner_col);
        w.push_sql(" = ");
        w.push_column(outer, outer_col);
        if let Some((meta, alias)) = &first_live {
            crate::soft_delete::scope::push_live(w, meta, alias);
        }
        if let Some((tenant, link, source)) = &first_tenant {
            push_link_source_tenant(w, *tenant, link, source);
        }
    }
    w.push_sql(")");
}

/// One table of an aggregate's path: ` JOIN "table" AS "alias" ON
/// "alias"."col" = "prev"."prev_col"`, or, for the first table of a
/// correlated subquery, `"table" AS "alias"` and its condition handed
/// back, for the subquery's `WHERE`.
fn push_hop_table(
    w: &mut SqlWriter,
    table: &str,
    alias: &str,
    joined: bool,
    (col, prev, prev_col): (&'static str, &str, &'static str),
) -> Option<(String, &'static str, &'static str)> {
    if joined {
        w.push_sql(" JOIN ");
    }
    w.push_ident(table);
    w.push_sql(" AS ");
    w.push_ident(alias);
    if !joined {
        return Some((alias.to_owned(), col, prev_col));
    }
    w.push_sql(" ON ");
    w.push_column(alias, col);
    w.push_sql(" = ");
    w.push_column(prev, prev_col);
    None
}
