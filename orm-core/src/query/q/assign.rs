//! [`Assign`]: the `field = value` assignments of `update()` and
//! `update_or_create`.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use smallvec::{smallvec, SmallVec};

use crate::meta::FieldMeta;
use crate::value::Value;

use super::*;

/// Typed `field = value` assignments, for [`QuerySet::update`](crate::QuerySet::update)
/// and [`ActiveRecord::update_or_create`](crate::ActiveRecord::update_or_create).
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
