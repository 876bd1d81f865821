//! The data a query is made of, which the query chain builds and the rest
//! of `sql/` checks and writes: the condition tree of a filter ([`Node`]:
//! leaves of one lookup on one field, `AND`, `OR`, `NOT`, `EXISTS`), an
//! `UPDATE`'s assignments ([`Set`]), subqueries ([`Subquery`]), the
//! expressions of filters, updates, annotations and orderings ([`Expr`]:
//! `F`, arithmetic, database functions, `Case`, windows) and `ORDER BY`
//! terms ([`Sort`]). They hold each other (an expression holds a
//! subquery, whose filter holds expressions), so they live in one file;
//! `expr.rs` and `functions.rs` check them, `condition.rs` writes them.

pub(crate) use orm_names::Transform;

use std::ops::{Add, Div, Mul, Sub};
use std::sync::Arc;

use crate::meta::{FieldMeta, ModelMeta};
use crate::relation::{RelationKind, RelationMeta};
use crate::sql::joins::ColumnRef;
use crate::types::SqlType;
use crate::value::Value;

/// How deep a lookup may reach across relations (`a__b__c__d__field`).
pub(crate) const MAX_DEPTH: usize = 4;

/// The relations a lookup crosses, from the queried model to the field's.
#[derive(Clone, Copy, PartialEq, Default)]
pub(crate) struct RelPath {
    steps: [Option<&'static RelationMeta>; MAX_DEPTH],
    len: u8,
}

impl std::fmt::Debug for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.steps()).finish()
    }
}

impl RelPath {
    /// No relation: a field of the queried model.
    pub(crate) const EMPTY: RelPath = RelPath {
        steps: [None; MAX_DEPTH],
        len: 0,
    };

    /// The steps, in order.
    pub(crate) fn steps(&self) -> impl Iterator<Item = &'static RelationMeta> + '_ {
        self.steps[..usize::from(self.len)]
            .iter()
            .flatten()
            .copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn first(&self) -> Option<&'static RelationMeta> {
        self.steps[0].filter(|_| self.len > 0)
    }

    pub(crate) fn last(&self) -> Option<&'static RelationMeta> {
        self.len
            .checked_sub(1)
            .and_then(|i| self.steps[usize::from(i)])
    }

    /// The path one step longer (a path past [`MAX_DEPTH`] keeps its last
    /// step replaced; `q!` rejects such paths at compile time).
    pub(crate) fn push(mut self, step: &'static RelationMeta) -> Self {
        let i = usize::from(self.len).min(MAX_DEPTH - 1);
        self.steps[i] = Some(step);
        self.len = (i + 1) as u8;
        self
    }

    pub(crate) fn pop(mut self) -> Self {
        if self.len > 0 {
            self.len -= 1;
            self.steps[usize::from(self.len)] = None;
        }
        self
    }

    /// The path without its first step.
    pub(crate) fn rest(&self) -> Self {
        let mut out = RelPath::EMPTY;
        for step in self.steps().skip(1) {
            out = out.push(step);
        }
        out
    }
}

/// A condition tree node. Constant nodes (`All`, `Nothing`) let an empty
/// `in` list match nothing without sending a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Matches every row (Django's empty `Q()`).
    All,
    /// Matches no row (an empty `__in`).
    Nothing,
    Leaf(Cond),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `EXISTS (SELECT 1 FROM ..)`, correlated through `OuterRef`.
    Exists(Box<Subquery>),
    /// One `filter(..)` (`same_row`) or `exclude(..)` call. Inside a
    /// `filter` call, conditions across the same relation must hold for the
    /// same related row; separate calls may each match a different one.
    Call {
        node: Box<Node>,
        same_row: bool,
    },
}

/// One lookup on one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
    pub path: RelPath,
    pub field: &'static FieldMeta,
    pub op: Op,
}

/// Where a `LIKE` pattern is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Like {
    Contains,
    StartsWith,
    EndsWith,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A lookup with its operand(s).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// `=` (a NULL operand is turned into `IsNull(true)` by [`Node::leaf`]).
    Exact(Value),
    /// `UPPER(col) = UPPER($n)`
    IExact(Value),
    /// `LIKE` with the raw (unescaped) text; escaping happens when rendered.
    Like {
        at: Like,
        ci: bool,
        text: String,
    },
    /// `= ANY($n)`; never empty and without NULLs (see [`Node::leaf`]).
    In(Vec<Value>),
    Cmp(Cmp, Value),
    Range(Value, Value),
    IsNull(bool),
    Regex {
        ci: bool,
        pattern: String,
    },
    /// `col = expr`, `col > expr`, ...: a comparison with an `F` expression
    /// (`cmp` is `None` for `=`).
    CmpExpr {
        cmp: Option<Cmp>,
        expr: Expr,
    },
    /// `col IN (SELECT ..)`: `__in` with a `values(..)` query.
    InQuery(Box<Subquery>),
    /// A lookup (any, itself possibly another transform) on the value
    /// after a transform: `EXTRACT(MONTH FROM col AT TIME ZONE
    /// $tz)::integer = $n`, `LOWER(col) LIKE $n`; for `year`/`iso_year`
    /// compared with a value, a range on the transform's input (the bare
    /// column when it is the first transform).
    Transformed(Transform, Box<Op>),
    /// `col @> $n`: an array holding every element of the value (`contains`
    /// on an array field).
    ArrayContains(Value),
    /// `col <@ $n`: an array whose elements are all in the value.
    ContainedBy(Value),
    /// `col && $n`: an array sharing an element with the value.
    Overlap(Value),
    /// A lookup on one element of an array field (`tags__0`, 0-based as
    /// Django's): `col[index + 1]` (PostgreSQL counts from 1); NULL past
    /// the end.
    Index(u32, Box<Op>),
    /// `col IN (SELECT target_col FROM through WHERE source_col = owner [AND
    /// tenant_col = tenant])`: the rows a many-to-many manager links to its
    /// owner (in a tenant link table, the owner's tenant's links).
    Linked {
        through: &'static str,
        source_col: &'static str,
        target_col: &'static str,
        owner: Value,
        tenant: Option<Box<(&'static str, Value)>>,
    },
    /// `col <op> $n::type`: a range operator (`@>`, `<@`, `&&`, `<<`, `>>`,
    /// `&>`, `&<`, `-|-`) on a range field, or `<@` on a scalar one
    /// (`contained_by`); the operand, a range or an element, is cast to
    /// its type so the operator is never ambiguous.
    RangeCmp(RangeOp, Value),
    /// `isempty(col) = $n`, `lower_inc(col) = $n`, ...: a range function
    /// compared with a bool, as Django's `isempty`, `lower_inc`, ...
    RangeFlag(RangeFlag, bool),
    /// A lookup on a range's bound: `lower(col)` (`upper` when true), as
    /// Django's `startswith` / `endswith` transforms, then the element's
    /// lookup.
    RangeEnd(bool, Box<Op>),
    /// A lookup on the value at a key path of a JSON field (`data__owner`,
    /// Django's `KeyTransform`): `(col -> $n)` or `(col #> $n)` (jsonb),
    /// or for the text lookups (`LIKE`, `iexact`, regex) `(col ->> $n)` /
    /// `(col #>> $n)` (Django's `KeyTextTransform`). Never empty.
    JsonPath(Vec<JsonKey>, Box<Op>),
    /// `col ? $n` (`has_key`), `col ?& $n` (`has_keys`), `col ?| $n`
    /// (`has_any_keys`): a JSON object holding the key(s).
    HasKeys {
        keys: Vec<String>,
        any: bool,
        list: bool,
    },
    /// `to_tsvector([config, ]COALESCE(col, '')) @@ <query>`: the `search`
    /// lookup on a text field (full-text search, see `crate::search`).
    Search(Box<SearchQuery>),
}

/// One step of a JSON key path: an object key, or an array index
/// (`data__items__0`; negative counts from the end, as in PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub enum JsonKey {
    /// An object key.
    Key(String),
    /// An array index.
    Index(i32),
}

/// A range operator ([`Op::RangeCmp`]), as Django's range lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOp {
    /// `@>`: contains the element or range.
    Contains,
    /// `<@`: contained by the range.
    ContainedBy,
    /// `&&`: shares a point with.
    Overlap,
    /// `<<`: strictly left of.
    FullyLt,
    /// `>>`: strictly right of.
    FullyGt,
    /// `&>`: does not extend to the left of.
    NotLt,
    /// `&<`: does not extend to the right of.
    NotGt,
    /// `-|-`: adjacent to.
    AdjacentTo,
}

impl RangeOp {
    /// The operator, spaced.
    pub(crate) const fn sql(self) -> &'static str {
        match self {
            RangeOp::Contains => " @> ",
            RangeOp::ContainedBy => " <@ ",
            RangeOp::Overlap => " && ",
            RangeOp::FullyLt => " << ",
            RangeOp::FullyGt => " >> ",
            RangeOp::NotLt => " &> ",
            RangeOp::NotGt => " &< ",
            RangeOp::AdjacentTo => " -|- ",
        }
    }
}

/// A range function of one range giving a bool ([`Op::RangeFlag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFlag {
    IsEmpty,
    LowerInc,
    LowerInf,
    UpperInc,
    UpperInf,
}

impl RangeFlag {
    /// The function's name, with its opening parenthesis.
    pub(crate) const fn sql(self) -> &'static str {
        match self {
            RangeFlag::IsEmpty => "isempty(",
            RangeFlag::LowerInc => "lower_inc(",
            RangeFlag::LowerInf => "lower_inf(",
            RangeFlag::UpperInc => "upper_inc(",
            RangeFlag::UpperInf => "upper_inf(",
        }
    }
}

impl Node {
    /// A leaf, normalized the way Django does: `= NULL` is `IS NULL`, NULLs
    /// are dropped from `in`, and an empty `in` matches nothing.
    pub(crate) fn leaf(field: &'static FieldMeta, op: Op) -> Node {
        Node::leaf_at(RelPath::EMPTY, field, op)
    }

    /// A leaf on `field` reached through `path`. `author__id = 4` becomes
    /// `author_id = 4` (the key is already on this side), as in Django.
    pub(crate) fn leaf_at(path: RelPath, field: &'static FieldMeta, op: Op) -> Node {
        // An element, a transform, a range's bound or a JSON key path: the
        // inner lookup normalized as on a column, then wrapped.
        let wrap = |inner: Op, rewrap: &dyn Fn(Op) -> Op| match Node::leaf_at(path, field, inner) {
            Node::Leaf(c) => Node::Leaf(Cond {
                op: rewrap(c.op),
                ..c
            }),
            other => other,
        };
        match op {
            Op::Index(index, inner) => {
                return wrap(*inner, &|op| Op::Index(index, Box::new(op)));
            }
            Op::Transformed(transform, inner) => {
                return wrap(*inner, &|op| Op::Transformed(transform, Box::new(op)));
            }
            Op::RangeEnd(upper, inner) => {
                return wrap(*inner, &|op| Op::RangeEnd(upper, Box::new(op)));
            }
            Op::JsonPath(keys, inner) => {
                return wrap(*inner, &move |op| Op::JsonPath(keys.clone(), Box::new(op)));
            }
            _ => {}
        }
        // Django's JSONField: `data = None` is the JSON `null`, not SQL
        // NULL (that is `data__isnull = True`).
        let op = match op {
            Op::Exact(Value::Json(None)) if field.sql_type == SqlType::Jsonb => {
                Op::Exact(Value::Json(Some(serde_json::Value::Null)))
            }
            op => op,
        };
        let (path, field) = match path.last() {
            Some(step)
                if matches!(step.kind, RelationKind::ForeignKey | RelationKind::OneToOne)
                    && field.primary_key =>
            {
                match step.key_field() {
                    Some(key) => (path.pop(), key),
                    None => (path, field),
                }
            }
            _ => (path, field),
        };
        let op = match op {
            Op::Exact(v) | Op::IExact(v) if v.is_null() => Op::IsNull(true),
            Op::In(values) => {
                let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
                if values.is_empty() {
                    return Node::Nothing;
                }
                Op::In(values)
            }
            op => op,
        };
        Node::Leaf(Cond { path, field, op })
    }

    /// `self AND other`, flattened.
    pub(crate) fn and(self, other: Node) -> Node {
        // The common case (a first filter) without moving both into a pair.
        if matches!(self, Node::All) {
            return other;
        }
        match (self, other) {
            (Node::All, n) | (n, Node::All) => n,
            (Node::And(mut a), Node::And(b)) => {
                a.extend(b);
                Node::And(a)
            }
            (Node::And(mut a), n) => {
                a.push(n);
                Node::And(a)
            }
            (n, Node::And(mut b)) => {
                b.insert(0, n);
                Node::And(b)
            }
            (a, b) => Node::And(vec![a, b]),
        }
    }

    /// `self OR other`, flattened.
    pub(crate) fn or(self, other: Node) -> Node {
        match (self, other) {
            (Node::Nothing, n) | (n, Node::Nothing) => n,
            (Node::Or(mut a), Node::Or(b)) => {
                a.extend(b);
                Node::Or(a)
            }
            (Node::Or(mut a), n) => {
                a.push(n);
                Node::Or(a)
            }
            (n, Node::Or(mut b)) => {
                b.insert(0, n);
                Node::Or(b)
            }
            (a, b) => Node::Or(vec![a, b]),
        }
    }

    /// Every relation the tree crosses can be resolved (a `Reverse` field
    /// finds the foreign key it mirrors).
    pub(crate) fn check_relations(&self) -> crate::error::Result<()> {
        match self {
            Node::All | Node::Nothing => Ok(()),
            Node::Leaf(c) => c.path.steps().try_for_each(|r| r.hop().map(|_| ())),
            Node::Exists(sub) => sub.filter.check_relations(),
            Node::And(items) | Node::Or(items) => items.iter().try_for_each(Node::check_relations),
            Node::Not(n) | Node::Call { node: n, .. } => n.check_relations(),
        }
    }

    /// The same tree seen from the model one relation back: every leaf's
    /// path starts with `step`.
    pub(crate) fn behind(self, step: &'static RelationMeta) -> Node {
        match self {
            Node::All | Node::Nothing => self,
            Node::Leaf(c) => {
                let mut path = RelPath::EMPTY.push(step);
                for s in c.path.steps() {
                    path = path.push(s);
                }
                Node::Leaf(Cond { path, ..c })
            }
            Node::And(items) => Node::And(items.into_iter().map(|n| n.behind(step)).collect()),
            Node::Or(items) => Node::Or(items.into_iter().map(|n| n.behind(step)).collect()),
            Node::Not(n) => Node::Not(Box::new(n.behind(step))),
            Node::Exists(_) => self,
            Node::Call { node, same_row } => Node::Call {
                node: Box::new(node.behind(step)),
                same_row,
            },
        }
    }

    /// True when [`simplify`](Node::simplify) would return the tree as it
    /// is (checked without cloning: the common case on every query).
    pub(crate) fn is_simple(&self) -> bool {
        fn inner(node: &Node, parent_and: bool, parent_or: bool) -> bool {
            match node {
                Node::All | Node::Nothing => false,
                Node::Leaf(_) | Node::Exists(_) => true,
                Node::Not(n) => inner(n, false, false),
                Node::Call { node, .. } => inner(node, false, false),
                Node::And(items) => {
                    !parent_and && items.len() > 1 && items.iter().all(|n| inner(n, true, false))
                }
                Node::Or(items) => {
                    !parent_or && items.len() > 1 && items.iter().all(|n| inner(n, false, true))
                }
            }
        }
        matches!(self, Node::All | Node::Nothing) || inner(self, false, false)
    }

    /// Folds the constants away: the result is `All`, `Nothing`, or a tree
    /// without constants.
    pub(crate) fn simplify(&self) -> Node {
        match self {
            Node::All | Node::Nothing | Node::Leaf(_) | Node::Exists(_) => self.clone(),
            Node::Not(inner) => match inner.simplify() {
                Node::All => Node::Nothing,
                Node::Nothing => Node::All,
                n => Node::Not(Box::new(n)),
            },
            Node::Call { node, same_row } => match node.simplify() {
                n @ (Node::All | Node::Nothing) => n,
                n => Node::Call {
                    node: Box::new(n),
                    same_row: *same_row,
                },
            },
            Node::And(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.simplify() {
                        Node::All => {}
                        Node::Nothing => return Node::Nothing,
                        Node::And(inner) => out.extend(inner),
                        n => out.push(n),
                    }
                }
                match out.len() {
                    0 => Node::All,
                    1 => out.pop().unwrap_or(Node::All),
                    _ => Node::And(out),
                }
            }
            Node::Or(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.simplify() {
                        Node::Nothing => {}
                        Node::All => return Node::All,
                        Node::Or(inner) => out.extend(inner),
                        n => out.push(n),
                    }
                }
                match out.len() {
                    0 => Node::Nothing,
                    1 => out.pop().unwrap_or(Node::Nothing),
                    _ => Node::Or(out),
                }
            }
        }
    }
}

/// A one-column `SELECT` used as the operand of `__in`.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    pub(crate) meta: &'static ModelMeta,
    pub(crate) column: Option<&'static FieldMeta>,
    pub(crate) filter: Node,
    pub(crate) order: Vec<Sort>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    /// Why it cannot be used (reported before anything is sent).
    pub(crate) error: Option<String>,
    /// A query set of a model with a composite primary key as a `pk__in`
    /// operand: it selects every key field (`column` is the first), and
    /// the outer key is compared as a row, `("a", "b") IN (SELECT ..)`.
    pub(crate) whole_key: bool,
}

/// [`Set::index`] of a field reached through relations, which `update()`
/// rejects.
pub(crate) const ACROSS_RELATION: usize = usize::MAX;

/// One `field = value` term of an [`Assign`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Set {
    /// The field's position in the model's fields, or [`ACROSS_RELATION`].
    pub index: usize,
    pub field: &'static FieldMeta,
    pub value: Value,
    /// `field = F(..) + ..`: set from an expression instead of `value`.
    pub expr: Option<Expr>,
}

impl Node {
    /// Every `F` expression names fields of `meta` (on leaves without a
    /// path: an `F` refers to the queried model).
    pub(crate) fn check_exprs(
        &self,
        meta: &'static crate::meta::ModelMeta,
    ) -> crate::error::Result<()> {
        self.check_exprs_in(meta, None)
    }

    pub(crate) fn check_exprs_in(
        &self,
        meta: &'static crate::meta::ModelMeta,
        outer: Option<&'static crate::meta::ModelMeta>,
    ) -> crate::error::Result<()> {
        match self {
            Node::All | Node::Nothing => Ok(()),
            Node::Exists(sub) => match &sub.error {
                Some(reason) => Err(crate::error::Error::from(crate::error::QueryError {
                    model: sub.meta.name,
                    reason: reason.clone(),
                })),
                None => sub.filter.check_exprs_in(sub.meta, Some(meta)),
            },
            Node::Leaf(c) => match &c.op {
                Op::InQuery(sub) => {
                    if let Some(reason) = &sub.error {
                        return Err(crate::error::Error::from(crate::error::QueryError {
                            model: sub.meta.name,
                            reason: reason.clone(),
                        }));
                    }
                    sub.filter.check_relations()?;
                    sub.filter.check_exprs(sub.meta)
                }
                // F() names the queried model's row, also when the lookup
                // crosses a relation (`posts__views__gt = F("karma")`).
                Op::CmpExpr { expr, .. } => expr.check(meta, outer),
                Op::Search(query) => match query.problem() {
                    Some(reason) => Err(crate::error::Error::from(crate::error::QueryError {
                        model: meta.name,
                        reason: reason.to_owned(),
                    })),
                    None => Ok(()),
                },
                _ => Ok(()),
            },
            Node::And(items) | Node::Or(items) => {
                items.iter().try_for_each(|n| n.check_exprs_in(meta, outer))
            }
            Node::Not(n) | Node::Call { node: n, .. } => n.check_exprs_in(meta, outer),
        }
    }
}

/// The condition "the key of `meta` equals `value`": `value` is a composite
/// key's [`Value::Array`] of parts (one per key field, as `Arg` makes
/// it), giving `"a" = $1 AND "b" = $2`; a plain value on a one-field key
/// gives `"pk" = $1`. A value of another shape matches no row (the typed
/// API cannot make one).
pub(crate) fn key_node(meta: &'static ModelMeta, value: Value) -> Node {
    if !meta.has_composite_pk() {
        return Node::leaf(meta.pk_field(), Op::Exact(value));
    }
    match value {
        Value::Array(parts) if parts.len() == meta.pk_fields.len() => parts
            .into_iter()
            .zip(meta.pk_field_metas())
            .fold(Node::All, |node, (part, field)| {
                node.and(Node::leaf(field, Op::Exact(part)))
            }),
        _ => Node::Nothing,
    }
}

/// The condition "the key of `meta` is one of `values`" (each as for
/// [`key_node`]): the `OR` of one key condition per value; no value
/// matches nothing.
pub(crate) fn key_in_node(meta: &'static ModelMeta, values: Vec<Value>) -> Node {
    values
        .into_iter()
        .fold(Node::Nothing, |node, v| node.or(key_node(meta, v)))
}

// The expressions of filters, updates, annotations and orderings
// (`sql/expr.rs` checks them, `sql/condition.rs` and `sql/functions.rs`
// write them): data, with the condition tree, as each holds the other.

/// An expression over a row's fields and values, for filters
/// (`q!(views__gt = F("author__karma"))`) and updates
/// (`q!(balance = F("balance") + 100)`). Field names are checked when the
/// query runs; a path may follow foreign keys and one-to-ones.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field of the queried model, or one reached through forward relations.
    Field(String),
    /// A bound value.
    Value(Value),
    /// `left <op> right`.
    Binary(Box<Expr>, Arith, Box<Expr>),
    /// A field of the enclosing query's row, inside an [`Exists`](crate::query::Exists).
    Outer(String),
    /// A database function: `Lower(F("name"))` (see [`crate::functions`]).
    Func(Box<Func>),
    /// `CASE WHEN .. THEN .. ELSE .. END` (see [`Case`](fn@crate::functions::Case)).
    Case(Box<Case>),
    /// A one-column, one-row query's value, correlated through `OuterRef`
    /// (see [`Subquery`](crate::functions::Subquery)).
    Subquery(Box<Subquery>),
    /// A window function over the query's rows (see
    /// [`Window`](fn@crate::functions::Window)).
    Window(Box<Window>),
    /// Full-text search: a `SearchVector`, `SearchQuery`, `SearchRank` or
    /// `SearchHeadline` (see [`crate::search`]).
    Search(Box<Search>),
}

/// An arithmetic operator of an [`Expr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

macro_rules! from_value {
    ($($ty:ty => $variant:ident),*) => {$(
        impl From<$ty> for Expr {
            fn from(v: $ty) -> Expr {
                Expr::Value(Value::$variant(Some(v)))
            }
        }
    )*};
}
from_value!(i16 => I16, i32 => I32, i64 => I64, f32 => F32, f64 => F64);
from_value!(crate::Interval => Interval);

/// A name is a field's, as Django reads a string given to a function:
/// `Lower("name")` is `Lower(F("name"))`. A text value is
/// `functions::Value("..")`.
impl From<&str> for Expr {
    fn from(name: &str) -> Expr {
        Expr::Field(name.to_owned())
    }
}

impl From<Func> for Expr {
    fn from(func: Func) -> Expr {
        Expr::Func(Box::new(func))
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Expr {
        Expr::Value(v)
    }
}

macro_rules! arith {
    ($trait:ident, $method:ident, $op:ident) => {
        impl<R: Into<Expr>> $trait<R> for Expr {
            type Output = Expr;
            fn $method(self, rhs: R) -> Expr {
                Expr::Binary(Box::new(self), Arith::$op, Box::new(rhs.into()))
            }
        }
    };
}
arith!(Add, add, Add);
arith!(Sub, sub, Sub);
arith!(Mul, mul, Mul);
arith!(Div, div, Div);

/// A date or time part, of [`FuncKind::Extract`] and [`FuncKind::Trunc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Year,
    IsoYear,
    Quarter,
    Month,
    Week,
    WeekDay,
    IsoWeekDay,
    Day,
    Hour,
    Minute,
    Second,
    /// `TruncDate`: the date of a date-time.
    Date,
    /// `TruncTime`: the time of a date-time.
    Time,
}

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FuncKind {
    Lower,
    Upper,
    Length,
    Trim,
    LTrim,
    RTrim,
    Concat,
    Replace,
    StrIndex,
    /// `SUBSTRING(x, pos[, len])`: 1-based position, optional length.
    Substr(i64, Option<i64>),
    Coalesce,
    Greatest,
    Least,
    NullIf,
    Cast(SqlType),
    Now,
    Extract(Part),
    Trunc(Part),
    /// `ROUND(x, places)`.
    Round(i32),
    Abs,
    Mod,
    Power,
}

/// A database function applied to expressions: `Lower(F("name"))`,
/// `Coalesce([F("nickname"), F("name")])`. Build one with the functions of
/// [`crate::functions`].
#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    pub(crate) kind: FuncKind,
    pub(crate) args: Vec<Expr>,
    /// A problem found when it was built (an unknown `Extract` part),
    /// reported when the query runs.
    pub(crate) error: Option<String>,
}

/// One branch of a [`Case`]: a condition on the queried model's row and
/// the value when it holds. Build one with [`When()`](fn@crate::functions::When).
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// The model the condition was written for (by name: metadata from
    /// another crate is equal, not the same address).
    pub(crate) model: &'static str,
    pub(crate) cond: Node,
    pub(crate) then: Expr,
    /// What was wrong with the condition (checked when it was built, as
    /// a filter is), reported when the query runs.
    pub(crate) error: Option<String>,
}

/// `CASE WHEN .. THEN .. ELSE .. END`, as Django's `Case(When(..), default=..)`:
/// the value of the first branch whose condition holds, else the default
/// (NULL without one). Build one with [`Case()`](fn@crate::functions::Case).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub(crate) whens: Vec<When>,
    pub(crate) default: Option<Expr>,
}

/// What a [`Window`] computes over its rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile(i64),
    /// `LAG(expr, offset[, default])`, `LEAD(..)`.
    Lag(Expr, i64, Option<Expr>),
    Lead(Expr, i64, Option<Expr>),
    FirstValue(Expr),
    LastValue(Expr),
    NthValue(Expr, i64),
    /// An aggregate over the window's rows (`SUM(..) OVER (..)`); `None`:
    /// `COUNT(*)`.
    Aggregate(Function, Option<Expr>),
}

/// A frame bound: `None` is `UNBOUNDED`, 0 `CURRENT ROW`, `-n` `n
/// PRECEDING`, `n` `n FOLLOWING` (Django's `RowRange(start, end)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) rows: bool,
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
}

/// A window function: `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)`,
/// as Django's `Window(expression, partition_by, order_by, frame)`. Build
/// one with [`Window()`](fn@crate::functions::Window).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub(crate) func: WindowFunc,
    pub(crate) partition: Vec<Expr>,
    pub(crate) order: Vec<(Expr, bool, Nulls)>,
    pub(crate) frame: Option<Frame>,
    pub(crate) error: Option<String>,
}

/// Where NULLs sort: PostgreSQL's default (last ascending, first
/// descending), or first or last whatever the direction (Django's
/// `nulls_first=True` / `nulls_last=True`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Nulls {
    #[default]
    Default,
    First,
    Last,
}

/// What one `ORDER BY` term sorts by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    /// A column of the queried table or of a joined one.
    Column(ColumnRef),
    /// An expression over the row (`F("likes") + F("views")`), checked.
    Expr(Arc<Expr>),
}

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sort {
    pub key: SortKey,
    pub desc: bool,
    pub nulls: Nulls,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `STDDEV_POP`, or `STDDEV_SAMP` with `sample`.
    StdDev {
        sample: bool,
    },
    /// `VAR_POP`, or `VAR_SAMP` with `sample`.
    Variance {
        sample: bool,
    },
    BoolAnd,
    BoolOr,
    /// `STRING_AGG(field, $delimiter)` (`django.contrib.postgres`' `StringAgg`).
    StringAgg,
    /// `ARRAY_AGG(field)`.
    ArrayAgg,
    /// `JSONB_AGG(field)`.
    JsonbAgg,
}

// Full-text search (`crate::search` builds these, `sql/search.rs` checks
// and writes them), as Django's `django.contrib.postgres.search`.

/// A full-text search expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// A `tsvector` of fields (`to_tsvector(..)`).
    Vector(SearchVector),
    /// A `tsquery` (`plainto_tsquery(..)`, ..).
    Query(SearchQuery),
    /// `ts_rank(..)` / `ts_rank_cd(..)`: a `real`.
    Rank(SearchRank),
    /// `ts_headline(..)`: text.
    Headline(SearchHeadline),
}

/// One `to_tsvector(..)` of a [`SearchVector`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VectorPart {
    pub exprs: Vec<Expr>,
    pub config: Option<String>,
    pub weight: Option<char>,
}

/// Django's `SearchVector("title", "body")`: the fields' text as a
/// `tsvector`; build one with [`SearchVector()`](fn@crate::search::SearchVector).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchVector {
    /// Concatenated with `||` (`SearchVector(..) + SearchVector(..)`).
    pub(crate) parts: Vec<VectorPart>,
    /// A problem found when it was built, reported when the query runs.
    pub(crate) error: Option<String>,
}

/// How a [`SearchQuery`]'s text is read (Django's `search_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchType {
    /// `plainto_tsquery`: the words, all of them (the default).
    #[default]
    Plain,
    /// `phraseto_tsquery`: the words in this order.
    Phrase,
    /// `to_tsquery`: PostgreSQL's tsquery syntax (`'tomato & !green'`).
    Raw,
    /// `websearch_to_tsquery`: a search engine's syntax (`"red tomato" -green or pepper`).
    Websearch,
}

/// A [`SearchQuery`]'s tree: `&`, `|`, `!` of texts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryNode {
    Leaf {
        text: Value,
        kind: SearchType,
        config: Option<String>,
    },
    And(Box<QueryNode>, Box<QueryNode>),
    Or(Box<QueryNode>, Box<QueryNode>),
    Not(Box<QueryNode>),
}

/// Django's `SearchQuery("red tomato")`: a `tsquery`, combined with `&`,
/// `|` and `!`; build one with [`SearchQuery()`](fn@crate::search::SearchQuery).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub(crate) node: QueryNode,
    pub(crate) error: Option<String>,
}

/// Django's `SearchRank(vector, query)`; build one with
/// [`SearchRank()`](fn@crate::search::SearchRank).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRank {
    pub(crate) vector: SearchVector,
    pub(crate) query: SearchQuery,
    /// The weights of D, C, B and A.
    pub(crate) weights: Option<[f32; 4]>,
    pub(crate) normalization: Option<i32>,
    pub(crate) cover_density: bool,
}

/// Django's `SearchHeadline(expression, query)`; build one with
/// [`SearchHeadline()`](fn@crate::search::SearchHeadline).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHeadline {
    pub(crate) expr: Expr,
    pub(crate) query: SearchQuery,
    pub(crate) config: Option<String>,
    /// `(option, value)`, as `ts_headline`'s options text.
    pub(crate) options: Vec<(&'static str, String)>,
    pub(crate) error: Option<String>,
}
