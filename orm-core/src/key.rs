//! Primary key values: one field's, or a composite key's tuple (Django
//! 5.2's `CompositePrimaryKey`), and the conditions that name a row by
//! its key.
//!
//! A composite key is a tuple of the key fields' types in declaration
//! order (a foreign key's part is a [`ForeignKey`](crate::ForeignKey),
//! which takes the target's raw key as a value). `q!(pk = (1, 2))` is
//! `"a" = $1 AND "b" = $2`, and `q!(pk__in = [(1, 2), (3, 4)])` is the `OR`
//! of such conditions: every value a bound parameter.

use crate::types::{Arg, FieldType};
use crate::value::Value;

/// [`HasField::INDEX`](crate::HasField::INDEX) of `pk` on a model with a
/// composite primary key: no one column.
#[doc(hidden)]
pub const COMPOSITE_PK: usize = 1 << (usize::BITS - 2);

/// A type a primary key can have ([`Model::Pk`](crate::Model::Pk)): any field type, for a
/// key of one field, or a tuple of field types (two to four), for a
/// composite key.
pub trait PkValue: Clone + Send + Sync + 'static {
    /// How many fields the key has.
    const ARITY: usize;

    /// The key's values, in key order.
    fn to_values(&self) -> Vec<Value>;

    /// The key held by `values` (in key order), or `None` when their number
    /// or types do not match.
    fn from_values(values: Vec<Value>) -> Option<Self>;
}

impl<T: FieldType + Clone> PkValue for T {
    const ARITY: usize = 1;

    fn to_values(&self) -> Vec<Value> {
        vec![self.to_value()]
    }

    fn from_values(values: Vec<Value>) -> Option<Self> {
        let mut values = values.into_iter();
        let value = values.next()?;
        match values.next() {
            None => T::from_value(value),
            Some(_) => None,
        }
    }
}

macro_rules! tuple_key {
    ($n:expr; $($t:ident $v:ident $i:tt),+) => {
        impl<$($t: FieldType + Clone),+> PkValue for ($($t,)+) {
            const ARITY: usize = $n;

            fn to_values(&self) -> Vec<Value> {
                vec![$(self.$i.to_value()),+]
            }

            fn from_values(values: Vec<Value>) -> Option<Self> {
                if values.len() != $n {
                    return None;
                }
                let mut values = values.into_iter();
                Some(($($t::from_value(values.next()?)?,)+))
            }
        }

        /// A composite key's value: one value per key field, in key order
        /// (carried as a [`Value::Array`] until it is split into one
        /// condition per field; never bound as an array).
        impl<$($t,)+ $($v: Arg<$t>),+> Arg<($($t,)+)> for ($($v,)+) {
            fn into_value(self) -> Value {
                Value::Array(vec![$(self.$i.into_value()),+])
            }
        }
    };
}

/// What [`Field::set`](crate::Field::set) assigns: a column's type, or a
/// composite key's tuple of them.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is a relation, not a column: it cannot be ordered or assigned",
    label = "not a column"
)]
pub trait Assignable {}
impl<T: crate::types::Column> Assignable for T {}
impl<A: crate::types::Column, B: crate::types::Column> Assignable for (A, B) {}
impl<A: crate::types::Column, B: crate::types::Column, C: crate::types::Column> Assignable
    for (A, B, C)
{
}
impl<
        A: crate::types::Column,
        B: crate::types::Column,
        C: crate::types::Column,
        D: crate::types::Column,
    > Assignable for (A, B, C, D)
{
}

tuple_key!(2; A VA 0, B VB 1);
tuple_key!(3; A VA 0, B VB 1, C VC 2);
tuple_key!(4; A VA 0, B VB 1, C VC 2, D VD 3);
