//! Tenant scoping: a model's `#[orm(tenant)]` field, and the task-local
//! current tenant by which every statement on such a model is filtered and
//! stamped.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Invoice { #[orm(primary_key)] pub id: i64, #[orm(tenant)] pub tenant_id: i64, pub total: i64 }
//! # async fn run() -> orm_core::Result<()> {
//! orm_core::tenant::scope(7_i64, async {
//!     // SELECT .. FROM "invoice" WHERE "invoice"."tenant_id" = $1  -- $1 = 7
//!     let mine = Invoice::all().await?;
//!     // INSERT .. ("tenant_id", "total") VALUES ($1, $2)  -- tenant_id stamped: 7
//!     Invoice::create(Invoice { total: 10, ..Default::default() }).await?;
//!     Ok::<_, orm_core::Error>(())
//! })
//! .await?;
//! // Across tenants: explicit, greppable.
//! let every = Invoice::objects_all_tenants().count().await?;
//! # Ok(()) }
//! ```
//!
//! The rules:
//! - With a current tenant ([`scope`]), every query set on a tenant model
//!   (rows, `get`, `count`, `exists`, aggregates, `values`, `update`,
//!   `delete`, iterators, subqueries, `prefetch_related`, reverse
//!   relations, cascades) is `AND "tenant" = <current>`; `create`, `save`
//!   and `bulk_create` stamp the tenant field, and refuse an object whose
//!   tenant field holds another tenant; `save` and `delete` of an object
//!   touch its row only where the tenant matches;
//!   [`Model::raw`](crate::ActiveRecord::raw) refuses a row of another
//!   tenant.
//! - Without one, any statement on a tenant model is an error saying so —
//!   never every tenant's rows.
//! - The tenant is the one of the scope a statement's future runs in: a
//!   query set's `count()`, `update()`, `fetch()`, `stream()`, .. render
//!   their statement when first polled, so `tenant::scope(2, qs.count())`
//!   counts tenant 2's rows whatever scope `qs.count()` was called in. (A
//!   many-to-many manager's `all()` takes the tenant when it is called:
//!   call it inside the scope.)
//! - Across tenants: [`QuerySet::all_tenants`](crate::QuerySet::all_tenants)
//!   (`Model::objects_all_tenants()`), or [`unscoped`] for a whole block
//!   (writes inside keep the tenant field as given).
//!
//! With `#[orm(tenant, rls)]`, migrations also enable PostgreSQL's
//! row-level security on the table, keyed on the setting [`SETTING`]
//! (`orm.tenant`), which the ORM sets for every statement run in a tenant
//! scope: inside a transaction block when the block begins (and again when
//! the scope changes inside it), and around a statement outside a block
//! (`BEGIN; set_config(..); <statement>; COMMIT` in one round trip); see
//! the crate docs, "Tenants".

use std::borrow::Cow;
use std::future::Future;

use crate::error::{Error, Result};
use crate::meta::{FieldMeta, ModelMeta};
use crate::model::Model;
use crate::query::q::{Node, Op};
use crate::types::SqlType;
use crate::value::Value;

/// The PostgreSQL setting row-level security policies read the current
/// tenant from: `current_setting('orm.tenant', true)`.
pub const SETTING: &str = "orm.tenant";

/// A tenant's identifier: an integer, a UUID or a text, as the tenant
/// fields of the models hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantId(Value);

impl TenantId {
    /// The identifier as a [`Value`].
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// The identifier as the text [`SETTING`] holds.
    pub fn to_setting(&self) -> String {
        match &self.0 {
            Value::I64(Some(n)) => n.to_string(),
            Value::I32(Some(n)) => n.to_string(),
            Value::Uuid(Some(u)) => u.to_string(),
            Value::Text(Some(s)) => s.clone(),
            other => format!("{other:?}"),
        }
    }

    /// The identifier as a value of `field`'s type: an `i64` tenant for an
    /// `integer` field when it fits, else only the same type.
    pub(crate) fn value_for(&self, meta: &ModelMeta, field: &FieldMeta) -> Result<Value> {
        let value = match (&self.0, field.sql_type) {
            (Value::I64(Some(n)), SqlType::BigInt) => Some(Value::I64(Some(*n))),
            (Value::I64(Some(n)), SqlType::Integer) => {
                i32::try_from(*n).ok().map(|n| Value::I32(Some(n)))
            }
            (Value::I32(Some(n)), SqlType::Integer) => Some(Value::I32(Some(*n))),
            (Value::I32(Some(n)), SqlType::BigInt) => Some(Value::I64(Some(i64::from(*n)))),
            (Value::Uuid(Some(u)), SqlType::Uuid) => Some(Value::Uuid(Some(*u))),
            (Value::Text(Some(s)), SqlType::Text) => Some(Value::Text(Some(s.clone()))),
            _ => None,
        };
        value.ok_or_else(|| {
            Error::from(crate::error::ValueError {
                model: meta.name,
                field: field.name,
                reason: format!(
                    "the current tenant {} is not a value of the tenant field's type ({})",
                    self.to_setting(),
                    field.ddl_type()
                ),
            })
        })
    }
}

impl From<i64> for TenantId {
    fn from(n: i64) -> Self {
        TenantId(Value::I64(Some(n)))
    }
}

impl From<i32> for TenantId {
    fn from(n: i32) -> Self {
        TenantId(Value::I32(Some(n)))
    }
}

impl From<uuid::Uuid> for TenantId {
    fn from(u: uuid::Uuid) -> Self {
        TenantId(Value::Uuid(Some(u)))
    }
}

impl From<String> for TenantId {
    fn from(s: String) -> Self {
        TenantId(Value::Text(Some(s)))
    }
}

impl From<&str> for TenantId {
    fn from(s: &str) -> Self {
        TenantId(Value::Text(Some(s.to_owned())))
    }
}

/// What a task runs under.
#[derive(Debug, Clone)]
enum Current {
    Tenant(TenantId),
    /// [`unscoped`]: every tenant.
    Unscoped,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `fut` with `tenant` as the current tenant of every ORM call inside
/// it (in the functions it calls and the futures it joins). Scopes nest:
/// the innermost wins. Each future has its own, so `join!` of two scopes
/// with different tenants is safe; a task started with `tokio::spawn`
/// inside does not inherit it (wrap its future in `scope` too).
pub fn scope<F: Future>(tenant: impl Into<TenantId>, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(Current::Tenant(tenant.into()), fut)
}

/// Runs `fut` across every tenant: statements on tenant models inside are
/// not filtered, and writes keep the tenant field as given. The explicit
/// escape for admin tasks and migrations of data.
pub fn unscoped<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(Current::Unscoped, fut)
}

/// The current tenant: the innermost [`scope`]'s; `None` outside any, or
/// inside [`unscoped`].
pub fn current() -> Option<TenantId> {
    match CURRENT.try_with(Current::clone) {
        Ok(Current::Tenant(t)) => Some(t),
        _ => None,
    }
}

/// Whether this task runs inside [`unscoped`] (its innermost scope).
pub fn is_unscoped() -> bool {
    matches!(CURRENT.try_with(Current::clone), Ok(Current::Unscoped))
}

/// The error of a statement on tenant model `meta` with no current tenant.
fn no_tenant(meta: &ModelMeta) -> Error {
    Error::from(crate::error::QueryError {
        model: meta.name,
        reason: format!(
            "{} is a tenant model and no tenant is current: run this inside \
             orm_core::tenant::scope(tenant_id, ..), or reach across tenants explicitly \
             with .all_tenants() / {}::objects_all_tenants() / orm_core::tenant::unscoped(..)",
            meta.name, meta.name
        ),
    })
}

/// `meta`'s tenant field and the current tenant as its value; `None` for
/// a model without one or inside [`unscoped`].
///
/// # Errors
/// No current tenant, or one of another type.
fn current_for(meta: &'static ModelMeta) -> Result<Option<(&'static FieldMeta, Value)>> {
    let Some(tenant) = meta.tenant else {
        return Ok(None);
    };
    let field = &meta.fields[tenant.field];
    match CURRENT.try_with(Current::clone) {
        Ok(Current::Unscoped) => Ok(None),
        Ok(Current::Tenant(t)) => Ok(Some((field, t.value_for(meta, field)?))),
        Err(_) => Err(no_tenant(meta)),
    }
}

/// The current tenant as a value of `meta`'s tenant field: `None` for a
/// model without one or inside [`unscoped`].
///
/// # Errors
/// A tenant model with no current tenant, or one of another type.
pub(crate) fn current_value(meta: &'static ModelMeta) -> Result<Option<Value>> {
    Ok(current_for(meta)?.map(|(_, value)| value))
}

/// The condition `"tenant" = <current>` of `meta`, or `None` (no tenant
/// field, or [`unscoped`]).
///
/// # Errors
/// A tenant model with no current tenant.
pub(crate) fn condition(meta: &'static ModelMeta) -> Result<Option<Node>> {
    Ok(current_for(meta)?.map(|(field, value)| Node::leaf(field, Op::Exact(value))))
}

/// `filter` of a statement on `meta`, restricted to the current tenant
/// (unless `all_tenants`, the query set's explicit escape). The one hook
/// of the query compile.
///
/// # Errors
/// As [`condition`].
pub(crate) fn restrict<'a>(
    meta: &'static ModelMeta,
    all_tenants: bool,
    filter: Cow<'a, Node>,
) -> Result<Cow<'a, Node>> {
    if all_tenants || meta.tenant.is_none() {
        return Ok(filter);
    }
    match condition(meta)? {
        None => Ok(filter),
        Some(_) if matches!(*filter, Node::Nothing) => Ok(filter),
        Some(cond) => Ok(Cow::Owned(filter.into_owned().and(cond))),
    }
}

/// Whether `value` is a field's unset default (`0`, `""`, the nil UUID):
/// what an object built with `..Default::default()` holds.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::I64(Some(0)) | Value::I32(Some(0)) => true,
        Value::Text(Some(s)) => s.is_empty(),
        Value::Uuid(Some(u)) => u.is_nil(),
        _ => false,
    }
}

/// Stamps `obj`'s tenant field with the current tenant before it is
/// written: set when unset; an error when it holds another tenant.
///
/// # Errors
/// No current tenant; the object holds another tenant.
pub(crate) fn stamp<M: Model>(obj: &mut M) -> Result<()> {
    let Some((field, value)) = current_for(M::META)? else {
        return Ok(());
    };
    let given = obj.field_value(field.position);
    if is_unset(&given) {
        return obj.set_field(field.position, value);
    }
    check_given(M::META, field, &given, &value)
}

/// `given`, the tenant field's value of an object, is `current`.
pub(crate) fn check_given(
    meta: &ModelMeta,
    field: &FieldMeta,
    given: &Value,
    current: &Value,
) -> Result<()> {
    if given == current {
        return Ok(());
    }
    Err(Error::from(crate::error::ValueError {
        model: meta.name,
        field: field.name,
        reason: format!(
            "the object belongs to tenant {} but the current tenant is {}: it is not \
             written across tenants (use orm_core::tenant::unscoped(..) to do that on purpose)",
            TenantId(given.clone()).to_setting(),
            TenantId(current.clone()).to_setting(),
        ),
    }))
}

/// Checks that `obj`, read or about to be written by key, belongs to the
/// current tenant (for `save`/`delete` of an object, and rows mapped by
/// [`crate::raw`]).
///
/// # Errors
/// No current tenant; the object is another tenant's.
pub(crate) fn check_row<M: Model>(obj: &M) -> Result<()> {
    let Some((field, value)) = current_for(M::META)? else {
        return Ok(());
    };
    check_given(M::META, field, &obj.field_value(field.position), &value)
}

/// Whether a model linked into this binary is a tenant model: read once,
/// then one load of a flag. With one, a query set's statement is rendered
/// when its future first runs (inside the [`scope`] it runs in), not when
/// `count()`, `update()`, .. are called: `tenant::scope(2, qs.count())`
/// evaluates `qs.count()` in the caller's scope.
#[inline]
pub(crate) fn in_use() -> bool {
    static USED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USED.get_or_init(|| crate::meta::registered_models().any(|m| m.tenant.is_some()))
}

/// Whether a model linked into this binary has row-level security
/// (`#[orm(tenant, rls)]`): read once, then one load of a flag, the only
/// cost of this module on the path of every statement.
#[inline]
pub(crate) fn rls_in_use() -> bool {
    static RLS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *RLS.get_or_init(|| crate::meta::registered_models().any(|m| m.tenant.is_some_and(|t| t.rls)))
}

/// The text [`SETTING`] holds for the current tenant: `None` outside any
/// [`scope`] or inside [`unscoped`].
pub(crate) fn current_setting() -> Option<String> {
    current().map(|t| t.to_setting())
}

/// Sets [`SETTING`] for the transaction just begun on `db` (its local
/// value: it ends with the transaction, so nothing reaches the
/// connection's next user, also through a pooler in transaction mode).
/// One statement per transaction block, only when row-level security is in
/// use and a tenant is current; the statements of the block set it again
/// when they run under another tenant (see `db/rls.rs`).
///
/// # Errors
/// As the statement.
pub(crate) async fn set_local(db: &crate::db::Db) -> Result<()> {
    if rls_in_use() {
        db.follow_tenant().await?;
    }
    Ok(())
}

/// Types a tenant field can have: `i64`, `i32`, `Uuid`, `String`, or a
/// foreign key to a model keyed by one of them.
#[diagnostic::on_unimplemented(
    message = "a tenant field is an `i64`, `i32`, `Uuid` or `String`, or a ForeignKey to a model keyed by one, not `{Self}`",
    label = "`#[orm(tenant)]` on a field of type `{Self}`"
)]
pub trait TenantKey {}

impl TenantKey for i64 {}
impl TenantKey for i32 {}
impl TenantKey for uuid::Uuid {}
impl TenantKey for String {}
impl<T: crate::model::SingleKey> TenantKey for crate::relation::ForeignKey<T> where T::Pk: TenantKey {}

/// The derive's check of a tenant field's type (at the attribute).
#[doc(hidden)]
pub fn assert_tenant_key<T: TenantKey>() {}

/// [`restrict`] for a subquery, built when the outer query is: its
/// problem goes to the subquery's `error`, reported when the outer query
/// runs.
pub(crate) fn restrict_subquery(
    meta: &'static ModelMeta,
    all_tenants: bool,
    filter: Node,
    error: &mut Option<String>,
) -> Node {
    match restrict(meta, all_tenants, Cow::Owned(filter.clone())) {
        Ok(restricted) => restricted.into_owned(),
        Err(err) => {
            error.get_or_insert(err.to_string());
            filter
        }
    }
}

/// The tenant value a write by key of `obj` adds to its `WHERE` (a tenant
/// model whose primary key does not include its tenant field).
pub(crate) fn row_tenant<M: Model>(obj: &M) -> Option<crate::value::Value> {
    M::META
        .tenant
        .filter(|t| !M::META.is_pk_field(t.field))
        .map(|t| obj.field_value(t.field))
}

/// Runs `f` with `tenant` current (`None`: [`unscoped`]), synchronously
/// (unit tests of the rendered SQL).
#[cfg(test)]
pub(crate) fn with_tenant<R>(tenant: Option<TenantId>, f: impl FnOnce() -> R) -> R {
    let current = match tenant {
        Some(t) => Current::Tenant(t),
        None => Current::Unscoped,
    };
    CURRENT.sync_scope(current, f)
}

/// Restricts the `select_related` joins of tenant models to the current
/// tenant (`AND "alias"."tenant" = $n` in their `ON`), unless
/// `all_tenants`.
///
/// # Errors
/// A joined tenant model with no current tenant.
pub(crate) fn restrict_joins(
    joins: &mut [crate::sql::joins::Join],
    all_tenants: bool,
) -> Result<()> {
    if all_tenants {
        return Ok(());
    }
    for join in joins {
        if let Some((field, value)) = current_for(join.rel.target.meta())? {
            join.tenant = Some((field.column, value));
        }
    }
    Ok(())
}

/// Checks the relations of `models` that no schema can hold with tenant
/// models (whose primary key includes the tenant column, Citus's shape):
///
/// - a foreign key from a model without a tenant field to a tenant model
///   (the key would need the tenant column it does not have: PostgreSQL
///   refuses a foreign key to a column that is not unique alone);
/// - a many-to-many relation to a tenant model declared on a model
///   without a tenant field (its link table's tenant column is the
///   declaring model's), or between tenant models whose tenant fields
///   differ in type.
///
/// Run by migrations and `generate_schemas` before any SQL is written.
///
/// # Errors
/// [`Error::Config`] naming the models, the field and the fix.
pub(crate) fn check_relations(models: &[&'static ModelMeta]) -> Result<()> {
    for meta in models {
        for (i, field) in meta.fields.iter().enumerate() {
            let Some(rel) = meta.relation_of_field(i) else {
                continue;
            };
            let target = rel.target.meta();
            if meta.tenant.is_some() {
                continue;
            }
            let Some(theirs) = target.tenant else {
                continue;
            };
            let their_field = &target.fields[theirs.field];
            return Err(Error::Config(format!(
                "{model}.{field} is a foreign key to {target}, a tenant model: {target}'s \
                 primary key includes its tenant column `{column}`, so a key from {model}, \
                 which has no tenant field, has nothing to refer to. Give {model} a tenant \
                 field (`#[orm(tenant)] pub {tfield}: ..` of the type of {target}.{tfield}); \
                 the foreign key then includes it",
                model = meta.name,
                field = field.name,
                target = target.name,
                column = their_field.column,
                tfield = their_field.name,
            )));
        }
        for rel in meta
            .relations
            .iter()
            .filter(|r| r.kind == crate::relation::RelationKind::ManyToMany)
        {
            check_link(meta, rel)?;
        }
    }
    Ok(())
}

/// A many-to-many with a tenant model: its link table has the tenant
/// column of the model that declares it, so that model must be a tenant
/// model, and a tenant model on the other side must hold its tenant in a
/// column of the same type (both foreign keys include it).
fn check_link(meta: &ModelMeta, rel: &crate::relation::RelationMeta) -> Result<()> {
    let target = rel.target.meta();
    let Some(theirs) = target.tenant else {
        return Ok(());
    };
    let their_field = &target.fields[theirs.field];
    let Some(mine) = meta.tenant else {
        return Err(Error::Config(format!(
            "{model}.{field} is a many-to-many relation to {target}, a tenant model, declared \
             on {model}, which has no tenant field: its link table would have no tenant \
             column, so neither Citus (which co-locates rows by the tenant) nor row-level \
             security could hold it. Declare the relation on {target} (`pub {back}: \
             ManyToMany<{model}>`, the link table then carries {target}'s tenant), or give \
             {model} a tenant field",
            model = meta.name,
            field = rel.name,
            target = target.name,
            back = orm_names::snake_case(meta.name),
        )));
    };
    let my_field = &meta.fields[mine.field];
    if my_field.ddl_type() != their_field.ddl_type() {
        return Err(Error::Config(format!(
            "{model}.{field} is a many-to-many relation between tenant models whose tenant \
             fields differ in type ({model}.{mine}: {mine_type}, {target}.{theirs}: \
             {their_type}): the link table's one tenant column cannot refer to both. Give \
             them the same type",
            model = meta.name,
            field = rel.name,
            target = target.name,
            mine = my_field.name,
            mine_type = my_field.ddl_type(),
            theirs = their_field.name,
            their_type = their_field.ddl_type(),
        )));
    }
    Ok(())
}
