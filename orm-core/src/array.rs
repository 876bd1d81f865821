//! Array fields (`Vec<T>`, PostgreSQL `T[]`, Django's `ArrayField`) on
//! typed field handles: `contains` (`@>`), `contained_by` (`<@`),
//! `overlap` (`&&`), `len()` and `index(i)`, and the type-level steps `q!`
//! takes for `tags__len` and `tags__0`.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub tags: Vec<String> }
//! # async fn run() -> orm_core::Result<()> {
//! let f = Post::fields();
//! let posts = Post::filter(
//!     f.tags.contains(["rust", "sql"]) & f.tags.len().gte(2) & f.tags.index(0).eq("rust"),
//! )
//! .await?;
//! // The same with q!:
//! let same = Post::filter(q!(tags__contains = ["rust", "sql"], tags__len__gte = 2, tags__0 = "rust")).await?;
//! // f.tags.overlap([1, 2]) -> compile error: an i32 is not a value for a String element
//! # Ok(()) }
//! ```

use crate::field::Field;
use crate::model::{Ch, Model};
use crate::query::q::{Op, Transform, Q};
use crate::transform::{Step, Transformed};
use crate::types::{Arg, ArrayField, ArrayItem};

impl<M: Model, T: ArrayField> Field<M, T> {
    /// `overlap`: the array shares at least one element with `values`
    /// (`&&`).
    pub fn overlap<V: Arg<Vec<T::Item>>>(self, values: V) -> Q<M> {
        self.q(Op::Overlap(values.into_value()))
    }

    /// `len`: the number of elements, 0 for an empty array and NULL for a
    /// NULL one (Django's `ArrayLenTransform`), compared as an `i32`:
    /// `f.tags.len().gte(2)`.
    pub fn len(self) -> Transformed<M, i32> {
        self.transform(Transform::Len)
    }

    /// The element at `index`, counted from 0 as in Django (`tags__0`):
    /// a handle with the element type's lookups. An index past the end
    /// reads as NULL, which no comparison matches.
    pub fn index(self, index: u32) -> Field<M, T::Item> {
        Field {
            member: self.member,
            path: self.path,
            index: Some(index),
            _marker: std::marker::PhantomData,
        }
    }
}

/// An array index as a type-level name: what `q!` writes for a name of
/// digits (`0` in `tags__0`).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Idx<const I: u32>;

/// A name that may follow an array field in `q!`: `len`, or an index.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this name cannot follow an array field",
    label = "not `len` or an index",
    note = "after an array field (`Vec<T>`) comes `len` (`tags__len__gt = 1`) or a 0-based index (`tags__0 = \"rust\"`)"
)]
pub trait ArrayStep<M, A: ArrayField> {
    /// The handle the name leads to.
    type Out;
    /// Takes the step from `field`.
    fn step(field: Field<M, A>) -> Self::Out;
}

impl<M: Model, A: ArrayField> ArrayStep<M, A> for (Ch<'l'>, Ch<'e'>, Ch<'n'>) {
    type Out = Transformed<M, i32>;
    fn step(field: Field<M, A>) -> Self::Out {
        field.len()
    }
}

impl<M: Model, A: ArrayField, const I: u32> ArrayStep<M, A> for Idx<I> {
    type Out = Field<M, A::Item>;
    fn step(field: Field<M, A>) -> Self::Out {
        field.index(I)
    }
}

impl<M: Model, T: ArrayItem, N: ArrayStep<M, Vec<T>>> Step<M, N> for Vec<T> {
    type Out = N::Out;
    fn step(field: Field<M, Self>) -> Self::Out {
        N::step(field)
    }
}

impl<M: Model, T: ArrayItem, N: ArrayStep<M, Option<Vec<T>>>> Step<M, N> for Option<Vec<T>> {
    type Out = N::Out;
    fn step(field: Field<M, Self>) -> Self::Out {
        N::step(field)
    }
}
