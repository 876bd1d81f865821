//! `delete_report()`: a delete that also says what the database cascaded,
//! per model, as Django's `delete()` does.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::db::Db;
use crate::error::Result;
use crate::meta::{registered_models, ModelMeta};
use crate::query::q::Node;
use crate::relation::{OnDelete, RelationKind};
use crate::sql::{statements, writes, Statement};
use crate::value::Value;

/// What a [`QuerySet::delete_report`](crate::QuerySet::delete_report) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Every row removed, cascaded ones and many-to-many links included.
    pub total: u64,
    /// Rows removed per model name (link tables by table name).
    pub per_model: BTreeMap<String, u64>,
}

/// What deleting some rows would do, counted without deleting anything
/// ([`QuerySet::delete_preview`](crate::QuerySet::delete_preview)): the
/// rows removed (as [`Deleted`]), the rows whose key would be set to NULL
/// (or its default), and the rows that would refuse the delete, per model
/// (Django's delete confirmation page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletePreview {
    /// The rows that would be removed, the matching ones and what cascades.
    pub deleted: Deleted,
    /// Rows whose key would be set to NULL or its default (`SET_NULL`,
    /// `SET_DEFAULT`), per model name.
    pub set_null: BTreeMap<String, u64>,
    /// Rows that refer to a removed row through a `PROTECT`, `RESTRICT`
    /// or `DO_NOTHING` key, per model name: the delete would fail.
    pub protected: BTreeMap<String, u64>,
}

impl Deleted {
    fn add(&mut self, name: &str, n: u64) {
        if n > 0 {
            self.total += n;
            *self.per_model.entry(name.to_owned()).or_default() += n;
        }
    }
}

async fn rows(db: &Db, stmt: &Statement) -> Result<Vec<tokio_postgres::Row>> {
    db.query(&stmt.sql, &stmt.binds).await
}

fn text_key(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

/// Rows already counted, per table (a row reached twice is removed once).
type Seen = HashMap<String, HashSet<String>>;

fn note_new(seen: &mut Seen, table: &str, keys: Vec<String>) -> Vec<String> {
    let known = seen.entry(table.to_owned()).or_default();
    keys.into_iter()
        .filter(|k| known.insert(k.clone()))
        .collect()
}

/// The rows a delete would set to NULL or be refused by, per model: its
/// table and the rows' keys (a row also deleted by a cascade is not
/// counted as set to NULL).
#[derive(Default)]
struct Pending {
    set_null: BTreeMap<String, (String, HashSet<String>)>,
    protected: BTreeMap<String, (String, HashSet<String>)>,
}

/// Counts the rows that deleting `keys` of `meta` cascades to, recursively;
/// with `others`, also the rows set to NULL and the rows that refuse.
fn count_cascades<'a>(
    db: &'a Db,
    meta: &'static ModelMeta,
    keys: Value,
    report: &'a mut Deleted,
    seen: &'a mut Seen,
    mut others: Option<&'a mut Pending>,
) -> crate::relation::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        for child in registered_models() {
            for rel in child.relations {
                let points_here = rel.target.meta().table == meta.table;
                if let (Some(pending), RelationKind::ForeignKey | RelationKind::OneToOne) =
                    (others.as_deref_mut(), rel.kind)
                {
                    if points_here && rel.on_delete != OnDelete::Cascade {
                        let Some(key) = rel.key_field() else { continue };
                        let stmt = statements::keys_referring(child, key.column, &keys);
                        let into = match rel.on_delete {
                            OnDelete::SetNull | OnDelete::SetDefault => &mut pending.set_null,
                            _ => &mut pending.protected,
                        };
                        let rows = rows(db, &stmt).await?;
                        if rows.is_empty() {
                            continue;
                        }
                        let found = into
                            .entry(child.name.to_owned())
                            .or_insert_with(|| (child.table.to_owned(), HashSet::new()));
                        for row in rows {
                            // Told apart by every key column.
                            let mut parts = Vec::with_capacity(child.pk_fields.len());
                            for (at, f) in child.pk_field_metas().enumerate() {
                                parts.push(Value::read(&row, at, f.sql_type)?.to_string());
                            }
                            found.1.insert(parts.join("|"));
                        }
                        continue;
                    }
                }
                match rel.kind {
                    RelationKind::ForeignKey | RelationKind::OneToOne
                        if points_here && rel.on_delete == OnDelete::Cascade =>
                    {
                        let Some(key) = rel.key_field() else { continue };
                        let stmt = statements::keys_referring(child, key.column, &keys);
                        let mut values = Vec::new();
                        let mut texts = Vec::new();
                        for row in rows(db, &stmt).await? {
                            if child.has_composite_pk() {
                                // Told apart by every key column.
                                let mut parts = Vec::with_capacity(child.pk_fields.len());
                                for (at, f) in child.pk_field_metas().enumerate() {
                                    parts.push(Value::read(&row, at, f.sql_type)?.to_string());
                                }
                                texts.push(parts.join("|"));
                                continue;
                            }
                            let v = Value::read(&row, 0, child.pk_field().sql_type)?;
                            if let Some(k) = text_key(&v) {
                                texts.push(k);
                                values.push(v);
                            }
                        }
                        let fresh = note_new(seen, child.table, texts);
                        if fresh.is_empty() {
                            continue;
                        }
                        report.add(child.name, fresh.len() as u64);
                        if child.has_composite_pk() {
                            // No relation may point to a model with a
                            // composite key: nothing cascades further.
                            continue;
                        }
                        let new_keys: Vec<Value> = values
                            .into_iter()
                            .filter(|v| text_key(v).is_some_and(|k| fresh.contains(&k)))
                            .collect();
                        count_cascades(
                            db,
                            child,
                            Value::Array(new_keys),
                            report,
                            seen,
                            others.as_deref_mut(),
                        )
                        .await?;
                    }
                    RelationKind::ManyToMany => {
                        let (table, own, other) = rel.through_table();
                        let owner_here = rel.owner.meta().table == meta.table;
                        if !owner_here && !points_here {
                            continue;
                        }
                        // A declared through model is counted as its model.
                        if registered_models().any(|m| m.table == table) {
                            continue;
                        }
                        // Count link rows once each, by their pair of keys.
                        let columns: Vec<&str> = match (owner_here, points_here) {
                            (true, true) => vec![&own, &other],
                            (true, false) => vec![&own],
                            _ => vec![&other],
                        };
                        let stmt = statements::link_pairs((&table, &own, &other), &columns, &keys);
                        let pairs: Vec<String> = rows(db, &stmt)
                            .await?
                            .iter()
                            .map(|r| {
                                let a: String = r.get(0);
                                let b: String = r.get(1);
                                format!("{a}|{b}")
                            })
                            .collect();
                        let fresh = note_new(seen, &table, pairs);
                        report.add(&table, fresh.len() as u64);
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    })
}

/// Deletes the rows of `meta` matching `filter` in one transaction and
/// reports them with what the database cascaded.
pub(crate) async fn delete_report(
    db: &Db,
    meta: &'static ModelMeta,
    filter: &Node,
) -> Result<Deleted> {
    let options = crate::transaction::TxOptions::default();
    crate::transaction::transaction_on(db, options, || async {
        let db = crate::db::current()?;
        let mut report = Deleted::default();
        if meta.has_composite_pk() {
            // No relation may point to a model with a composite key: the
            // rows are deleted by the filter itself, and nothing cascades.
            let mut w = crate::sql::SqlWriter::new();
            statements::push_delete(&mut w, meta, filter);
            let stmt = w.finish();
            let n = db.execute(&stmt.sql, &stmt.binds).await?;
            report.add(meta.name, n);
            return Ok(report);
        }
        let found = rows(&db, &statements::keys_for_update(meta, filter)).await?;
        if found.is_empty() {
            return Ok(report);
        }
        let keys = Value::Array(
            found
                .iter()
                .map(|r| Value::read(r, 0, meta.pk_field().sql_type))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        );
        let mut seen = Seen::new();
        note_new(
            &mut seen,
            meta.table,
            found
                .iter()
                .filter_map(|r| text_key(&Value::read(r, 0, meta.pk_field().sql_type).ok()?))
                .collect(),
        );
        count_cascades(&db, meta, keys.clone(), &mut report, &mut seen, None).await?;
        let stmt = writes::delete_by_keys(meta, &keys);
        let n = db.execute(&stmt.sql, &stmt.binds).await?;
        report.add(meta.name, n);
        Ok(report)
    })
    .await
}

/// Counts what deleting the rows of `meta` matching `filter` would remove,
/// set to NULL or be refused by, deleting nothing.
pub(crate) async fn delete_preview(
    db: &Db,
    meta: &'static ModelMeta,
    filter: &Node,
) -> Result<DeletePreview> {
    let mut preview = DeletePreview::default();
    if meta.has_composite_pk() {
        // Nothing may point to it: only the rows themselves go.
        let qs_count = statements::keys_for_update(meta, filter);
        let n = rows(db, &qs_count).await?.len() as u64;
        preview.deleted.add(meta.name, n);
        return Ok(preview);
    }
    let found = rows(db, &statements::keys_for_update(meta, filter)).await?;
    if found.is_empty() {
        return Ok(preview);
    }
    let values = found
        .iter()
        .map(|r| Value::read(r, 0, meta.pk_field().sql_type))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut seen = Seen::new();
    note_new(
        &mut seen,
        meta.table,
        values.iter().filter_map(text_key).collect(),
    );
    let mut report = Deleted::default();
    report.add(meta.name, values.len() as u64);
    let mut pending = Pending::default();
    count_cascades(
        db,
        meta,
        Value::Array(values),
        &mut report,
        &mut seen,
        Some(&mut pending),
    )
    .await?;
    let counts = |found: BTreeMap<String, (String, HashSet<String>)>| {
        found
            .into_iter()
            .filter_map(|(model, (table, keys))| {
                let gone = seen.get(&table);
                let n = keys
                    .iter()
                    .filter(|k| !gone.is_some_and(|g| g.contains(*k)))
                    .count() as u64;
                (n > 0).then_some((model, n))
            })
            .collect::<BTreeMap<_, _>>()
    };
    preview.deleted = report;
    preview.set_null = counts(pending.set_null);
    preview.protected = counts(pending.protected);
    Ok(preview)
}
