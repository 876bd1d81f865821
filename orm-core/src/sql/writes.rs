//! Statements by model, not by query: the single-row `INSERT`, the bulk
//! `INSERT .. UNNEST` and `COPY`, `UPDATE` / `DELETE` by primary key, their
//! per-model cache ([`ModelStatements`]), and the statements on tables no
//! model describes (the migration history).

use std::sync::OnceLock;

use crate::meta::{FieldMeta, ModelMeta};
use crate::sql::{SqlWriter, Statement};
use crate::types::SqlType;
use crate::value::Value;

/// Statement texts that depend only on the model, rendered on first use
/// and kept for the life of the program (one per model, in a static the
/// derive emits): the column list, and the single-row writes.
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelStatements {
    columns: OnceLock<String>,
    insert: [OnceLock<(String, Box<[usize]>)>; 2],
    bulk_insert: [OnceLock<String>; 2],
    copy_in: [OnceLock<(String, String)>; 2],
    update_by_pk: OnceLock<String>,
    delete_by_pk: OnceLock<String>,
}

impl ModelStatements {
    /// An empty cache.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ModelStatements {
            columns: OnceLock::new(),
            insert: [OnceLock::new(), OnceLock::new()],
            bulk_insert: [OnceLock::new(), OnceLock::new()],
            copy_in: [OnceLock::new(), OnceLock::new()],
            update_by_pk: OnceLock::new(),
            delete_by_pk: OnceLock::new(),
        }
    }

    /// `"table"."a", "table"."b", ..`: every column, in field order.
    pub(crate) fn columns(&'static self, meta: &ModelMeta) -> &'static str {
        self.columns.get_or_init(|| {
            let mut w = SqlWriter::new();
            w.push_list(meta.fields, ", ", |w, f| {
                w.push_column(meta.table, f.column)
            });
            w.finish().sql
        })
    }

    /// The single-row [`insert`], and the indexes of the fields it reads
    /// back ([`returned_fields`]), in the order of its `RETURNING`.
    pub(crate) fn insert(&self, meta: &'static ModelMeta, with_pk: bool) -> (&str, &[usize]) {
        let (sql, returned) = self.insert[usize::from(with_pk)].get_or_init(|| {
            let returned = returned_fields(meta, with_pk).map(|(i, _)| i).collect();
            (insert(meta, with_pk), returned)
        });
        (sql, returned)
    }

    pub(crate) fn bulk_insert(&self, meta: &'static ModelMeta, with_pk: bool) -> &str {
        self.bulk_insert[usize::from(with_pk)].get_or_init(|| bulk_insert(meta, with_pk))
    }

    /// The `COPY .. FROM STDIN` of [`copy_in`], and a `SELECT` of the same
    /// columns that reads no row, prepared for the columns' types.
    pub(crate) fn copy_in(&self, meta: &'static ModelMeta, with_pk: bool) -> (&str, &str) {
        let (copy, types) =
            self.copy_in[usize::from(with_pk)].get_or_init(|| copy_in(meta, with_pk));
        (copy, types)
    }

    pub(crate) fn update_by_pk(&self, meta: &'static ModelMeta) -> &str {
        self.update_by_pk.get_or_init(|| update_by_pk(meta))
    }

    pub(crate) fn delete_by_pk(&self, meta: &'static ModelMeta) -> &str {
        self.delete_by_pk.get_or_init(|| delete_by_pk(meta))
    }
}

/// The fields an `INSERT` writes: all, or all but an identity primary key.
pub(crate) fn insert_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| with_pk || !f.auto)
}

/// The fields, with their indexes, that `keep` selects.
fn fields_where(
    meta: &'static ModelMeta,
    keep: impl Fn(&FieldMeta) -> bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    meta.fields.iter().enumerate().filter(move |(_, f)| keep(f))
}

pub(crate) fn push_returning(w: &mut SqlWriter, meta: &ModelMeta) {
    w.push_sql(" RETURNING ");
    w.push_list(meta.fields, ", ", |w, f| w.push_ident(f.column));
}

/// The fields the database fills on an `INSERT` of [`insert_fields`]: the
/// identity primary key when it is not given, else none. Every other column
/// is sent, so this is all a bulk insert needs to read back (as Django's
/// `bulk_create`, which reads back the primary keys only).
pub(crate) fn generated_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| !with_pk && f.auto)
}

/// ` RETURNING <fields' columns>`, or nothing when there are none.
fn push_returning_fields(
    w: &mut SqlWriter,
    fields: impl Iterator<Item = (usize, &'static FieldMeta)>,
) {
    let fields: Vec<_> = fields.collect();
    if !fields.is_empty() {
        w.push_sql(" RETURNING ");
        w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    }
}

/// The fields a single-row [`insert`] reads back: the [`generated_fields`],
/// and those whose type the database may store otherwise than sent, so the
/// saved object equals what a later get returns. Times keep microseconds
/// where chrono has nanoseconds; `jsonb` keeps numbers as `numeric`, so a
/// float such as `1e16` comes back as an integer. Every other type stores
/// the value sent as it is, and Django too reads back only the key.
pub(crate) fn returned_fields(
    meta: &'static ModelMeta,
    with_pk: bool,
) -> impl Iterator<Item = (usize, &'static FieldMeta)> {
    fields_where(meta, move |f| {
        (!with_pk && f.auto)
            || matches!(
                f.sql_type,
                SqlType::Time | SqlType::Timestamp | SqlType::TimestampTz | SqlType::Jsonb
            )
    })
}

/// `INSERT INTO .. (..) VALUES ($1, ..) RETURNING <returned_fields>` (no
/// `RETURNING` when there are none); the caller binds the fields of
/// [`insert_fields`] in order.
pub(crate) fn insert(meta: &'static ModelMeta, with_pk: bool) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(meta.table);
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    if fields.is_empty() {
        w.push_sql(" DEFAULT VALUES");
    } else {
        w.push_sql(" (");
        w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
        w.push_sql(") VALUES (");
        w.push_list(1..=fields.len(), ", ", |w, n| w.push_placeholder(n));
        w.push_sql(")");
    }
    push_returning_fields(&mut w, returned_fields(meta, with_pk));
    w.finish().sql
}

/// `INSERT INTO .. (..) SELECT * FROM UNNEST($1::type[], ..) RETURNING <generated>`:
/// one statement text whatever the number of rows, one array per column.
/// A model with no column to insert (only a generated key) gets
/// `INSERT INTO .. SELECT FROM generate_series(1, $1::int8)`: `$1` rows of
/// defaults.
pub(crate) fn bulk_insert(meta: &'static ModelMeta, with_pk: bool) -> String {
    bulk_insert_on(meta, with_pk, None)
}

/// What an `INSERT` does with a row that conflicts with a unique
/// constraint, when not failing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Conflict<'a> {
    /// `ON CONFLICT DO NOTHING`.
    Ignore,
    /// `ON CONFLICT ("u", ..) DO UPDATE SET "f" = EXCLUDED."f", ..`.
    Update {
        unique: &'a [&'static FieldMeta],
        update: &'a [&'static FieldMeta],
    },
}

/// [`bulk_insert`] with an `ON CONFLICT` clause; `RETURNING` the generated
/// fields except when conflicting rows are skipped (they would not come
/// back, so the rows could not be matched to the objects).
pub(crate) fn bulk_insert_on(
    meta: &'static ModelMeta,
    with_pk: bool,
    conflict: Option<Conflict<'_>>,
) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(meta.table);
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    if fields.is_empty() {
        w.push_sql(" SELECT FROM generate_series(1, $1::int8)");
    } else {
        w.push_sql(" (");
        w.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
        w.push_sql(") SELECT * FROM UNNEST(");
        w.push_list(fields.iter().enumerate(), ", ", |w, (n, (_, f))| {
            w.push_placeholder(n + 1);
            w.push_sql("::");
            w.push_text(&f.ddl_type());
            w.push_sql("[]");
        });
        w.push_sql(")");
    }
    match conflict {
        None => {}
        Some(Conflict::Ignore) => {
            w.push_sql(" ON CONFLICT DO NOTHING");
            return w.finish().sql;
        }
        Some(Conflict::Update { unique, update }) => {
            w.push_sql(" ON CONFLICT (");
            w.push_list(unique, ", ", |w, f| w.push_ident(f.column));
            w.push_sql(")");
            crate::soft_delete::scope::push_conflict_where(&mut w, meta);
            w.push_sql(" DO UPDATE SET ");
            w.push_list(update, ", ", |w, f| {
                w.push_ident(f.column);
                w.push_sql(" = ");
                w.push_column("excluded", f.column);
            });
        }
    }
    push_returning_fields(&mut w, generated_fields(meta, with_pk));
    w.finish().sql
}

/// `COPY "table" (..) FROM STDIN (FORMAT binary)` for the fields of
/// [`insert_fields`], and `SELECT <those columns> FROM "table" LIMIT 0`,
/// whose prepared form gives the columns' types (enums included).
pub(crate) fn copy_in(meta: &'static ModelMeta, with_pk: bool) -> (String, String) {
    let fields: Vec<_> = insert_fields(meta, with_pk).collect();
    let mut copy = SqlWriter::new();
    copy.push_sql("COPY ");
    copy.push_ident(meta.table);
    copy.push_sql(" (");
    copy.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    copy.push_sql(") FROM STDIN (FORMAT binary)");
    let mut types = SqlWriter::new();
    types.push_sql("SELECT ");
    types.push_list(&fields, ", ", |w, (_, f)| w.push_ident(f.column));
    types.push_sql(" FROM ");
    types.push_ident(meta.table);
    types.push_sql(" LIMIT 0");
    (copy.finish().sql, types.finish().sql)
}

/// `UPDATE .. SET <every other column> = $n .. WHERE pk = $last`; the
/// caller binds the non-key fields in order, then the primary key's (for a
/// composite key, `WHERE "a" = $n AND "b" = $n+1`, its fields in key order).
pub(crate) fn update_by_pk(meta: &'static ModelMeta) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("UPDATE ");
    w.push_ident(meta.table);
    w.push_sql(" SET ");
    let others: Vec<_> = meta
        .fields
        .iter()
        .filter(|f| !meta.is_pk_field(f.position))
        .collect();
    w.push_list(others.iter().enumerate(), ", ", |w, (n, f)| {
        w.push_ident(f.column);
        w.push_sql(" = ");
        w.push_placeholder(n + 1);
    });
    push_where_key(&mut w, meta, others.len() + 1);
    w.finish().sql
}

/// ` WHERE "pk" = $first` (for a composite key, `WHERE "a" = $first AND
/// "b" = $first+1`, its fields in key order; a tenant model's tenant
/// field last: [`ModelMeta::row_key_fields`]).
fn push_where_key(w: &mut SqlWriter, meta: &'static ModelMeta, first: usize) {
    w.push_sql(" WHERE ");
    let keys = meta.row_key_fields().map(|i| &meta.fields[i]);
    w.push_list(keys.enumerate(), " AND ", |w, (n, f)| {
        w.push_ident(f.column);
        w.push_sql(" = ");
        w.push_placeholder(first + n);
    });
}

/// `DELETE FROM .. WHERE pk = $1` (for a composite key, `WHERE "a" = $1
/// AND "b" = $2`, its fields in key order).
pub(crate) fn delete_by_pk(meta: &'static ModelMeta) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(meta.table);
    push_where_key(&mut w, meta, 1);
    w.finish().sql
}

/// `SELECT "a", "b" FROM "table" ORDER BY "c", ..` over a table no model
/// describes (the migration history).
pub(crate) fn select_table(table: &str, columns: &[&str], order_by: &[&str]) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("SELECT ");
    w.push_list(columns, ", ", |w, c| w.push_ident(c));
    w.push_sql(" FROM ");
    w.push_ident(table);
    w.push_sql(" ORDER BY ");
    w.push_list(order_by, ", ", |w, c| w.push_ident(c));
    w.finish().sql
}

/// `INSERT INTO "table" ("a", "b") VALUES ($1, $2)` into a table no model
/// describes.
pub(crate) fn insert_into_table(table: &str, columns: &[&str]) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(table);
    w.push_sql(" (");
    w.push_list(columns, ", ", |w, c| w.push_ident(c));
    w.push_sql(") VALUES (");
    w.push_list(1..=columns.len(), ", ", SqlWriter::push_placeholder);
    w.push_sql(")");
    w.finish().sql
}

/// `DELETE FROM "table" WHERE "column" = $1` on a table no model describes.
pub(crate) fn delete_from_table(table: &str, column: &str) -> String {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(table);
    w.push_sql(" WHERE ");
    w.push_ident(column);
    w.push_sql(" = $1");
    w.finish().sql
}

/// ` WHERE "column" = ANY($n)`.
pub(crate) fn push_where_any(w: &mut SqlWriter, column: &str, keys: &Value) {
    w.push_sql(" WHERE ");
    w.push_ident(column);
    w.push_sql(" = ANY(");
    w.push_bind(keys.clone());
    w.push_sql(")");
}

/// `DELETE FROM "t" WHERE "pk" = ANY($1)` (`delete_report`).
pub(crate) fn delete_by_keys(meta: &ModelMeta, keys: &Value) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(meta.table);
    push_where_any(&mut w, meta.pk_field().column, keys);
    w.finish()
}

/// A many-to-many link table's name and its two key columns (the owner's,
/// the other side's).
pub(crate) type Link<'a> = (&'a str, &'a str, &'a str);

/// The tenant of the links a write touches, in a link table with a tenant
/// column (between tenant models).
#[derive(Debug, Clone)]
pub(crate) enum LinkTenant {
    /// This tenant.
    Value(Value),
    /// The owner row's (by key, across tenants): `(SELECT "tenant" FROM
    /// "owner" WHERE "pk" = <owner>)`.
    OfOwner {
        table: &'static str,
        column: &'static str,
        pk: &'static str,
    },
}

/// `INSERT INTO "link" ("own", "other") SELECT $1, "key" FROM UNNEST($2::type[])
/// AS "key" ON CONFLICT DO NOTHING`: links `owner` to each of `keys`
/// (primary keys of type `key_type`), leaving existing links as they are.
/// In a tenant link table, `tenant` (its column and value) comes first:
/// `INSERT INTO "link" ("tenant", "own", "other") SELECT $1, $2, "key" ..`.
pub(crate) fn link_insert(
    (through, own, other): Link<'_>,
    owner: Value,
    keys: Value,
    key_type: &str,
    tenant: Option<(&str, LinkTenant)>,
) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("INSERT INTO ");
    w.push_ident(through);
    w.push_sql(" (");
    if let Some((column, _)) = &tenant {
        w.push_ident(column);
        w.push_sql(", ");
    }
    w.push_ident(own);
    w.push_sql(", ");
    w.push_ident(other);
    w.push_sql(") SELECT ");
    match tenant {
        None => {}
        Some((_, LinkTenant::Value(value))) => {
            w.push_bind(value);
            w.push_sql(", ");
        }
        Some((_, LinkTenant::OfOwner { table, column, pk })) => {
            w.push_sql("(SELECT ");
            w.push_ident(column);
            w.push_sql(" FROM ");
            w.push_ident(table);
            w.push_sql(" WHERE ");
            w.push_ident(pk);
            w.push_sql(" = ");
            w.push_bind(owner.clone());
            w.push_sql("), ");
        }
    }
    w.push_bind(owner);
    w.push_sql(", \"key\" FROM UNNEST(");
    w.push_bind(keys);
    w.push_sql("::");
    w.push_text(key_type);
    w.push_sql("[]) AS \"key\" ON CONFLICT DO NOTHING");
    w.finish()
}

/// Which of an owner's links a [`link_delete`] removes.
#[derive(Debug, Clone)]
pub(crate) enum LinkKeys {
    /// Every one.
    All,
    /// Those to these keys (an array): `AND "other" = ANY($n)`.
    Only(Value),
    /// Those to other keys (`set()`): `AND NOT ("other" = ANY($n))`.
    Except(Value),
}

/// `DELETE FROM "link" WHERE "own" = $1 [AND "tenant" = $2] [AND [NOT]
/// "other" = ANY($n)]`: the tenant's condition when it is known (a value).
pub(crate) fn link_delete(
    (through, own, other): Link<'_>,
    owner: Value,
    keys: LinkKeys,
    tenant: Option<(&str, LinkTenant)>,
) -> Statement {
    let mut w = SqlWriter::new();
    w.push_sql("DELETE FROM ");
    w.push_ident(through);
    w.push_sql(" WHERE ");
    w.push_ident(own);
    w.push_sql(" = ");
    w.push_bind(owner);
    if let Some((column, LinkTenant::Value(value))) = tenant {
        w.push_sql(" AND ");
        w.push_ident(column);
        w.push_sql(" = ");
        w.push_bind(value);
    }
    let (keys, not) = match keys {
        LinkKeys::All => return w.finish(),
        LinkKeys::Only(keys) => (keys, ""),
        LinkKeys::Except(keys) => (keys, "NOT "),
    };
    w.push_sql(" AND ");
    w.push_sql(not);
    w.push_ident(other);
    w.push_sql(" = ANY(");
    w.push_bind(keys);
    w.push_sql(")");
    w.finish()
}

/// `UPDATE "t" SET "a" = "v"."k1", .. FROM UNNEST($1::pk[], $2::a[], ..)
/// AS "v"("k0", "k1", ..) WHERE "t"."pk" = "v"."k0"`: `fields` of many
/// rows in one statement, one array per column (the keys first), as
/// Django's `bulk_update` (which writes `CASE WHEN` per row).
pub(crate) fn bulk_update(meta: &'static ModelMeta, fields: &[&'static FieldMeta]) -> String {
    let alias = |n: usize| format!("k{n}");
    // The key's fields come first in `UNNEST` (`k0`, `k1`, ... for a
    // composite key), then the fields written.
    let keys: Vec<&'static FieldMeta> = meta.row_key_fields().map(|i| &meta.fields[i]).collect();
    let mut w = SqlWriter::new();
    w.push_sql("UPDATE ");
    w.push_ident(meta.table);
    w.push_sql(" SET ");
    w.push_list(fields.iter().enumerate(), ", ", |w, (n, f)| {
        w.push_ident(f.column);
        w.push_sql(" = ");
        w.push_column("v", &alias(keys.len() + n));
    });
    w.push_sql(" FROM UNNEST(");
    let columns = keys.iter().chain(fields.iter());
    w.push_list(columns.enumerate(), ", ", |w, (n, f)| {
        w.push_placeholder(n + 1);
        w.push_sql("::");
        w.push_text(&f.ddl_type());
        w.push_sql("[]");
    });
    w.push_sql(") AS ");
    w.push_ident("v");
    w.push_sql("(");
    w.push_list(0..keys.len() + fields.len(), ", ", |w, n| {
        w.push_ident(&alias(n))
    });
    w.push_sql(") WHERE ");
    w.push_list(keys.iter().enumerate(), " AND ", |w, (n, k)| {
        w.push_column(meta.table, k.column);
        w.push_sql(" = ");
        w.push_column("v", &alias(n));
    });
    w.finish().sql
}
