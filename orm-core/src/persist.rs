//! Writes of model instances: `save`, `create`, `delete`, `bulk_create`,
//! `bulk_insert`, `get_or_create`, `update_or_create`, `refresh_from_db`.
//!
//! Inserts bind the struct's fields by reference (no copies) and read back
//! only what the database generates (the identity primary key), as
//! Django's do; a single-row insert also reads back the fields PostgreSQL
//! may store otherwise than sent (times, `jsonb`), so the saved object
//! equals its row.
//! `auto_now` times are taken at PostgreSQL's precision (microseconds), so
//! an object's own timestamps equal the stored ones.
//!
//! A text field holding a NUL character (which PostgreSQL cannot store) is
//! refused with [`Error::InvalidValue`] naming the model and the field
//! before anything is sent, as the other rules of
//! [`validate`](Model::validate) are: a failed statement would also fail
//! the open transaction.

use chrono::{DateTime, SubsecRound, Utc};
use postgres_types::ToSql;
use smallvec::SmallVec;

use crate::db::{self, Db};
use crate::error::{Error, IntegrityKind, Result};
use crate::meta::FieldMeta;
use crate::model::Model;
use crate::query::q::{Node, Op, Set, ACROSS_RELATION};
use crate::query::{Assign, QuerySet, Q};
use crate::sql::writes;
use crate::types::SqlType;
use crate::value::{nul_error, ByRef};

/// The time `auto_now` fields get: now, to the microsecond PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Stores the generated columns of `row` (from [`writes::generated_fields`])
/// into `obj`.
fn set_generated<M: Model>(obj: &mut M, row: &tokio_postgres::Row, with_pk: bool) -> Result<()> {
    for (at, (index, _)) in writes::generated_fields(M::META, with_pk).enumerate() {
        obj.read_field(index, row, at)?;
    }
    Ok(())
}

/// A statement's parameters, bound by reference to an object's fields: up
/// to 8 without an allocation.
type Params<'a> = SmallVec<[&'a (dyn ToSql + Sync); 8]>;

thread_local! {
    /// The buffer text fields are encoded into to be scanned for a NUL:
    /// one per thread, so a save allocates nothing for it.
    static SCRATCH: std::cell::RefCell<bytes::BytesMut> =
        std::cell::RefCell::new(bytes::BytesMut::new());
}

/// Refuses a NUL character in a text field of any of `objs`. A field is
/// only reachable as the parameter it is bound as, so each text value is
/// encoded (copied) into a reused buffer and scanned; models without text
/// fields skip it.
///
/// # Errors
/// [`Error::InvalidValue`] naming the model and the first such field.
fn check_text<M: Model>(objs: &[M]) -> Result<()> {
    let fields = M::META.fields;
    let text = |f: &crate::meta::FieldMeta| matches!(f.sql_type, SqlType::Text | SqlType::CiText);
    if !fields.iter().any(text) {
        return Ok(());
    }
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let found = objs.iter().find_map(|obj| {
            fields.iter().enumerate().find(|(index, field)| {
                if !text(field) {
                    return false;
                }
                scratch.clear();
                let encoded = obj
                    .field_sql(*index)
                    .to_sql_checked(&tokio_postgres::types::Type::TEXT, &mut scratch);
                // Text is sent as its UTF-8 bytes: a 0 byte is a NUL.
                encoded.is_ok() && crate::value::has_nul_byte(&scratch)
            })
        });
        // A huge text is not kept alive by the buffer.
        if scratch.capacity() > 64 * 1024 {
            *scratch = bytes::BytesMut::new();
        }
        match found {
            Some((_, field)) => Err(nul_error(M::META.name, field.name)),
            None => Ok(()),
        }
    })
}

/// Refuses a value of `sets` (an `UPDATE`'s) holding a NUL.
fn check_sets<M: Model>(sets: &[Set]) -> Result<()> {
    match sets.iter().find(|s| s.value.has_nul()) {
        Some(set) => Err(nul_error(M::META.name, set.field.name)),
        None => Ok(()),
    }
}

/// Fills `obj`'s `auto_now` fields (and `auto_now_add` ones when
/// `inserting`), reading the clock only for a model that has any.
fn touch<M: Model>(obj: &mut M, inserting: bool) {
    if M::META
        .fields
        .iter()
        .any(|f| f.auto_now || (inserting && f.auto_now_add))
    {
        obj.touch(inserting, now());
    }
}

/// The condition naming `obj`'s row: its primary key (every field of a
/// composite one).
fn pk_filter<M: Model>(obj: &M) -> Q<M> {
    Q::from_node(row_node(obj))
}

/// INSERT `obj` (validated first, with the save hooks around it).
async fn insert<M: Model>(db: &Db, obj: &mut M) -> Result<()> {
    obj.run_before_save(true).await?;
    insert_row(db, obj).await?;
    obj.run_after_save(true).await
}

/// INSERTs `obj` and sets the fields the statement reads back
/// ([`writes::returned_fields`]: the generated key, times, `jsonb`) to
/// their values as stored; the others, relations included, stay as they are.
async fn insert_row<M: Model>(db: &Db, obj: &mut M) -> Result<()> {
    crate::tenant::stamp(obj)?;
    touch(obj, true);
    obj.validate()?;
    check_text(std::slice::from_ref(obj))?;
    let with_pk = !obj.pk_is_unset();
    let (sql, returned) = M::statements().insert(M::META, with_pk);
    let params: Params<'_> = writes::insert_fields(M::META, with_pk)
        .map(|(i, _)| obj.field_sql(i))
        .collect();
    let missing = || Error::DoesNotExist {
        model: M::META.name,
    };
    if returned.is_empty() {
        // No RETURNING: a row skipped (by a trigger) shows in the count.
        if db.execute_params(sql, &params).await? == 0 {
            return Err(missing());
        }
        return Ok(());
    }
    let mut stored = None;
    db.for_each_row_params(sql, &params, |row| {
        stored = Some(row);
        Ok(())
    })
    .await?;
    drop(params);
    let stored = stored.ok_or_else(missing)?;
    for (at, &index) in returned.iter().enumerate() {
        obj.read_field(index, &stored, at)?;
    }
    Ok(())
}

pub(crate) async fn create<M: Model>(mut obj: M) -> Result<M> {
    let db = db::current()?;
    insert(&db, &mut obj).await?;
    Ok(obj)
}

pub(crate) async fn save<M: Model>(obj: &mut M) -> Result<()> {
    let db = db::current()?;
    if obj.pk_is_unset() {
        return insert(&db, obj).await;
    }
    crate::tenant::stamp(obj)?;
    obj.run_before_save(false).await?;
    touch(obj, false);
    obj.validate()?;
    check_text(std::slice::from_ref(obj))?;
    if M::META.fields.len() == M::META.pk_fields.len() {
        // Nothing to update but the key itself: insert unless the row exists.
        let exists = QuerySet::<M>::new()
            .using(&db)
            .filter(pk_filter(obj))
            .exists()
            .await?;
        if !exists {
            insert_row(&db, obj).await?;
        }
        return obj.run_after_save(!exists).await;
    }
    let sql = M::statements().update_by_pk(M::META);
    let updated = {
        let meta = M::META;
        let params: Params<'_> = (0..meta.fields.len())
            .filter(|&i| !meta.is_pk_field(i))
            .chain(meta.row_key_fields())
            .map(|i| obj.field_sql(i))
            .collect();
        db.execute_params(sql, &params).await?
    };
    if updated == 0 {
        // Django's save(): a primary key with no row behind it is inserted.
        insert_row(&db, obj).await?;
    }
    obj.run_after_save(updated == 0).await
}

pub(crate) async fn delete<M: Model>(obj: &M, hard: bool) -> Result<u64> {
    if M::META.soft_delete.is_some() && !hard {
        obj.run_before_delete().await?;
        let n = crate::soft_delete::mark(QuerySet::<M>::new().filter(pk_filter(obj))).await?;
        obj.run_after_delete().await?;
        return Ok(n);
    }
    let db = db::current()?;
    crate::tenant::check_row(obj)?;
    obj.run_before_delete().await?;
    let sql = M::statements().delete_by_pk(M::META);
    let params: Params<'_> = M::META.row_key_fields().map(|i| obj.field_sql(i)).collect();
    let n = db.execute_params(sql, &params).await?;
    obj.run_after_delete().await?;
    Ok(n)
}

/// [`ActiveRecord::restore`](crate::ActiveRecord::restore).
pub(crate) async fn restore<M: Model>(obj: &M) -> Result<u64> {
    QuerySet::<M>::new().filter(pk_filter(obj)).restore().await
}

pub(crate) async fn refresh<M: Model>(obj: &mut M) -> Result<()> {
    // Django's base manager: a soft deleted row is read too (its mark set).
    *obj = QuerySet::<M>::new()
        .with_deleted()
        .get(pk_filter(obj))
        .await?;
    Ok(())
}

/// What [`bulk_create_with`](crate::ActiveRecord::bulk_create_with) does
/// with a row that conflicts with a unique constraint, as Django's
/// `bulk_create(ignore_conflicts=..)` / `(update_conflicts=.., unique_fields=..,
/// update_fields=..)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnConflict {
    /// Fail with [`Error::Integrity`] naming the constraint; nothing is
    /// inserted (what `bulk_create` does).
    #[default]
    Fail,
    /// Skip the conflicting rows (`ON CONFLICT DO NOTHING`). As in Django,
    /// the generated keys are not read back: an object without a key keeps
    /// its unset one.
    Ignore,
    /// Update the existing row's `update_fields` from the object, when it
    /// conflicts on `unique_fields` (`ON CONFLICT (..) DO UPDATE SET ..`);
    /// generated keys are read back, the existing row's for an updated one
    /// (as Django 5.0 on PostgreSQL).
    Update {
        /// The fields of the unique constraint (or primary key) conflicts
        /// are detected on.
        unique_fields: Vec<String>,
        /// The fields an existing row takes from the object.
        update_fields: Vec<String>,
    },
}

impl OnConflict {
    /// [`OnConflict::Update`] from field names.
    pub fn update(unique_fields: &[&str], update_fields: &[&str]) -> Self {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        OnConflict::Update {
            unique_fields: owned(unique_fields),
            update_fields: owned(update_fields),
        }
    }
}

pub(crate) async fn bulk_create<M: Model>(objs: Vec<M>) -> Result<Vec<M>> {
    bulk_create_with(objs, OnConflict::Fail).await
}

/// [`OnConflict`] with its names resolved: whether rows are skipped, else
/// the unique fields and the fields to update.
type ConflictFields = (bool, Vec<&'static FieldMeta>, Vec<&'static FieldMeta>);

/// The conflict clause of `on_conflict` for `M`, its names resolved; `None`
/// for [`OnConflict::Fail`].
fn conflict_fields<M: Model>(on_conflict: &OnConflict) -> Result<Option<ConflictFields>> {
    let invalid = |reason: &str| {
        Error::from(crate::error::QueryError {
            model: M::META.name,
            reason: reason.into(),
        })
    };
    match on_conflict {
        OnConflict::Fail => Ok(None),
        OnConflict::Ignore => Ok(Some((true, Vec::new(), Vec::new()))),
        OnConflict::Update {
            unique_fields,
            update_fields,
        } => {
            fn names(v: &[String]) -> Vec<&str> {
                v.iter().map(String::as_str).collect()
            }
            let unique = crate::query::values::resolve_fields(M::META, &names(unique_fields))?;
            let update = crate::query::values::resolve_fields(M::META, &names(update_fields))?;
            if unique.is_empty() {
                return Err(invalid(
                    "bulk_create() updating conflicts needs the unique fields they are detected on",
                ));
            }
            if update.is_empty() {
                return Err(invalid(
                    "bulk_create() updating conflicts needs the fields to update",
                ));
            }
            if update.iter().any(|f| M::META.is_pk_field(f.position)) {
                return Err(invalid(
                    "bulk_create() cannot update the primary key of a conflicting row",
                ));
            }
            Ok(Some((false, unique, update)))
        }
    }
}

pub(crate) async fn bulk_create_with<M: Model>(
    mut objs: Vec<M>,
    on_conflict: OnConflict,
) -> Result<Vec<M>> {
    // Checked first, whether there are objects or not.
    let conflict = conflict_fields::<M>(&on_conflict)?;
    if objs.is_empty() {
        return Ok(objs);
    }
    let conflict = conflict.as_ref().map(|(ignore, unique, update)| {
        if *ignore {
            writes::Conflict::Ignore
        } else {
            writes::Conflict::Update { unique, update }
        }
    });
    let db = db::current()?;
    if has_array_field(M::META) {
        return bulk_create_arrays(&db, objs, conflict.is_some()).await;
    }
    let groups = prepare_batch(&mut objs)?;

    let generated = if groups.len() > 1 {
        // One statement is atomic by itself; two need a transaction (a
        // savepoint inside an open one).
        let options = crate::transaction::TxOptions::default();
        crate::transaction::transaction_on(&db, options, || async {
            insert_groups(&db::current()?, &objs, &groups, conflict).await
        })
        .await?
    } else {
        insert_groups(&db, &objs, &groups, conflict).await?
    };
    for ((with_pk, indexes), rows) in groups.iter().zip(generated) {
        for (row, &i) in rows.iter().zip(indexes) {
            set_generated(&mut objs[i], row, *with_pk)?;
        }
    }
    Ok(objs)
}

/// True when a column of `meta` is an array (`Vec<T>`): `UNNEST` cannot
/// carry arrays of different lengths, one per row.
fn has_array_field(meta: &crate::meta::ModelMeta) -> bool {
    meta.fields
        .iter()
        .any(|f| matches!(f.sql_type, crate::types::SqlType::Array(_)))
}

/// `bulk_create` of a model with an array field: one `INSERT` per object
/// in one transaction (PostgreSQL's `UNNEST` of a two-dimensional array
/// would flatten the rows' arrays, and refuses ragged ones).
async fn bulk_create_arrays<M: Model>(db: &Db, mut objs: Vec<M>, conflict: bool) -> Result<Vec<M>> {
    if conflict {
        return Err(Error::from(crate::error::QueryError {
            model: M::META.name,
            reason:
                "bulk_create() with on_conflict is not supported for a model with an array field"
                    .into(),
        }));
    }
    let options = crate::transaction::TxOptions::default();
    crate::transaction::transaction_on(db, options, || async {
        let db = db::current()?;
        for obj in objs.iter_mut() {
            insert_row(&db, obj).await?;
        }
        Ok(())
    })
    .await?;
    Ok(objs)
}

/// `UPDATE`s `fields` of every object in one statement, by primary key, as
/// Django's `bulk_update`; the number of rows matched. An object given
/// twice is written once, as its first copy (Django's first `WHEN`).
pub(crate) async fn bulk_update<M: Model>(objs: &[M], names: &[&str]) -> Result<u64> {
    let invalid = |reason: &str| {
        Error::from(crate::error::QueryError {
            model: M::META.name,
            reason: reason.into(),
        })
    };
    let mut fields = crate::query::values::resolve_fields(M::META, names)?;
    if fields.is_empty() {
        return Err(invalid(
            "bulk_update() needs the names of the fields to write",
        ));
    }
    if fields.iter().any(|f| M::META.is_pk_field(f.position)) {
        return Err(invalid("bulk_update() cannot write the primary key"));
    }
    let mut seen = Vec::with_capacity(fields.len());
    fields.retain(|f| {
        let new = !seen.contains(&f.position);
        seen.push(f.position);
        new
    });
    if objs.is_empty() {
        return Ok(0);
    }
    if fields
        .iter()
        .any(|f| matches!(f.sql_type, crate::types::SqlType::Array(_)))
    {
        return Err(invalid(
            "bulk_update() cannot write an array field (UNNEST flattens arrays); save() each object",
        ));
    }
    if objs.iter().any(Model::pk_is_unset) {
        return Err(invalid(
            "bulk_update() writes saved objects: every one needs its primary key",
        ));
    }
    for obj in objs {
        obj.validate()?;
    }
    check_text(objs)?;
    let mut keys = std::collections::HashSet::with_capacity(objs.len());
    let firsts: Vec<&M> = objs
        .iter()
        .filter(|o| keys.insert(crate::value::Key::of(&o.pk())))
        .collect();
    for obj in objs {
        crate::tenant::check_row(obj)?;
    }
    let columns: Vec<Vec<ByRef<'_>>> = M::META
        .row_key_fields()
        .chain(fields.iter().map(|f| f.position))
        .map(|f| firsts.iter().map(|o| ByRef(o.field_sql(f))).collect())
        .collect();
    let params: Vec<&(dyn ToSql + Sync)> =
        columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
    let sql = writes::bulk_update(M::META, &fields);
    db::current()?.execute_params(&sql, &params).await
}

/// Touches and validates every object, then splits them into those with a
/// primary key and those without (they need different column lists, as in
/// Django); `(with_pk, indexes)` groups, empty ones left out.
fn prepare_batch<M: Model>(objs: &mut [M]) -> Result<Vec<(bool, Vec<usize>)>> {
    let now = now();
    for obj in objs.iter_mut() {
        crate::tenant::stamp(obj)?;
        obj.touch(true, now);
        obj.validate()?;
    }
    // Before the first statement: a `COPY` cannot take back rows it sent.
    check_text(objs)?;
    let (with_pk, without_pk): (Vec<usize>, Vec<usize>) =
        (0..objs.len()).partition(|&i| !objs[i].pk_is_unset());
    Ok([(true, with_pk), (false, without_pk)]
        .into_iter()
        .filter(|(_, idx)| !idx.is_empty())
        .collect())
}

pub(crate) async fn bulk_insert<M: Model>(mut objs: Vec<M>) -> Result<u64> {
    if objs.is_empty() {
        return Ok(0);
    }
    let db = db::current()?;
    let groups = prepare_batch(&mut objs)?;
    let copy_groups = |db: Db| {
        let (objs, groups) = (&objs, &groups);
        async move {
            let mut n = 0;
            for (with_pk, indexes) in groups {
                n += copy_group(&db, objs, *with_pk, indexes).await?;
            }
            Ok(n)
        }
    };
    // Through a pooler, a `COPY`'s statement lives only as long as its
    // transaction: one is opened for it; under row-level security too, for
    // the tenant setting (`db/rls.rs`).
    let unnamed = db.statement_mode() == crate::StatementMode::Unnamed;
    if groups.len() > 1 || (unnamed && !db.in_transaction()) || db.rls_block().is_some() {
        let options = crate::transaction::TxOptions::default();
        crate::transaction::transaction_on(&db, options, || async {
            copy_groups(db::current()?).await
        })
        .await
    } else {
        copy_groups(db).await
    }
}

/// One binary `COPY` of the objects at `indexes`, each field bound by
/// reference; the number of rows.
async fn copy_group<M: Model>(
    db: &Db,
    objs: &[M],
    with_pk: bool,
    indexes: &[usize],
) -> Result<u64> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;

    let fields: Vec<usize> = writes::insert_fields(M::META, with_pk)
        .map(|(i, _)| i)
        .collect();
    if fields.is_empty() {
        // A COPY needs a column; rows of defaults only need their count.
        let sql = M::statements().bulk_insert(M::META, with_pk);
        return db.execute_params(sql, &[&(indexes.len() as i64)]).await;
    }
    let (copy, types_sql) = M::statements().copy_in(M::META, with_pk);
    // The rows arrive while this function runs, not user code, but no
    // statement may be pipelined into the middle of a COPY.
    let conn = db.exclusive_client().await?;
    let types: Vec<tokio_postgres::types::Type> = match db.statement_mode() {
        crate::StatementMode::Named => db
            .track(conn.prepare(types_sql).await)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect(),
        _ => db
            .described(types_sql)
            .await?
            .columns
            .iter()
            .map(|(_, t)| t.clone())
            .collect(),
    };
    db.count();
    let started = db::timer();
    // Prepared once per connection, as every other statement: a COPY given
    // as text would be prepared again on every call (one more round trip).
    let sink = db.start_copy_in(&conn, copy).await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(fields.len());
    for &i in indexes {
        row.clear();
        row.extend(fields.iter().map(|&f| objs[i].field_sql(f)));
        db.track(writer.as_mut().write(&row).await)?;
    }
    let n = db.track(writer.finish().await)?;
    db::log(copy, started, db::NO_VALUES);
    db.note_write().await;
    Ok(n)
}

/// One `INSERT .. SELECT FROM UNNEST` per group, each column bound as one
/// array of references to the objects' fields; per group, the generated
/// columns of its rows in input order (no rows when nothing is generated).
async fn insert_groups<M: Model>(
    db: &Db,
    objs: &[M],
    groups: &[(bool, Vec<usize>)],
    conflict: Option<writes::Conflict<'_>>,
) -> Result<Vec<Vec<tokio_postgres::Row>>> {
    let mut generated = Vec::with_capacity(groups.len());
    let skips = matches!(conflict, Some(writes::Conflict::Ignore));
    for (pk_given, indexes) in groups {
        let rendered;
        let sql = match conflict {
            None => M::statements().bulk_insert(M::META, *pk_given),
            Some(conflict) => {
                rendered = writes::bulk_insert_on(M::META, *pk_given, Some(conflict));
                &rendered
            }
        };
        let columns: Vec<Vec<ByRef<'_>>> = writes::insert_fields(M::META, *pk_given)
            .map(|(f, _)| {
                indexes
                    .iter()
                    .map(|&i| ByRef(objs[i].field_sql(f)))
                    .collect()
            })
            .collect();
        let rows = indexes.len() as i64;
        let params: Vec<&(dyn ToSql + Sync)> = if columns.is_empty() {
            // Only generated columns: the statement takes the row count.
            vec![&rows]
        } else {
            columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect()
        };
        let (count, rows) = if !skips
            && writes::generated_fields(M::META, *pk_given)
                .next()
                .is_some()
        {
            let rows = db.query_params(sql, &params).await?;
            (rows.len(), rows)
        } else {
            let n = db.execute_params(sql, &params).await?;
            (n as usize, Vec::new())
        };
        // Skipped rows are not counted.
        if count != indexes.len() && !skips {
            return Err(Error::from(crate::error::QueryError {
                model: M::META.name,
                reason: format!(
                    "bulk insert stored {count} rows for {} objects",
                    indexes.len()
                ),
            }));
        }
        generated.push(rows);
    }
    Ok(generated)
}

fn is_unique_violation(err: &Error) -> bool {
    err.is_integrity(IntegrityKind::Unique)
}

pub(crate) async fn get_or_create<M: Model>(q: Q<M>, obj: M) -> Result<(M, bool)> {
    // On the primary (as Django's `db_for_write`): a replica's answer may
    // predate the row.
    let db = db::current()?.primary();
    if let Some(found) = QuerySet::new().using(&db).get_or_none(q.clone()).await? {
        return Ok((found, false));
    }
    let mut obj = obj;
    match insert(&db, &mut obj).await {
        Ok(()) => Ok((obj, true)),
        // Another writer inserted the same unique key between our get and
        // our insert: return its row, as Django does.
        Err(err) if is_unique_violation(&err) => {
            match QuerySet::new().using(&db).get_or_none(q).await? {
                Some(found) => Ok((found, false)),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// The `field = value` terms at the top of a condition (AND of equalities).
fn exact_terms<M: Model>(node: &Node, out: &mut Vec<Set>) {
    match node {
        Node::And(items) => items.iter().for_each(|n| exact_terms::<M>(n, out)),
        // A lookup across a relation (`author__name = ..`) is no field of
        // the new object, as in Django.
        Node::Leaf(cond) if cond.path.is_empty() => {
            let value = match &cond.op {
                Op::Exact(v) => v.clone(),
                Op::IsNull(true) => cond.field.sql_type.null(),
                _ => return,
            };
            out.push(Set {
                index: cond.field.position,
                field: cond.field,
                value,
                expr: None,
            });
        }
        _ => {}
    }
}

pub(crate) async fn update_or_create<M: Model + Default>(
    q: Q<M>,
    defaults: Assign<M>,
    create_defaults: Option<Assign<M>>,
) -> Result<(M, bool)> {
    let across = |a: &Assign<M>| a.items.iter().any(|s| s.index == ACROSS_RELATION);
    if across(&defaults) || create_defaults.as_ref().is_some_and(across) {
        return Err(Error::from(crate::error::QueryError {
            model: M::META.name,
            reason: "update_or_create() defaults assign fields of this model, not across relations"
                .into(),
        }));
    }
    let db = db::current()?.primary();
    if let Some(found) = QuerySet::new().using(&db).get_or_none(q.clone()).await? {
        return update_existing(&db, found, &defaults)
            .await
            .map(|o| (o, false));
    }
    // Django 5.0: `create_defaults` fill a new object, `defaults` when not
    // given.
    let filling = create_defaults.as_ref().unwrap_or(&defaults);
    if filling.items.iter().any(|s| s.expr.is_some()) {
        return Err(Error::from(crate::error::QueryError {
            model: M::META.name,
            reason: "update_or_create() defaults must be values: an F() expression cannot fill a new object".into(),
        }));
    }
    let mut obj = M::default();
    let mut terms = Vec::new();
    exact_terms::<M>(&q.node, &mut terms);
    for set in terms.into_iter().chain(filling.items.iter().cloned()) {
        obj.set_field(set.index, set.value)?;
    }
    match insert(&db, &mut obj).await {
        Ok(()) => Ok((obj, true)),
        Err(err) if is_unique_violation(&err) => {
            match QuerySet::new().using(&db).get_or_none(q).await? {
                Some(found) => update_existing(&db, found, &defaults)
                    .await
                    .map(|o| (o, false)),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// Updates only the `defaults` columns (and `auto_now` fields) of `obj`'s row.
async fn update_existing<M: Model>(db: &Db, obj: M, defaults: &Assign<M>) -> Result<M> {
    let now = now();
    let mut sets = defaults.items.clone();
    let mut touched = obj;
    touched.touch(false, now);
    for (index, field) in M::META.fields.iter().enumerate() {
        if field.auto_now && !sets.iter().any(|s| s.index == index) {
            sets.push(Set {
                index,
                field,
                value: touched.field_value(index),
                expr: None,
            });
        }
    }
    if sets.is_empty() {
        return Ok(touched);
    }
    check_sets::<M>(&sets)?;
    let stmt = crate::sql::statements::update_fields_by_pk(
        M::META,
        &sets,
        touched.pk(),
        crate::tenant::row_tenant(&touched),
    );
    let rows = db.query(&stmt.sql, &stmt.binds).await?;
    let row = rows.first().ok_or(Error::DoesNotExist {
        model: M::META.name,
    })?;
    M::from_row(row, 0)
}

pub(crate) async fn save_fields<M: Model>(obj: &mut M, names: &[&str]) -> Result<()> {
    let db = db::current()?;
    let wanted = crate::query::values::resolve_fields(M::META, names)?;
    crate::tenant::check_row(obj)?;
    obj.run_before_save(false).await?;
    touch(obj, false);
    obj.validate()?;
    let sets: Vec<Set> = M::META
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !M::META.is_pk_field(f.position)
                && (f.auto_now || wanted.iter().any(|w| w.position == f.position))
        })
        .map(|(index, field)| Set {
            index,
            field,
            value: obj.field_value(index),
            expr: None,
        })
        .collect();
    if sets.is_empty() {
        return obj.run_after_save(false).await;
    }
    check_sets::<M>(&sets)?;
    let stmt = crate::sql::statements::update_fields_by_pk(
        M::META,
        &sets,
        obj.pk(),
        crate::tenant::row_tenant(obj),
    );
    let rows = db.query(&stmt.sql, &stmt.binds).await?;
    if rows.is_empty() {
        return Err(Error::DoesNotExist {
            model: M::META.name,
        });
    }
    obj.run_after_save(false).await
}

/// The condition that names `obj`'s row: its key fields' values.
fn row_node<M: Model>(obj: &M) -> Node {
    M::META.pk_fields.iter().fold(Node::All, |node, &i| {
        node.and(Node::leaf(
            &M::META.fields[i],
            Op::Exact(obj.field_value(i)),
        ))
    })
}
