//! Conditions ([`Q`]) and assignments ([`Assign`]) as plain data.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use smallvec::{smallvec, SmallVec};

use crate::model::FieldMeta;
use crate::relation::{RelationKind, RelationMeta};
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
        expr: crate::query::expr::Expr,
    },
    /// `col IN (SELECT ..)`: `__in` with a `values(..)` query.
    InQuery(Box<Subquery>),
    /// `col IN (SELECT target_col FROM through WHERE source_col = owner)`:
    /// the rows a many-to-many manager links to its owner.
    Linked {
        through: &'static str,
        source_col: &'static str,
        target_col: &'static str,
        owner: Value,
    },
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

    /// Every `F` expression names fields of `meta` (on leaves without a
    /// path: an `F` refers to the queried model).
    pub(crate) fn check_exprs(
        &self,
        meta: &'static crate::model::ModelMeta,
    ) -> crate::error::Result<()> {
        self.check_exprs_in(meta, None)
    }

    fn check_exprs_in(
        &self,
        meta: &'static crate::model::ModelMeta,
        outer: Option<&'static crate::model::ModelMeta>,
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
                _ => Ok(()),
            },
            Node::And(items) | Node::Or(items) => {
                items.iter().try_for_each(|n| n.check_exprs_in(meta, outer))
            }
            Node::Not(n) | Node::Call { node: n, .. } => n.check_exprs_in(meta, outer),
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

/// A condition on rows of model `M`, like Django's `Q` object.
///
/// Build one with `q!(field__lookup = value, ...)` or the typed handles of
/// [`Model::fields`](crate::Model::fields); combine with `&` (and), `|` (or)
/// and `!` (not):
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User {
/// #     #[orm(primary_key)] pub id: i64,
/// #     pub name: String,
/// #     pub email: Option<String>,
/// #     pub karma: i32,
/// # }
/// # async fn run() -> orm_core::Result<()> {
/// User::filter(q!(karma__in = [1, 2, 3]) | !q!(name__startswith = "A")).await?;
/// // Built in a loop, starting from the neutral `Q::all()`:
/// let mut q = Q::all();
/// for word in ["rust", "orm"] {
///     q = q & q!(name__icontains = word);
/// }
/// User::filter(q).await?;
/// # Ok(()) }
/// ```
pub struct Q<M> {
    pub(crate) node: Node,
    _model: PhantomData<fn() -> M>,
}

impl<M> Q<M> {
    pub(crate) fn from_node(node: Node) -> Self {
        Q {
            node,
            _model: PhantomData,
        }
    }

    /// A condition every row matches (Django's empty `Q()`): the neutral
    /// start for conditions built in a loop.
    pub fn all() -> Self {
        Q::from_node(Node::All)
    }

    /// A condition no row matches; a query with it sends nothing to the server.
    pub fn none() -> Self {
        Q::from_node(Node::Nothing)
    }
}

impl<M> Clone for Q<M> {
    fn clone(&self) -> Self {
        Q::from_node(self.node.clone())
    }
}

impl<M> std::fmt::Debug for Q<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Q").field(&self.node).finish()
    }
}

impl<M> PartialEq for Q<M> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// Anything that converts into a condition: a [`Q`], or an [`Assign`]
/// (whose `field = value` terms become equality tests).
pub trait IntoQ<M> {
    /// The condition.
    fn into_q(self) -> Q<M>;

    /// The field and value when the condition is one `field = value` on the
    /// model's own field, the value not NULL (the fast path of `get()`);
    /// else the condition.
    #[doc(hidden)]
    #[allow(clippy::result_large_err, reason = "`Err` hands the condition back")]
    fn into_exact(self) -> Result<(&'static FieldMeta, Value), Q<M>>
    where
        Self: Sized,
    {
        Err(self.into_q())
    }
}

impl<M> IntoQ<M> for Q<M> {
    fn into_q(self) -> Q<M> {
        self
    }

    fn into_exact(self) -> Result<(&'static FieldMeta, Value), Q<M>> {
        match self.node {
            Node::Leaf(Cond {
                path,
                field,
                op: Op::Exact(value),
            }) if path.is_empty() && !value.is_null() => Ok((field, value)),
            node => Err(Q::from_node(node)),
        }
    }
}

impl<M, R: IntoQ<M>> BitAnd<R> for Q<M> {
    type Output = Q<M>;
    fn bitand(self, rhs: R) -> Q<M> {
        Q::from_node(self.node.and(rhs.into_q().node))
    }
}

impl<M, R: IntoQ<M>> BitOr<R> for Q<M> {
    type Output = Q<M>;
    fn bitor(self, rhs: R) -> Q<M> {
        Q::from_node(self.node.or(rhs.into_q().node))
    }
}

impl<M> Not for Q<M> {
    type Output = Q<M>;
    fn not(self) -> Q<M> {
        Q::from_node(Node::Not(Box::new(self.node)))
    }
}

/// A one-column `SELECT` used as the operand of `__in`.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    pub(crate) meta: &'static crate::model::ModelMeta,
    pub(crate) column: Option<&'static FieldMeta>,
    pub(crate) filter: Node,
    pub(crate) order: Vec<(&'static FieldMeta, bool)>,
    pub(crate) limit: Option<i64>,
    pub(crate) offset: Option<i64>,
    /// Why it cannot be used (reported before anything is sent).
    pub(crate) error: Option<String>,
}

/// What `__in` takes: values (any iterable of values for the field), or a
/// one-field [`ValuesQuery`](crate::query::ValuesQuery) (a subquery).
pub trait InArg<T> {
    /// The operand.
    #[doc(hidden)]
    fn into_in(self) -> InOperand;
}

/// The operand of an `__in` lookup.
#[doc(hidden)]
#[derive(Debug)]
pub enum InOperand {
    /// A list of values.
    Values(Vec<Value>),
    /// A subquery.
    Query(Box<Subquery>),
}

impl<T, I, V> InArg<T> for I
where
    I: IntoIterator<Item = V>,
    V: crate::types::Arg<T>,
{
    fn into_in(self) -> InOperand {
        InOperand::Values(
            self.into_iter()
                .map(crate::types::Arg::into_value)
                .collect(),
        )
    }
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
    pub expr: Option<crate::query::expr::Expr>,
}

/// Typed `field = value` assignments, for [`QuerySet::update`](crate::QuerySet::update)
/// and [`Model::update_or_create`](crate::Model::update_or_create).
///
/// `q!(karma = 0, name = "x")` (only `=`, no lookups) builds one, as does
/// `User::fields().karma.set(0)`; `&` joins them. Used as a filter, an
/// `Assign` means "every field equals its value" (`= None` means IS NULL).
pub struct Assign<M> {
    pub(crate) items: SmallVec<[Set; 1]>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Assign<M> {
    pub(crate) fn one(index: usize, field: &'static FieldMeta, value: Value) -> Self {
        Assign {
            items: smallvec![Set {
                index,
                field,
                value,
                expr: None,
            }],
            _model: PhantomData,
        }
    }

    /// True when there is nothing to assign.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What `update` accepts: `field = value` assignments only.
#[diagnostic::on_unimplemented(
    message = "`update()` takes assignments like `q!(karma = 0)`, not a condition (`{Self}`)",
    label = "not a `field = value` assignment",
    note = "lookups such as `field__gt` select rows: put them in `.filter(..)` before `.update(..)`"
)]
pub trait IntoAssign<M> {
    /// The assignments.
    fn into_assign(self) -> Assign<M>;
}

impl<M> IntoAssign<M> for Assign<M> {
    fn into_assign(self) -> Assign<M> {
        self
    }
}

impl<M> Clone for Assign<M> {
    fn clone(&self) -> Self {
        Assign {
            items: self.items.clone(),
            _model: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Assign<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for set in &self.items {
            map.entry(&set.field.name, &set.value);
        }
        map.finish()
    }
}

impl<M> IntoQ<M> for Assign<M> {
    fn into_q(self) -> Q<M> {
        let leaf = |s: Set| match s.expr {
            Some(expr) => Node::leaf(s.field, Op::CmpExpr { cmp: None, expr }),
            None => Node::leaf(s.field, Op::Exact(s.value)),
        };
        let mut items = self.items.into_iter();
        let node = match items.len() {
            // `q!(id = x)`: one leaf, no `AND` to fold into.
            1 => items.next().map_or(Node::All, leaf),
            _ => items.map(leaf).fold(Node::All, Node::and),
        };
        Q::from_node(node)
    }

    fn into_exact(mut self) -> Result<(&'static FieldMeta, Value), Q<M>> {
        match self.items.pop() {
            // `Node::leaf` would turn NULL into `IS NULL`.
            Some(Set {
                field,
                value,
                expr: None,
                ..
            }) if self.items.is_empty() && !value.is_null() => Ok((field, value)),
            Some(set) => {
                self.items.push(set);
                Err(self.into_q())
            }
            None => Err(self.into_q()),
        }
    }
}

impl<M> BitAnd<Assign<M>> for Assign<M> {
    type Output = Assign<M>;
    fn bitand(mut self, rhs: Assign<M>) -> Assign<M> {
        for set in rhs.items {
            // A later assignment to the same field wins, as in a kwargs dict
            // (fields across relations are all kept, for `update()` to
            // reject).
            self.items
                .retain(|s| s.index != set.index || s.index == ACROSS_RELATION);
            self.items.push(set);
        }
        self
    }
}

impl<M> BitAnd<Q<M>> for Assign<M> {
    type Output = Q<M>;
    fn bitand(self, rhs: Q<M>) -> Q<M> {
        self.into_q() & rhs
    }
}

impl<M, R: IntoQ<M>> BitOr<R> for Assign<M> {
    type Output = Q<M>;
    fn bitor(self, rhs: R) -> Q<M> {
        self.into_q() | rhs
    }
}

impl<M> Not for Assign<M> {
    type Output = Q<M>;
    fn not(self) -> Q<M> {
        !self.into_q()
    }
}

/// Refuses a NUL character in any value of the filter `node` on `meta`
/// (subqueries and expressions included), naming the model and field, so
/// that nothing is sent. It runs on every query: a walk of the tree and a
/// scan of its text, no allocation; the names are only looked for once a
/// NUL is found.
///
/// # Errors
/// [`Error::InvalidValue`] naming the model and field of the first such value.
#[inline]
pub(crate) fn check_nul(
    meta: &'static crate::model::ModelMeta,
    node: &Node,
) -> Result<(), crate::error::Error> {
    if !any_nul(node) {
        return Ok(());
    }
    let (model, field) = find_nul(meta, node).unwrap_or((meta.name, "?"));
    Err(crate::value::nul_error(model, field))
}

/// Whether a value of `node` holds a NUL.
fn any_nul(node: &Node) -> bool {
    match node {
        Node::All | Node::Nothing => false,
        Node::Leaf(cond) => op_has_nul(&cond.op),
        Node::And(items) | Node::Or(items) => items.iter().any(any_nul),
        Node::Not(n) | Node::Call { node: n, .. } => any_nul(n),
        Node::Exists(sub) => any_nul(&sub.filter),
    }
}

/// Whether an operand of `op` (a subquery's included) holds a NUL.
#[inline]
fn op_has_nul(op: &Op) -> bool {
    match op {
        Op::Exact(v) | Op::IExact(v) | Op::Cmp(_, v) => v.has_nul(),
        Op::Linked { owner, .. } => owner.has_nul(),
        Op::In(values) => values.iter().any(Value::has_nul),
        Op::Range(low, high) => low.has_nul() || high.has_nul(),
        Op::Like { text, .. } => crate::value::has_nul_byte(text.as_bytes()),
        Op::Regex { pattern, .. } => crate::value::has_nul_byte(pattern.as_bytes()),
        Op::IsNull(_) => false,
        Op::CmpExpr { expr, .. } => expr.has_nul(),
        Op::InQuery(sub) => any_nul(&sub.filter),
    }
}

/// The model and field of the first value of `node` holding a NUL.
fn find_nul(
    meta: &'static crate::model::ModelMeta,
    node: &Node,
) -> Option<(&'static str, &'static str)> {
    match node {
        Node::All | Node::Nothing => None,
        Node::Leaf(cond) => match &cond.op {
            Op::InQuery(sub) => find_nul(sub.meta, &sub.filter),
            op if op_has_nul(op) => {
                let model = cond.path.last().map_or(meta, |rel| rel.target.meta());
                Some((model.name, cond.field.name))
            }
            _ => None,
        },
        Node::And(items) | Node::Or(items) => items.iter().find_map(|n| find_nul(meta, n)),
        Node::Not(n) | Node::Call { node: n, .. } => find_nul(meta, n),
        Node::Exists(sub) => find_nul(sub.meta, &sub.filter),
    }
}
