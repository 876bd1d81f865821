//! [`Q`], the condition users build (`q!`, typed handles, `&`, `|`, `!`),
//! and what converts into one or into an `__in` operand.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use crate::meta::FieldMeta;
use crate::value::Value;

use super::*;

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
