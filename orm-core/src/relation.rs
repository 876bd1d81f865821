//! Relations: [`ForeignKey`], [`OneToOne`], [`ManyToMany`] and the reverse
//! side, [`Reverse`], with their metadata ([`RelationMeta`]).
//!
//! A relation field is declared on the model that holds it:
//!
//! ```no_run
//! use orm_core::prelude::*;
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct User {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub name: String,
//!     pub posts: Reverse<Post>,            // the other side of Post.author
//! }
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Tag {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub name: String,
//! }
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Post {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(related_name = "posts", on_delete = "cascade")]
//!     pub author: ForeignKey<User>,         // column author_id
//!     pub title: String,
//!     #[orm(through = "post_tags")]
//!     pub tags: ManyToMany<Tag>,
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use bytes::BytesMut;
use postgres_types::{FromSql, IsNull, ToSql, Type};

use crate::error::{Error, Result};
use crate::model::{FieldMeta, Model, ModelMeta};
use crate::types::{Arg, BaseType, FieldType, SqlType};
use crate::value::Value;

/// What the database does to a row whose foreign key points at a deleted row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnDelete {
    /// Delete this row too (`ON DELETE CASCADE`, the default).
    Cascade,
    /// Set the key to NULL (`ON DELETE SET NULL`; the field must be an `Option`).
    SetNull,
    /// Refuse the delete (`ON DELETE RESTRICT`).
    Restrict,
    /// Refuse the delete, as Django's `PROTECT` (`ON DELETE RESTRICT` in the database).
    Protect,
    /// Set the key to the column's default (`ON DELETE SET DEFAULT`).
    SetDefault,
    /// Refuse the delete if rows still refer to it, checked at the end of the
    /// statement (`ON DELETE NO ACTION`; the constraint is not deferrable).
    DoNothing,
}

impl OnDelete {
    /// The SQL action.
    pub const fn sql(&self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Restrict | OnDelete::Protect => "RESTRICT",
            OnDelete::SetDefault => "SET DEFAULT",
            OnDelete::DoNothing => "NO ACTION",
        }
    }
}

/// The kind of a relation field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// A [`ForeignKey`]: this row holds the key of one target row.
    ForeignKey,
    /// A [`OneToOne`]: a unique foreign key.
    OneToOne,
    /// A [`ManyToMany`]: rows of a through table link the two sides.
    ManyToMany,
    /// A [`Reverse`]: the other side of a foreign key or many-to-many
    /// declared on the target model.
    Reverse,
}

/// One relation of a model (emitted by the derive).
pub struct RelationMeta {
    /// The field's name (`author`, `tags`, `posts`).
    pub name: &'static str,
    /// Its kind.
    pub kind: RelationKind,
    /// The model that declares it.
    pub owner: &'static dyn DynModel,
    /// The model it points at.
    pub target: &'static dyn DynModel,
    /// For foreign keys: the index of the key column in the owner's fields.
    pub field: Option<usize>,
    /// `related_name = ".."`: the name of the reverse side on the target.
    pub related_name: Option<&'static str>,
    /// `on_delete = ".."` for foreign keys.
    pub on_delete: OnDelete,
    /// `through = ".."` for many-to-many: the link table's name.
    pub through: Option<&'static str>,
    /// For [`RelationKind::Reverse`]: declared as [`ReverseOne`] (at most one row).
    pub one: bool,
}

impl fmt::Debug for RelationMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} ({:?} to {})",
            self.owner.meta().name,
            self.name,
            self.kind,
            self.target.meta().name
        )
    }
}

/// The same relation: the same name on the same model. Compared by name,
/// never by address alone: metadata copied into two crates has two
/// addresses. (One address is still a shortcut: it is one relation.)
impl PartialEq for RelationMeta {
    fn eq(&self, other: &Self) -> bool {
        if std::ptr::eq(self, other) {
            return true;
        }
        let (mine, theirs) = (self.owner.meta(), other.owner.meta());
        self.name == other.name && mine.table == theirs.table && mine.name == theirs.name
    }
}

impl Eq for RelationMeta {}

/// A resolved hop from one table to another, used to render the
/// correlated subquery of a lookup across a relation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hop {
    /// `target.target_col = source.source_col` (forward or reverse key).
    Key {
        target: &'static ModelMeta,
        target_col: &'static str,
        source_col: &'static str,
    },
    /// `target.pk = through.target_col AND through.source_col = source.pk`.
    Through {
        target: &'static ModelMeta,
        through: &'static str,
        source_col: &'static str,
        target_col: &'static str,
    },
}

impl Hop {
    pub(crate) fn target(&self) -> &'static ModelMeta {
        match self {
            Hop::Key { target, .. } | Hop::Through { target, .. } => target,
        }
    }
}

impl RelationMeta {
    /// The key column of a foreign key.
    pub(crate) fn key_field(&self) -> Option<&'static FieldMeta> {
        self.field.map(|i| &self.owner.meta().fields[i])
    }

    /// For a [`RelationKind::Reverse`]: the forward relation on the target
    /// it mirrors: the one whose `related_name` is this field's name, else
    /// the only foreign key or many-to-many of the target that points back.
    pub fn mirror(&self) -> Result<&'static RelationMeta> {
        let owner = self.owner.meta();
        let target = self.target.meta();
        let candidates: Vec<&'static RelationMeta> = target
            .relations
            .iter()
            .filter(|r| r.kind != RelationKind::Reverse && r.target.meta().table == owner.table)
            .collect();
        let named: Vec<_> = candidates
            .iter()
            .copied()
            .filter(|r| r.related_name == Some(self.name))
            .collect();
        match (named.as_slice(), candidates.as_slice()) {
            ([one], _) => Ok(one),
            ([], [one]) => Ok(one),
            _ => Err(Error::from(crate::error::QueryError {
                model: owner.name,
                reason: format!(
                    "`{}.{}: Reverse<{}>` matches {} relations of {} pointing back; \
                     set `related_name = \"{}\"` on the right one",
                    owner.name,
                    self.name,
                    target.name,
                    if named.is_empty() {
                        candidates.len()
                    } else {
                        named.len()
                    },
                    target.name,
                    self.name
                ),
            })),
        }
    }

    /// The through table of a many-to-many and its two key columns
    /// `(table, owner_col, target_col)`.
    pub(crate) fn through_table(&self) -> (String, String, String) {
        let owner = self.owner.meta();
        let target = self.target.meta();
        let table = self
            .through
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}_{}", owner.table, self.name));
        let owner_name = snake(owner.name);
        let target_name = snake(target.name);
        if owner.table == target.table {
            (
                table,
                format!("from_{owner_name}_id"),
                format!("to_{target_name}_id"),
            )
        } else {
            (
                table,
                format!("{owner_name}_id"),
                format!("{target_name}_id"),
            )
        }
    }

    /// The hop from the owner's table to the target's.
    pub(crate) fn hop(&self) -> Result<Hop> {
        let owner = self.owner.meta();
        let target = self.target.meta();
        Ok(match self.kind {
            RelationKind::ForeignKey | RelationKind::OneToOne => Hop::Key {
                target,
                target_col: target.pk_field().column,
                source_col: self
                    .key_field()
                    .map_or(owner.pk_field().column, |f| f.column),
            },
            RelationKind::ManyToMany => {
                let (through, source_col, target_col) = self.through_table();
                Hop::Through {
                    target,
                    through: leak(through),
                    source_col: leak(source_col),
                    target_col: leak(target_col),
                }
            }
            RelationKind::Reverse => {
                let mirror = self.mirror()?;
                match mirror.kind {
                    RelationKind::ManyToMany => {
                        let (through, mirror_owner_col, mirror_target_col) = mirror.through_table();
                        Hop::Through {
                            target,
                            through: leak(through),
                            source_col: leak(mirror_target_col),
                            target_col: leak(mirror_owner_col),
                        }
                    }
                    _ => Hop::Key {
                        target,
                        target_col: mirror.key_field().map_or("id", |f| f.column),
                        source_col: owner.pk_field().column,
                    },
                }
            }
        })
    }
}

/// Table and column names derived at run time live as long as the program
/// (a bounded set: one per relation), like the static metadata they extend.
fn leak(s: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(existing) = names.get(s.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// `UserProfile` -> `user_profile`, `HTTPServer` -> `http_server`: the same
/// rule as the derive's default table names.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A boxed future, for operations reached through [`DynModel`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

fn wrong_type(model: &'static str) -> Error {
    Error::from(crate::error::QueryError {
        model,
        reason: "related object of an unexpected type".into(),
    })
}

/// A relation field's storage of loaded related objects (implemented by
/// [`ForeignKey`], `Option<ForeignKey>`, [`ManyToMany`] and [`Reverse`]).
pub trait RelationField: Send + Sync {
    /// Stores loaded objects.
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()>;
    /// The loaded objects, for nested loading.
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)>;
}

fn take<T: 'static>(b: Box<dyn Any + Send>, model: &'static str) -> Result<T> {
    take_boxed(b, model).map(|b| *b)
}

/// As [`take`], keeping the allocation (for fields that hold a `Box<T>`).
fn take_boxed<T: 'static>(b: Box<dyn Any + Send>, model: &'static str) -> Result<Box<T>> {
    b.downcast::<T>().map_err(|_| wrong_type(model))
}

// ---------------------------------------------------------------- ForeignKey

/// A foreign key to model `T`: the column `<field>_id` holding `T`'s primary
/// key, and `T` itself once loaded (by `select_related`, `prefetch_related`
/// or [`ForeignKey::load`]).
///
/// `Option<ForeignKey<T>>` is a nullable foreign key.
pub struct ForeignKey<T: Model> {
    key: T::Pk,
    loaded: Option<Box<T>>,
}

/// A one-to-one relation: a unique [`ForeignKey`].
pub type OneToOne<T> = ForeignKey<T>;

impl<T: Model> ForeignKey<T> {
    /// A key to the row of `T` with primary key `key`.
    pub fn from_key(key: T::Pk) -> Self {
        ForeignKey { key, loaded: None }
    }

    /// A key to `object`, which must be saved already.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when `object` has no primary key yet.
    pub fn to(object: &T) -> Result<Self> {
        if object.pk_is_unset() {
            return Err(Error::from(crate::error::ValueError {
                model: T::META.name,
                field: T::META.pk_field().name,
                reason: format!(
                    "cannot refer to an unsaved {}: save it first, so it has a primary key",
                    T::META.name
                ),
            }));
        }
        let key = crate::__private::from_value::<T::Pk>(object.pk(), T::META.name, "pk")?;
        Ok(ForeignKey { key, loaded: None })
    }

    /// The primary key of the target row.
    pub fn key(&self) -> &T::Pk {
        &self.key
    }

    /// The target, when it was loaded.
    pub fn get(&self) -> Option<&T> {
        self.loaded.as_deref()
    }

    /// The loaded target, by value: moved out, no clone (the key stays, the
    /// target is no longer loaded).
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub author: ForeignKey<User> }
    /// # async fn run() -> orm_core::Result<()> {
    /// let authors: Vec<User> = Post::all()
    ///     .select_related(["author"])
    ///     .await?
    ///     .into_iter()
    ///     .filter_map(|mut post| post.author.take())
    ///     .collect();
    /// # Ok(()) }
    /// ```
    pub fn take(&mut self) -> Option<T> {
        self.loaded.take().map(|target| *target)
    }

    /// The loaded target, by value, consuming the key.
    pub fn into_loaded(self) -> Option<T> {
        self.loaded.map(|target| *target)
    }

    /// True when the target has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }

    /// Fetches the target row from the database (always a query).
    ///
    /// # Errors
    /// [`Error::DanglingKey`] when no row has this key.
    pub async fn fetch(&self) -> Result<T> {
        let key = self.key.to_value();
        let q = crate::Q::<T>::from_node(crate::query::q::Node::leaf(
            T::META.pk_field(),
            crate::query::q::Op::Exact(key.clone()),
        ));
        match crate::QuerySet::<T>::new().get_or_none(q).await? {
            Some(t) => Ok(t),
            None => Err(Error::from(crate::error::DanglingKeyError {
                model: T::META.name,
                key: key.to_string(),
            })),
        }
    }

    /// The target, fetched once and kept.
    ///
    /// # Errors
    /// As [`fetch`](ForeignKey::fetch).
    pub async fn load(&mut self) -> Result<&T> {
        if self.loaded.is_none() {
            let t = self.fetch().await?;
            self.loaded = Some(Box::new(t));
        }
        Ok(self.loaded.as_deref().expect("just loaded"))
    }
}

impl<T: Model> Default for ForeignKey<T>
where
    T::Pk: Default,
{
    fn default() -> Self {
        ForeignKey::from_key(T::Pk::default())
    }
}

impl<T: Model + Clone> Clone for ForeignKey<T> {
    fn clone(&self) -> Self {
        ForeignKey {
            key: self.key.clone(),
            loaded: self.loaded.clone(),
        }
    }
}

impl<T: Model> fmt::Debug for ForeignKey<T>
where
    T::Pk: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForeignKey<{}>({:?}", T::META.name, self.key)?;
        if self.loaded.is_some() {
            f.write_str(", loaded")?;
        }
        f.write_str(")")
    }
}

/// Two keys are equal when they point at the same row.
impl<T: Model> PartialEq for ForeignKey<T>
where
    T::Pk: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: Model> ToSql for ForeignKey<T> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.key.to_sql(ty, out)
    }
    fn accepts(ty: &Type) -> bool {
        <T::Pk as ToSql>::accepts(ty)
    }
    postgres_types::to_sql_checked!();
}

impl<'a, T: Model> FromSql<'a> for ForeignKey<T> {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(ForeignKey::from_key(<T::Pk as FromSql>::from_sql(ty, raw)?))
    }
    fn accepts(ty: &Type) -> bool {
        <T::Pk as FromSql>::accepts(ty)
    }
}

impl<T: Model> FieldType for ForeignKey<T> {
    const SQL_TYPE: SqlType = <T::Pk as FieldType>::SQL_TYPE;
    type Base = Self;
    fn to_value(&self) -> Value {
        self.key.to_value()
    }
    fn from_value(value: Value) -> Option<Self> {
        T::Pk::from_value(value).map(ForeignKey::from_key)
    }
}

impl<T: Model> BaseType for ForeignKey<T> {}

impl<T: Model> RelationField for ForeignKey<T> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        if let Related::One(Some(b)) = related {
            self.loaded = Some(take_boxed::<T>(b, model)?);
        }
        Ok(())
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        self.loaded
            .as_deref_mut()
            .map(|t| vec![t as &mut (dyn Any + Send)])
            .unwrap_or_default()
    }
}

impl<T: Model> RelationField for Option<ForeignKey<T>> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        match self {
            Some(fk) => fk.attach(related, model),
            None => Ok(()),
        }
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        match self {
            Some(fk) => fk.loaded_mut(),
            None => Vec::new(),
        }
    }
}

/// A saved object, or a key of `T`'s, as the value of a foreign key.
#[diagnostic::do_not_recommend]
impl<T: Model> Arg<ForeignKey<T>> for &T {
    fn into_value(self) -> Value {
        self.pk()
    }
}
#[diagnostic::do_not_recommend]
impl<T: Model> Arg<Option<ForeignKey<T>>> for &T {
    fn into_value(self) -> Value {
        self.pk()
    }
}
#[diagnostic::do_not_recommend]
impl<T: Model> Arg<ForeignKey<T>> for &ForeignKey<T> {
    fn into_value(self) -> Value {
        self.key.to_value()
    }
}
#[diagnostic::do_not_recommend]
impl<T: Model> Arg<Option<ForeignKey<T>>> for &ForeignKey<T> {
    fn into_value(self) -> Value {
        self.key.to_value()
    }
}

macro_rules! key_args {
    ($($ty:ty => |$a:ident| $conv:expr),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<'a, T: Model> Arg<ForeignKey<T>> for $ty where $ty: Arg<T::Pk> {
            fn into_value(self) -> Value {
                let $a = self;
                $conv
            }
        }
        #[diagnostic::do_not_recommend]
        impl<'a, T: Model> Arg<Option<ForeignKey<T>>> for $ty where $ty: Arg<T::Pk> {
            fn into_value(self) -> Value {
                let $a = self;
                $conv
            }
        }
    )*};
}

key_args!(
    i16 => |a| Value::I16(Some(a)),
    i32 => |a| Value::I32(Some(a)),
    i64 => |a| Value::I64(Some(a)),
    uuid::Uuid => |a| Value::Uuid(Some(a)),
    String => |a| Value::Text(Some(a)),
    &'a str => |a| Value::Text(Some(a.to_owned())),
);

// ------------------------------------------------------ ManyToMany / Reverse

/// The impls that let a relation field that is not a column be named in
/// `q!` (for `isnull` and paths); it is never bound or decoded.
macro_rules! non_column {
    ($name:ident) => {
        impl<T: Model> ToSql for $name<T> {
            fn to_sql(
                &self,
                _ty: &Type,
                _out: &mut BytesMut,
            ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
                Err(concat!(stringify!($name), " is not a column").into())
            }
            fn accepts(_ty: &Type) -> bool {
                false
            }
            postgres_types::to_sql_checked!();
        }

        impl<'a, T: Model> FromSql<'a> for $name<T> {
            fn from_sql(
                _ty: &Type,
                _raw: &'a [u8],
            ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                Ok($name::default())
            }
            fn accepts(_ty: &Type) -> bool {
                false
            }
        }

        impl<T: Model> FieldType for $name<T> {
            const SQL_TYPE: SqlType = <T::Pk as FieldType>::SQL_TYPE;
            type Base = Self;
            fn to_value(&self) -> Value {
                Self::SQL_TYPE.null()
            }
            fn from_value(_value: Value) -> Option<Self> {
                Some($name::default())
            }
        }
    };
}

macro_rules! many_side {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<T> {
            loaded: Option<Vec<T>>,
        }

        impl<T> $name<T> {
            /// The related objects, when loaded by `prefetch_related`.
            pub fn get(&self) -> Option<&[T]> {
                self.loaded.as_deref()
            }

            /// The loaded objects, by value: moved out, no clone (the
            /// field is no longer loaded).
            pub fn take(&mut self) -> Option<Vec<T>> {
                self.loaded.take()
            }

            /// The loaded objects, by value.
            pub fn into_loaded(self) -> Option<Vec<T>> {
                self.loaded
            }

            /// True when the related objects have been loaded.
            pub fn is_loaded(&self) -> bool {
                self.loaded.is_some()
            }
        }

        impl<T> Default for $name<T> {
            fn default() -> Self {
                $name { loaded: None }
            }
        }

        impl<T: Clone> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { loaded: self.loaded.clone() }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.loaded {
                    Some(items) => write!(f, concat!(stringify!($name), "({} loaded)"), items.len()),
                    None => f.write_str(concat!(stringify!($name), "(not loaded)")),
                }
            }
        }

        /// Relation fields are not compared (they are not columns).
        impl<T> PartialEq for $name<T> {
            fn eq(&self, _other: &Self) -> bool {
                true
            }
        }

        non_column!($name);

        impl<T: Model> RelationField for $name<T> {
            fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
                match related {
                    Related::Many(items) => {
                        self.loaded = Some(
                            items
                                .into_iter()
                                .map(|b| take::<T>(b, model))
                                .collect::<Result<_>>()?,
                        );
                    }
                    Related::Group(group) => {
                        self.loaded = Some(take::<Vec<T>>(group, model)?);
                    }
                    Related::One(_) => {}
                }
                Ok(())
            }
            fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
                match &mut self.loaded {
                    Some(items) => items.iter_mut().map(|t| t as &mut (dyn Any + Send)).collect(),
                    None => Vec::new(),
                }
            }
        }
    };
}

many_side!(
    /// A many-to-many relation to `T` through a link table (created with the
    /// models, or named with `#[orm(through = "..")]`). Not a column: manage
    /// the links with the accessor the derive generates (`post.tags().add(..)`),
    /// and read them after `prefetch_related(["tags"])` with [`ManyToMany::get`].
    ManyToMany
);

many_side!(
    /// The reverse side of a [`ForeignKey`] or [`ManyToMany`] declared on `T`:
    /// `posts: Reverse<Post>` on `User` mirrors `Post.author`. Not a column. It
    /// makes `posts__..` lookups, `user.posts()` and
    /// `prefetch_related(["posts"])` possible.
    Reverse
);

// ------------------------------------------------------------- accessors

/// The rows of `T` on the other side of the reverse relation `rel` of
/// `owner` (`user.posts()`), as a query to refine.
#[doc(hidden)]
pub fn reverse_query<S: Model, T: Model>(
    owner: &S,
    rel: &'static RelationMeta,
) -> crate::QuerySet<T> {
    use crate::query::q::{Node, Op, RelPath};
    match rel.mirror() {
        Ok(mirror) => crate::QuerySet::new().filter(crate::Q::from_node(Node::leaf_at(
            RelPath::EMPTY.push(mirror),
            S::META.pk_field(),
            Op::Exact(owner.pk()),
        ))),
        Err(Error::InvalidQuery(e)) => crate::QuerySet::new().with_error(e.model, e.reason),
        Err(err) => crate::QuerySet::new().with_error(S::META.name, err.to_string()),
    }
}

/// The links of one object in a many-to-many relation (`post.tags()`):
/// add, remove, clear, and query the linked rows.
pub struct ManyToManyManager<S, T> {
    owner: Value,
    owner_unsaved: bool,
    rel: &'static RelationMeta,
    _marker: PhantomData<fn() -> (S, T)>,
}

impl<S: Model, T: Model> ManyToManyManager<S, T> {
    /// The manager of relation `rel` for `owner` (used by the derive).
    #[doc(hidden)]
    pub fn new(owner: &S, rel: &'static RelationMeta) -> Self {
        ManyToManyManager {
            owner: owner.pk(),
            owner_unsaved: owner.pk_is_unset(),
            rel,
            _marker: PhantomData,
        }
    }

    fn unsaved(model: &'static str) -> Error {
        Error::from(crate::error::ValueError {
            model,
            field: "pk",
            reason: format!("an unsaved {model} cannot be linked: save it first"),
        })
    }

    fn keys(&self, objects: &[&T]) -> Result<Value> {
        if self.owner_unsaved {
            return Err(Self::unsaved(S::META.name));
        }
        if objects.iter().any(|o| o.pk_is_unset()) {
            return Err(Self::unsaved(T::META.name));
        }
        Ok(Value::Array(objects.iter().map(|o| o.pk()).collect()))
    }

    /// Links `objects` (already linked ones are left as they are); returns
    /// how many links were added.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner or an object is unsaved;
    /// [`Error::Integrity`] when an object's row does not exist.
    pub async fn add(&self, objects: &[&T]) -> Result<u64> {
        let keys = self.keys(objects)?;
        let (through, own, other) = self.rel.through_table();
        let mut w = crate::sql::SqlWriter::new();
        w.push_sql("INSERT INTO ");
        w.push_ident(&through);
        w.push_sql(" (");
        w.push_ident(&own);
        w.push_sql(", ");
        w.push_ident(&other);
        w.push_sql(") SELECT ");
        w.push_bind(self.owner.clone());
        w.push_sql(", \"key\" FROM UNNEST(");
        w.push_bind(keys);
        w.push_sql("::");
        w.push_sql(&T::META.pk_field().ddl_type());
        w.push_sql("[]) AS \"key\" ON CONFLICT DO NOTHING");
        let stmt = w.finish();
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
    }

    /// Unlinks `objects`; returns how many links were removed.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner or an object is unsaved.
    pub async fn remove(&self, objects: &[&T]) -> Result<u64> {
        let keys = self.keys(objects)?;
        self.delete_links(Some(keys)).await
    }

    /// Removes every link of the owner; returns how many.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner is unsaved.
    pub async fn clear(&self) -> Result<u64> {
        self.keys(&[])?;
        self.delete_links(None).await
    }

    /// `DELETE FROM link WHERE owner_col = $1 [AND other_col = ANY($2)]`.
    async fn delete_links(&self, keys: Option<Value>) -> Result<u64> {
        let (through, own, other) = self.rel.through_table();
        let mut w = crate::sql::SqlWriter::new();
        w.push_sql("DELETE FROM ");
        w.push_ident(&through);
        w.push_sql(" WHERE ");
        w.push_ident(&own);
        w.push_sql(" = ");
        w.push_bind(self.owner.clone());
        if let Some(keys) = keys {
            w.push_sql(" AND ");
            w.push_ident(&other);
            w.push_sql(" = ANY(");
            w.push_bind(keys);
            w.push_sql(")");
        }
        let stmt = w.finish();
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
    }

    /// The linked rows, as a query to refine (`post.tags().all().await?`).
    pub fn all(&self) -> crate::QuerySet<T> {
        use crate::query::q::{Node, Op};
        let (through, own, other) = self.rel.through_table();
        crate::QuerySet::new().filter(crate::Q::from_node(Node::leaf(
            T::META.pk_field(),
            Op::Linked {
                through: leak(through),
                source_col: leak(own),
                target_col: leak(other),
                owner: self.owner.clone(),
            },
        )))
    }

    /// The linked rows matching `q`.
    pub fn filter(&self, q: impl crate::IntoQ<T>) -> crate::QuerySet<T> {
        self.all().filter(q)
    }
}

/// The reverse side of a [`OneToOne`] declared on `T`: `profile:
/// ReverseOne<Profile>` on `User` mirrors `Profile.user`. Not a column.
/// `user.profile().await?` is the row or `None`; `select_related` and
/// `prefetch_related` load it into [`ReverseOne::get`].
pub struct ReverseOne<T> {
    loaded: Option<Option<Box<T>>>,
}

impl<T> ReverseOne<T> {
    /// The related object, when loaded and present.
    pub fn get(&self) -> Option<&T> {
        self.loaded.as_ref().and_then(|o| o.as_deref())
    }

    /// The related object, by value, when loaded and present: moved out,
    /// no clone (the field is no longer loaded).
    pub fn take(&mut self) -> Option<T> {
        self.loaded.take().flatten().map(|object| *object)
    }

    /// The related object, by value: `None` when not loaded, `Some(None)`
    /// when loaded and absent.
    pub fn into_loaded(self) -> Option<Option<T>> {
        self.loaded.map(|object| object.map(|object| *object))
    }

    /// True when it has been loaded (present or not).
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }
}

impl<T> Default for ReverseOne<T> {
    fn default() -> Self {
        ReverseOne { loaded: None }
    }
}

impl<T: Clone> Clone for ReverseOne<T> {
    fn clone(&self) -> Self {
        ReverseOne {
            loaded: self.loaded.clone(),
        }
    }
}

impl<T> fmt::Debug for ReverseOne<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.loaded {
            None => "ReverseOne(not loaded)",
            Some(None) => "ReverseOne(none)",
            Some(Some(_)) => "ReverseOne(loaded)",
        })
    }
}

non_column!(ReverseOne);

impl<T: Model> RelationField for ReverseOne<T> {
    fn attach(&mut self, related: Related, model: &'static str) -> Result<()> {
        let one = match related {
            Related::One(one) => one,
            Related::Many(items) => items.into_iter().next(),
            Related::Group(group) => take::<Vec<T>>(group, model)?
                .into_iter()
                .next()
                .map(|t| Box::new(t) as Box<dyn Any + Send>),
        };
        self.loaded = Some(match one {
            Some(b) => Some(take_boxed::<T>(b, model)?),
            None => None,
        });
        Ok(())
    }
    fn loaded_mut(&mut self) -> Vec<&mut (dyn Any + Send)> {
        match &mut self.loaded {
            Some(Some(t)) => vec![&mut **t as &mut (dyn Any + Send)],
            _ => Vec::new(),
        }
    }
}

/// The row on the other side of the reverse one-to-one `rel`, or `None`.
#[doc(hidden)]
pub async fn reverse_one<S: Model, T: Model>(
    owner: &S,
    rel: &'static RelationMeta,
) -> Result<Option<T>> {
    reverse_query::<S, T>(owner, rel)
        .get_or_none(crate::Q::all())
        .await
}

#[cfg(test)]
mod tests {
    use super::snake;

    #[test]
    fn link_columns_follow_the_table_naming_rule() {
        assert_eq!(snake("Post"), "post");
        assert_eq!(snake("UserProfile"), "user_profile");
        assert_eq!(snake("HTTPServer"), "http_server");
    }
}
