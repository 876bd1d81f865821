//! `F` expressions: a field's value in a filter or an update, with
//! arithmetic (`F("balance") + 100`, `F("views") * 2`, `F("author__karma")`).
//! The tree ([`Expr`]) and its rendering are the SQL layer's
//! (`sql/expr.rs`); these are the names users build it with.

pub use crate::sql::expr::{Arith, Expr};

/// Inside an [`Exists`](crate::query::Exists) query: field `name` of the
/// enclosing query's row (Django's `OuterRef("name")`).
#[allow(non_snake_case)]
pub fn OuterRef(name: &str) -> Expr {
    Expr::Outer(name.to_owned())
}

/// The value of field `name` of the row (Django's `F("name")`).
#[allow(non_snake_case)]
pub fn F(name: &str) -> Expr {
    Expr::Field(name.to_owned())
}
