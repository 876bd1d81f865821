//! Queries from one object across a relation: the reverse side as a
//! query, the reverse one-to-one row, and the many-to-many manager.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::sql::writes;
use crate::value::Value;

use super::meta::{leak, RelationMeta};

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
    /// In a tenant link table: the owner's tenant field.
    owner_tenant: Option<Value>,
    rel: &'static RelationMeta,
    _marker: PhantomData<fn() -> (S, T)>,
}

impl<S, T> std::fmt::Debug for ManyToManyManager<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManyToManyManager")
            .field("relation", &self.rel.name)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl<S: Model, T: Model> ManyToManyManager<S, T> {
    /// The manager of relation `rel` for `owner` (used by the derive).
    #[doc(hidden)]
    pub fn new(owner: &S, rel: &'static RelationMeta) -> Self {
        ManyToManyManager {
            owner: owner.pk(),
            owner_unsaved: owner.pk_is_unset(),
            owner_tenant: rel
                .link_tenant()
                .map(|t| owner.field_value(t.field.position)),
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

    /// The tenant of the owner's links, in a link table with a tenant
    /// column: the current tenant, which must be the owner's (inside
    /// [`unscoped`](crate::tenant::unscoped): the owner's).
    ///
    /// # Errors
    /// No current tenant; the owner is another tenant's.
    fn link_tenant(&self) -> Result<Option<(&'static str, writes::LinkTenant)>> {
        let (Some(link), Some(given)) = (self.rel.link_tenant(), &self.owner_tenant) else {
            return Ok(None);
        };
        let value = match crate::tenant::current_value(S::META)? {
            Some(current) => {
                crate::tenant::check_given(S::META, link.field, given, &current)?;
                current
            }
            None => given.clone(),
        };
        Ok(Some((link.field.column, writes::LinkTenant::Value(value))))
    }

    /// Links `objects` (already linked ones are left as they are); returns
    /// how many links were added. Between tenant models the links are the
    /// current tenant's (and an object of another tenant is refused by the
    /// link's foreign key, which includes the tenant).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner or an object is unsaved, or
    /// the owner is another tenant's;
    /// [`Error::Integrity`] when an object's row does not exist.
    pub async fn add(&self, objects: &[&T]) -> Result<u64> {
        let keys = self.keys(objects)?;
        let (through, own, other) = self.rel.through_table();
        let key_type = T::META.pk_field().ddl_type();
        let stmt = writes::link_insert(
            (&through, &own, &other),
            self.owner.clone(),
            keys,
            &key_type,
            self.link_tenant()?,
        );
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
    }

    /// Unlinks `objects`; returns how many links were removed.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner or an object is unsaved.
    pub async fn remove(&self, objects: &[&T]) -> Result<u64> {
        let keys = self.keys(objects)?;
        self.delete_links(writes::LinkKeys::Only(keys)).await
    }

    /// Removes every link of the owner; returns how many.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the owner is unsaved.
    pub async fn clear(&self) -> Result<u64> {
        self.keys(&[])?;
        self.delete_links(writes::LinkKeys::All).await
    }

    /// Replaces the owner's links with links to `objects` (Django's
    /// `set()`): removes the links to other rows and adds the missing ones,
    /// in one transaction; returns `(removed, added)`.
    ///
    /// # Errors
    /// As [`add`](Self::add) and [`remove`](Self::remove).
    pub async fn set(&self, objects: &[&T]) -> Result<(u64, u64)> {
        let keys = self.keys(objects)?;
        let tenant = self.link_tenant()?;
        let (through, own, other) = self.rel.through_table();
        let link = (through.as_str(), own.as_str(), other.as_str());
        let key_type = T::META.pk_field().ddl_type();
        let owner = self.owner.clone();
        let except = writes::LinkKeys::Except(keys.clone());
        let stale = writes::link_delete(link, owner.clone(), except, tenant.clone());
        let add = writes::link_insert(link, owner, keys, &key_type, tenant);
        crate::transaction::transaction(|| async {
            let db = crate::db::current()?;
            let removed = db.execute(&stale.sql, &stale.binds).await?;
            let added = db.execute(&add.sql, &add.binds).await?;
            Ok((removed, added))
        })
        .await
    }

    /// `DELETE FROM link WHERE owner_col = $1 [AND tenant = $2] [AND
    /// other_col = ANY($n)]`.
    async fn delete_links(&self, keys: writes::LinkKeys) -> Result<u64> {
        let (through, own, other) = self.rel.through_table();
        let stmt = writes::link_delete(
            (&through, &own, &other),
            self.owner.clone(),
            keys,
            self.link_tenant()?,
        );
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
    }

    /// The linked rows, as a query to refine (`post.tags().all().await?`).
    /// Between tenant models the query is of the links of the tenant
    /// current when it is built (build it inside the
    /// [`scope`](crate::tenant::scope) it runs in).
    pub fn all(&self) -> crate::QuerySet<T> {
        use crate::query::q::{Node, Op};
        let (through, own, other) = self.rel.through_table();
        let tenant = match self.link_tenant() {
            Ok(tenant) => tenant,
            Err(Error::InvalidQuery(e)) => {
                return crate::QuerySet::new().with_error(e.model, e.reason)
            }
            Err(e) => return crate::QuerySet::new().with_error(S::META.name, e.to_string()),
        };
        let tenant = tenant.and_then(|(column, value)| match value {
            writes::LinkTenant::Value(value) => Some(Box::new((column, value))),
            writes::LinkTenant::OfOwner { .. } => None,
        });
        crate::QuerySet::new().filter(crate::Q::from_node(Node::leaf(
            T::META.pk_field(),
            Op::Linked {
                through: leak(through),
                source_col: leak(own),
                target_col: leak(other),
                owner: self.owner.clone(),
                tenant,
            },
        )))
    }

    /// The linked rows matching `q`.
    pub fn filter(&self, q: impl crate::IntoQ<T>) -> crate::QuerySet<T> {
        self.all().filter(q)
    }
}

/// The links of a many-to-many relation by key values, for code that
/// names neither model (the admin's forms): as [`ManyToManyManager`]'s
/// `add` and `remove`, with the owner's and the targets' keys.
impl RelationMeta {
    fn links_of(&self) -> Result<(String, String, String)> {
        if self.kind != super::RelationKind::ManyToMany {
            return Err(Error::from(crate::error::QueryError {
                model: self.owner.meta().name,
                reason: format!("`{}` is not a many-to-many relation", self.name),
            }));
        }
        Ok(self.through_table())
    }

    /// The tenant of links written by key, in a link table with a tenant
    /// column: the current tenant, or inside
    /// [`unscoped`](crate::tenant::unscoped) the owner row's.
    fn link_tenant_by_key(&self) -> Result<Option<(&'static str, writes::LinkTenant)>> {
        let Some(link) = self.link_tenant() else {
            return Ok(None);
        };
        let owner = self.owner.meta();
        let tenant = match crate::tenant::current_value(owner)? {
            Some(current) => writes::LinkTenant::Value(current),
            None => writes::LinkTenant::OfOwner {
                table: owner.table,
                column: link.field.column,
                pk: owner.pk_field().column,
            },
        };
        Ok(Some((link.field.column, tenant)))
    }

    /// Links the owner row with key `owner` to the target rows with
    /// `keys` (already linked ones are left as they are): `INSERT INTO
    /// "link" ("own", "other") SELECT $1, "key" FROM UNNEST($2::type[])
    /// AS "key" ON CONFLICT DO NOTHING`. Returns how many links were added.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] when the relation is not a many-to-many;
    /// [`Error::Integrity`] when a row does not exist.
    pub async fn add_links(&self, owner: Value, keys: Vec<Value>) -> Result<u64> {
        let (through, own, other) = self.links_of()?;
        if keys.is_empty() {
            return Ok(0);
        }
        let key_type = self.target.meta().pk_field().ddl_type();
        let stmt = writes::link_insert(
            (&through, &own, &other),
            owner,
            Value::Array(keys),
            &key_type,
            self.link_tenant_by_key()?,
        );
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
    }

    /// Unlinks the owner row with key `owner` from the target rows with
    /// `keys`: `DELETE FROM "link" WHERE "own" = $1 AND "other" = ANY($2)`.
    /// Returns how many links were removed.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] when the relation is not a many-to-many.
    pub async fn remove_links(&self, owner: Value, keys: Vec<Value>) -> Result<u64> {
        let (through, own, other) = self.links_of()?;
        if keys.is_empty() {
            return Ok(0);
        }
        let stmt = writes::link_delete(
            (&through, &own, &other),
            owner,
            writes::LinkKeys::Only(Value::Array(keys)),
            self.link_tenant_by_key()?,
        );
        crate::db::current()?.execute(&stmt.sql, &stmt.binds).await
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
