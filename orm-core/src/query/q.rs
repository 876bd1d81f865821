//! Conditions ([`Q`]) and assignments ([`Assign`]) as plain data.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use crate::model::FieldMeta;
use crate::value::Value;

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
}

/// One lookup on one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
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
}

impl Node {
    /// A leaf, normalized the way Django does: `= NULL` is `IS NULL`, NULLs
    /// are dropped from `in`, and an empty `in` matches nothing.
    pub(crate) fn leaf(field: &'static FieldMeta, op: Op) -> Node {
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
        Node::Leaf(Cond { field, op })
    }

    /// `self AND other`, flattened.
    pub(crate) fn and(self, other: Node) -> Node {
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

    /// True when [`simplify`](Node::simplify) would return the tree as it
    /// is (checked without cloning: the common case on every query).
    pub(crate) fn is_simple(&self) -> bool {
        fn inner(node: &Node, parent_and: bool, parent_or: bool) -> bool {
            match node {
                Node::All | Node::Nothing => false,
                Node::Leaf(_) => true,
                Node::Not(n) => inner(n, false, false),
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
            Node::All | Node::Nothing | Node::Leaf(_) => self.clone(),
            Node::Not(inner) => match inner.simplify() {
                Node::All => Node::Nothing,
                Node::Nothing => Node::All,
                n => Node::Not(Box::new(n)),
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
}

impl<M> IntoQ<M> for Q<M> {
    fn into_q(self) -> Q<M> {
        self
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

/// One `field = value` term of an [`Assign`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Set {
    pub index: usize,
    pub field: &'static FieldMeta,
    pub value: Value,
}

/// Typed `field = value` assignments, for [`QuerySet::update`](crate::QuerySet::update)
/// and [`Model::update_or_create`](crate::Model::update_or_create).
///
/// `q!(karma = 0, name = "x")` (only `=`, no lookups) builds one, as does
/// `User::fields().karma.set(0)`; `&` joins them. Used as a filter, an
/// `Assign` means "every field equals its value" (`= None` means IS NULL).
pub struct Assign<M> {
    pub(crate) items: Vec<Set>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Assign<M> {
    pub(crate) fn one(index: usize, field: &'static FieldMeta, value: Value) -> Self {
        Assign {
            items: vec![Set {
                index,
                field,
                value,
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
        let node = self
            .items
            .into_iter()
            .map(|s| Node::leaf(s.field, Op::Exact(s.value)))
            .fold(Node::All, Node::and);
        Q::from_node(node)
    }
}

impl<M> BitAnd<Assign<M>> for Assign<M> {
    type Output = Assign<M>;
    fn bitand(mut self, rhs: Assign<M>) -> Assign<M> {
        for set in rhs.items {
            // A later assignment to the same field wins, as in a kwargs dict.
            self.items.retain(|s| s.index != set.index);
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
