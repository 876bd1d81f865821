//! Models behind `dyn`: [`DynModel`] (implemented for every model by
//! [`ModelOps`]) decodes, groups and attaches related objects whose type
//! the loading code does not name; [`Related`] carries them.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use crate::error::{Error, Result};
use crate::meta::ModelMeta;
use crate::model::Model;
use crate::value::Value;

/// A boxed future, for operations reached through [`DynModel`].
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A model's operations without its type, for relations that reach other
/// models (select_related, prefetch_related). Implemented for every model.
pub trait DynModel: Send + Sync {
    /// The model's metadata.
    fn meta(&self) -> &'static ModelMeta;
    /// Decodes a row from column `start`; `None` when its primary key is NULL
    /// (no row on the other side of a LEFT JOIN).
    fn decode(
        &self,
        row: &tokio_postgres::Row,
        start: usize,
    ) -> Result<Option<Box<dyn Any + Send>>>;
    /// `n` empty groups of this model (a boxed `Vec<Vec<Self>>`): the
    /// objects of a many side for each of `n` parents, filled by
    /// [`decode_into`](DynModel::decode_into), handed out by
    /// [`take_group`](DynModel::take_group). One allocation for a level,
    /// not one per parent.
    fn new_groups(&self, n: usize) -> Box<dyn Any + Send>;
    /// Decodes a row (from column 0) onto the end of group `at` of
    /// `groups` (a [`new_groups`](DynModel::new_groups)).
    fn decode_into(
        &self,
        groups: &mut (dyn Any + Send),
        at: usize,
        row: &tokio_postgres::Row,
    ) -> Result<()>;
    /// Group `at` of `groups`, taken out (left empty), for [`Related::Group`].
    fn take_group(&self, groups: &mut (dyn Any + Send), at: usize) -> Related;
    /// Decodes a row from column `start`, which has a primary key.
    fn decode_row(&self, row: &tokio_postgres::Row, start: usize) -> Result<Box<dyn Any + Send>>;
    /// Orders group `at` of `groups` by primary key, as `ORDER BY pk`
    /// would for an integer or UUID key.
    fn sort_by_pk(&self, groups: &mut (dyn Any + Send), at: usize);
    /// The value of field `index` of `object` (an instance of this model).
    fn field_value(&self, object: &dyn Any, index: usize) -> Value;
    /// Stores `related` into relation `relation` of `object`.
    fn attach(
        &self,
        object: &mut (dyn Any + Send),
        relation: usize,
        related: Related,
    ) -> Result<()>;
    /// Mutable access to the object held by relation `relation` of `object`
    /// (loaded foreign keys), or the objects (loaded many-sides).
    fn related_mut<'a>(
        &self,
        object: &'a mut (dyn Any + Send),
        relation: usize,
    ) -> Vec<&'a mut (dyn Any + Send)>;
}

/// Related objects to store in a relation field.
pub enum Related {
    /// The target of a foreign key (`None`: no row).
    One(Option<Box<dyn Any + Send>>),
    /// The rows of a many side, as one boxed `Vec<T>` (see [`DynModel::take_group`]).
    Group(Box<dyn Any + Send>),
    /// The rows of a many side.
    Many(Vec<Box<dyn Any + Send>>),
}

impl std::fmt::Debug for Related {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Related::One(one) => write!(
                f,
                "Related::One({})",
                if one.is_some() { "Some(..)" } else { "None" }
            ),
            Related::Group(_) => f.write_str("Related::Group(..)"),
            Related::Many(items) => write!(f, "Related::Many({} objects)", items.len()),
        }
    }
}

/// The objects of a many side for each of a level's parents
/// ([`DynModel::new_groups`]): decoded in the order they arrive, then moved
/// to their parents' `Vec`s, each allocated once at its final size (not
/// grown row by row: fewer, and no short-lived, allocations).
struct Groups<M> {
    /// The objects as they arrived, and each one's group.
    arrived: Vec<M>,
    owner: Vec<usize>,
    groups: Vec<Vec<M>>,
}

impl<M> Groups<M> {
    fn new(n: usize) -> Self {
        Groups {
            arrived: Vec::new(),
            owner: Vec::new(),
            groups: std::iter::repeat_with(Vec::new).take(n).collect(),
        }
    }

    /// The groups, with every object that arrived moved into its own.
    fn settled(&mut self) -> &mut Vec<Vec<M>> {
        if !self.arrived.is_empty() {
            let mut counts = vec![0usize; self.groups.len()];
            for &at in &self.owner {
                counts[at] += 1;
            }
            for (group, count) in self.groups.iter_mut().zip(counts) {
                group.reserve_exact(count);
            }
            for (object, at) in self.arrived.drain(..).zip(self.owner.drain(..)) {
                self.groups[at].push(object);
            }
        }
        &mut self.groups
    }
}

/// [`DynModel`] for model `M`.
pub struct ModelOps<M>(PhantomData<fn() -> M>);

impl<M> std::fmt::Debug for ModelOps<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModelOps<{}>", std::any::type_name::<M>())
    }
}

impl<M> ModelOps<M> {
    /// The operations of `M` (used by the derive in `const` context).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ModelOps(PhantomData)
    }
}

impl<M: Model> ModelOps<M> {
    /// The operations of `M` with a `'static` lifetime (a zero-sized value).
    pub(crate) fn new_static() -> &'static Self {
        &ModelOps(PhantomData)
    }
}

impl<M: Model> DynModel for ModelOps<M> {
    fn meta(&self) -> &'static ModelMeta {
        M::META
    }

    fn decode(
        &self,
        row: &tokio_postgres::Row,
        start: usize,
    ) -> Result<Option<Box<dyn Any + Send>>> {
        let pk = start + M::META.pk;
        let present = row
            .try_get::<_, Option<crate::types::AnyValue>>(pk)
            .map(|v| v.is_some())
            .unwrap_or(true);
        if !present {
            return Ok(None);
        }
        Ok(Some(Box::new(M::from_row(row, start)?)))
    }

    fn new_groups(&self, n: usize) -> Box<dyn Any + Send> {
        Box::new(Groups::<M>::new(n))
    }

    fn decode_into(
        &self,
        groups: &mut (dyn Any + Send),
        at: usize,
        row: &tokio_postgres::Row,
    ) -> Result<()> {
        let groups = groups
            .downcast_mut::<Groups<M>>()
            .filter(|groups| at < groups.groups.len())
            .ok_or_else(|| wrong_type(M::META.name))?;
        groups.arrived.push(M::from_row(row, 0)?);
        groups.owner.push(at);
        Ok(())
    }

    fn take_group(&self, groups: &mut (dyn Any + Send), at: usize) -> Related {
        let group = groups
            .downcast_mut::<Groups<M>>()
            .and_then(|groups| groups.settled().get_mut(at))
            .map(std::mem::take)
            .unwrap_or_default();
        Related::Group(Box::new(group))
    }

    fn decode_row(&self, row: &tokio_postgres::Row, start: usize) -> Result<Box<dyn Any + Send>> {
        Ok(Box::new(M::from_row(row, start)?))
    }

    fn sort_by_pk(&self, groups: &mut (dyn Any + Send), at: usize) {
        let group = groups
            .downcast_mut::<Groups<M>>()
            .and_then(|groups| groups.settled().get_mut(at));
        if let Some(group) = group {
            let key = |m: &M| crate::value::Key::of(&m.pk());
            // Rows mostly come in key order already.
            if !group.is_sorted_by(|a, b| key(a) <= key(b)) {
                group.sort_by_key(key);
            }
        }
    }

    fn field_value(&self, object: &dyn Any, index: usize) -> Value {
        match object.downcast_ref::<M>() {
            Some(m) => m.field_value(index),
            None => M::META.fields[index].sql_type.null(),
        }
    }

    fn attach(
        &self,
        object: &mut (dyn Any + Send),
        relation: usize,
        related: Related,
    ) -> Result<()> {
        let m = object
            .downcast_mut::<M>()
            .ok_or_else(|| wrong_type(M::META.name))?;
        m.attach_related(relation, related)
    }

    fn related_mut<'a>(
        &self,
        object: &'a mut (dyn Any + Send),
        relation: usize,
    ) -> Vec<&'a mut (dyn Any + Send)> {
        match object.downcast_mut::<M>() {
            Some(m) => m.related_mut(relation),
            None => Vec::new(),
        }
    }
}

pub(super) fn wrong_type(model: &'static str) -> Error {
    Error::from(crate::error::QueryError {
        model,
        reason: "related object of an unexpected type".into(),
    })
}

/// A relation field's storage of loaded related objects (implemented by
/// [`ForeignKey`](super::ForeignKey), `Option<ForeignKey>`, [`ManyToMany`](super::ManyToMany) and [`Reverse`](super::Reverse)).
pub trait RelationField: Send + Sync {
    /// Stores loaded objects.
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()>;
    /// The loaded objects, for nested loading.
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)>;
}

pub(super) fn take<T: 'static>(b: Box<dyn Any + Send>, model: &'static str) -> Result<T> {
    take_boxed(b, model).map(|b| *b)
}

/// As [`take`], keeping the allocation (for fields that hold a `Box<T>`).
pub(super) fn take_boxed<T: 'static>(
    b: Box<dyn Any + Send>,
    model: &'static str,
) -> Result<Box<T>> {
    b.downcast::<T>().map_err(|_| wrong_type(model))
}
