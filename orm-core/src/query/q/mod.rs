//! Conditions ([`Q`]) and assignments ([`Assign`]) as plain data.

pub(crate) use crate::sql::tree::{
    Cmp, Cond, Like, Node, Op, RelPath, Set, Subquery, Transform, TransformOp, ACROSS_RELATION,
    MAX_DEPTH,
};

mod assign;
mod nul;
mod public;

pub use assign::{Assign, IntoAssign};
pub(crate) use nul::check_nul;
pub use public::{InArg, InOperand, IntoQ, Q};

impl Node {
    /// Every `F` expression names fields of `meta` (on leaves without a
    /// path: an `F` refers to the queried model).
    pub(crate) fn check_exprs(
        &self,
        meta: &'static crate::meta::ModelMeta,
    ) -> crate::error::Result<()> {
        self.check_exprs_in(meta, None)
    }

    fn check_exprs_in(
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
                _ => Ok(()),
            },
            Node::And(items) | Node::Or(items) => {
                items.iter().try_for_each(|n| n.check_exprs_in(meta, outer))
            }
            Node::Not(n) | Node::Call { node: n, .. } => n.check_exprs_in(meta, outer),
        }
    }
}
