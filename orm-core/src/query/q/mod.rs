//! Conditions ([`Q`]) and assignments ([`Assign`]) as plain data.

pub(crate) use crate::sql::tree::{
    Cmp, Cond, Like, Node, Op, RelPath, Set, Subquery, Transform, ACROSS_RELATION, MAX_DEPTH,
};

mod assign;
mod nul;
mod public;

pub use assign::{Assign, IntoAssign};
pub(crate) use nul::check_nul;
pub use public::{InArg, InOperand, IntoQ, Q};
