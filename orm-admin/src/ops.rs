//! What the admin does to one model, behind a trait object built at
//! [`Admin::register`](crate::Admin::register) time: the pages and forms
//! are written once, against [`ModelOps`], for every model.

use std::future::Future;
use std::pin::Pin;

use orm_core::prelude::*;
use orm_core::query::{DeletePreview, FilterSet, Filters};
use orm_core::QuerySet;
use orm_core::{IntegrityKind, ModelMeta, OrderBy, Value};
use serde_json::json;

use crate::fields::form_text;
use crate::inline::{InlineInput, InlineOps};
use crate::models::AdminLogEntry;
use crate::Options;
use orm_core::relation::RelationMeta;

pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// (key text, label) of each object.
pub(crate) type Labels = Vec<(String, String)>;

/// One object as the pages show it.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The primary key, as text (the URL's).
    pub(crate) pk: String,
    /// The object's label (Django's `__str__`).
    pub(crate) label: String,
    /// Every field's value, by position.
    pub(crate) values: Vec<Value>,
    /// The row as loaded, for the "changed since opened" check: a hash of
    /// its values ([`token_of`]).
    pub(crate) token: String,
}

/// A hash of a row's values: the change form carries it, and a save
/// compares it with the row as locked (`SELECT .. FOR UPDATE`) to notice
/// a change made since the form was opened.
pub(crate) fn token_of(values: &[Value]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for v in values {
        // `Debug` names the variant and writes the whole value: equal
        // text, equal values.
        hash.update(format!("{v:?}").as_bytes());
        hash.update([0]);
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What is saved with the object, in its transaction.
#[derive(Default)]
pub(crate) struct Extra<'a> {
    /// The token of the row when the form was opened ([`token_of`]);
    /// `None`: no check.
    pub(crate) token: Option<String>,
    /// The rows of each inline.
    pub(crate) inlines: Vec<(&'a dyn InlineOps, Vec<InlineInput>)>,
    /// The keys each submitted many-to-many field links to (the set).
    pub(crate) many: Vec<(&'static RelationMeta, Vec<Value>)>,
}

/// A page of the change list.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) rows: Vec<Row>,
    /// The page's number; `None` on a keyset page in the middle.
    pub(crate) number: Option<i64>,
    pub(crate) num_pages: i64,
    pub(crate) count: i64,
    /// The count is the planner's estimate.
    pub(crate) estimated: bool,
    /// The keyset cursors of the pages after and before this one.
    pub(crate) next: Option<String>,
    pub(crate) previous: Option<String>,
    /// The ordering is one a cursor can follow.
    pub(crate) keyset: bool,
}

/// How a save ended: the object's key, or the errors to show
/// next to each field (`__all__` for the form's).
#[derive(Debug)]
pub(crate) enum Saved {
    Done {
        pk: String,
    },
    Invalid(Vec<(String, String)>),
    /// The row changed since the form was opened: nothing was saved;
    /// `token` is the row's as it is now (a resubmit with it confirms).
    Stale {
        token: String,
    },
}

/// The operations of one registered model, type-erased.
pub(crate) trait ModelOps: Send + Sync {
    fn meta(&self) -> &'static ModelMeta;
    fn opts(&self) -> &Options;
    /// A page of the change list for a query string (filters, `search`,
    /// `ordering`) and a page number or a keyset cursor.
    fn list<'a>(
        &'a self,
        query: &'a str,
        page: Option<&'a str>,
        cursor: Option<&'a str>,
    ) -> BoxFut<'a, Result<ListPage>>;
    /// The object with this key (text from the URL), if any.
    fn get<'a>(&'a self, pk: &'a str) -> BoxFut<'a, Result<Option<Row>>>;
    /// The labels of the objects with these keys, as (key text, label).
    fn labels(&self, keys: Vec<Value>) -> BoxFut<'_, Result<Vec<(String, String)>>>;
    /// Every object as (key text, label) when there are at most `limit`.
    fn choices(&self, limit: i64) -> BoxFut<'_, Result<Option<Labels>>>;
    /// Adds (`pk` None) or changes an object from the form's values, with
    /// its history row, in one transaction.
    fn save<'a>(
        &'a self,
        pk: Option<&'a str>,
        input: Vec<(usize, Value)>,
        user: i64,
        extra: Extra<'a>,
    ) -> BoxFut<'a, Result<Saved>>;
    /// The keys linked to the object with key `pk` by the many-to-many
    /// relation `rel` (of this model).
    fn linked<'a>(
        &'a self,
        pk: &'a str,
        rel: &'static RelationMeta,
    ) -> BoxFut<'a, Result<Vec<Value>>>;
    /// The inlines of the model's forms.
    fn inlines(&self) -> &[Box<dyn InlineOps>];
    /// Deletes an object with its history row; `Ok(Err(message))` when
    /// the database refuses (a protected row refers to it).
    fn delete<'a>(&'a self, pk: &'a str, user: i64) -> BoxFut<'a, Result<Result<String, String>>>;
    /// What deleting the object would do.
    fn preview<'a>(&'a self, pk: &'a str) -> BoxFut<'a, Result<DeletePreview>>;
    /// The objects with these keys (text), by key; keys that are not of
    /// the key's type find nothing.
    fn many<'a>(&'a self, keys: &'a [String]) -> BoxFut<'a, Result<Vec<Row>>>;
    /// At most 20 objects matching `term` by the search fields, as (key
    /// text, label), and whether there are more.
    fn autocomplete<'a>(&'a self, term: &'a str) -> BoxFut<'a, Result<(Labels, bool)>>;
    /// What deleting the objects with these keys would do.
    fn preview_many<'a>(&'a self, keys: &'a [String]) -> BoxFut<'a, Result<DeletePreview>>;
    /// Deletes the objects with these keys, each with its history row,
    /// in one transaction: how many, or the database's refusal.
    fn delete_many<'a>(
        &'a self,
        keys: &'a [String],
        user: i64,
    ) -> BoxFut<'a, Result<Result<usize, String>>>;
    /// Runs the user-defined action `name` on the objects with these
    /// keys, with a history row for each, in one transaction: how many.
    fn run_action<'a>(
        &'a self,
        name: &'a str,
        keys: &'a [String],
        user: i64,
    ) -> BoxFut<'a, Result<usize>>;
}

/// A user-defined action: called with the selected objects' query set.
pub(crate) type ActionFn<M> =
    std::sync::Arc<dyn Fn(QuerySet<M>) -> BoxFut<'static, Result<()>> + Send + Sync>;

/// The label of an object.
pub(crate) type LabelFn<M> = Box<dyn Fn(&M) -> String + Send + Sync>;

/// [`ModelOps`] of model `M`.
pub(crate) struct Ops<M: Model> {
    pub(crate) opts: Options,
    pub(crate) label: LabelFn<M>,
    pub(crate) filters: FilterSet<M>,
    /// The user-defined actions, by name.
    pub(crate) actions: Vec<(String, ActionFn<M>)>,
    pub(crate) inlines: Vec<Box<dyn InlineOps>>,
}

/// The key of `object` as text.
pub(crate) fn pk_text<M: Model>(object: &M) -> String {
    form_text(&object.pk())
}

/// Django's default `__str__`: the first text field that is set, else
/// `Post object (1)`.
pub(crate) fn default_label<M: Model>(object: &M) -> String {
    let meta = M::META;
    meta.fields
        .iter()
        .filter(|f| !f.primary_key && f.sql_type == orm_core::types::SqlType::Text)
        .find_map(|f| match object.field_value(f.position) {
            Value::Text(Some(t)) if !t.trim().is_empty() => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| format!("{} object ({})", meta.name, pk_text(object)))
}

impl<M: Model + Default + Clone> Ops<M> {
    /// The objects with these keys (text; at most 10,000).
    fn selected(&self, keys: &[String]) -> Result<QuerySet<M>> {
        let pk = M::META.pk_field();
        let values: Vec<Value> = keys
            .iter()
            .take(10_000)
            .filter_map(|k| pk.sql_type.parse(k).ok())
            .collect();
        Ok(M::filter(Lookup::value::<M>("pk__in", Value::Array(values))?).order_by([pk.name]))
    }

    pub(crate) fn row(&self, object: &M) -> Row {
        let values: Vec<Value> = (0..M::META.fields.len())
            .map(|i| object.field_value(i))
            .collect();
        Row {
            pk: pk_text(object),
            label: (self.label)(object),
            token: token_of(&values),
            values,
        }
    }

    /// The keys `rel` links to the object with key `pk`: the target's key
    /// across the relation, as `values("tags__id")` (a `LEFT JOIN`: NULL
    /// for none).
    async fn linked_values(&self, pk: Value, rel: &'static RelationMeta) -> Result<Vec<Value>> {
        let path = format!("{}__{}", rel.name, rel.target.meta().pk_field().name);
        let records = M::filter(Lookup::value::<M>("pk", pk)?)
            .values([path.as_str()])
            .fetch()
            .await?;
        Ok(records
            .iter()
            .filter_map(|r| r.value(&path).cloned())
            .filter(|v| !v.is_null())
            .collect())
    }

    async fn fetch(&self, pk: &str) -> Result<Option<M>> {
        // A key that is not of the key's type finds nothing.
        match Lookup::parse::<M>("pk", pk) {
            Ok(q) => M::filter(q).first().await,
            Err(Error::InvalidValue(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn order(&self) -> Vec<OrderBy> {
        self.opts
            .ordering
            .iter()
            .map(|o| OrderBy::from(o.clone()))
            .collect()
    }

    async fn save_impl(
        &self,
        pk: Option<&str>,
        input: Vec<(usize, Value)>,
        user: i64,
        extra: Extra<'_>,
    ) -> Result<Saved> {
        let meta = M::META;
        let old = match pk {
            None => None,
            Some(pk) => match self.fetch(pk).await? {
                Some(old) => Some(old),
                None => return Err(Error::DoesNotExist { model: meta.name }),
            },
        };
        let mut object = old.clone().unwrap_or_default();
        let mut errors: Vec<(String, String)> = Vec::new();
        for (i, value) in input {
            if let Err(e) = object.set_field(i, value) {
                errors.push((meta.fields[i].name.to_owned(), e.to_string()));
            }
        }
        if let Err(e) = object.validate() {
            errors.extend(form_errors(meta, e)?);
        }
        // Unique fields, checked first for a message next to the field
        // (Django's validate_unique); the database's constraint still
        // decides a race.
        for f in meta.fields.iter().filter(|f| f.unique && !f.primary_key) {
            let value = object.field_value(f.position);
            if value.is_null()
                || errors.iter().any(|(n, _)| n == f.name)
                || old
                    .as_ref()
                    .is_some_and(|o| o.field_value(f.position) == value)
            {
                continue;
            }
            let mut qs = M::filter(Lookup::value::<M>(f.name, value)?);
            if let Some(old) = &old {
                qs = qs.exclude(Lookup::value::<M>("pk", old.pk())?);
            }
            if qs.exists().await? {
                errors.push((f.name.to_owned(), unique_message(meta, &[f.name])));
            }
        }
        let Extra {
            token,
            inlines,
            many,
        } = extra;
        if !errors.is_empty() {
            // The inlines' rows are checked too (nothing is written
            // without a parent key): every error shows at once.
            for (inline, rows) in inlines {
                if let Err(found) = inline.save(None, rows, user).await? {
                    errors.extend(found);
                }
            }
            return Ok(Saved::Invalid(errors));
        }
        let label = truncate((self.label)(&object), 200);
        let name = meta.name;
        // How a save that must roll back ends (stale row, an inline's
        // errors): set here, then the block fails to roll back.
        let ending: std::sync::Mutex<Option<Saved>> = std::sync::Mutex::new(None);
        let ending_ref = &ending;
        let rollback = || Error::Config("admin: rolled back".to_owned());
        let result = orm_core::transaction(|| async move {
            let adding = old.is_none();
            let mut changed: Vec<&'static str> = Vec::new();
            let pk_value = match old {
                None => {
                    let created = M::create(object).await?;
                    created.pk()
                }
                Some(old) => {
                    // The row as it is now, locked until the end: a change
                    // made since the form was opened is not overwritten
                    // unless the form was sent again with the new token.
                    let locked = M::filter(Lookup::value::<M>("pk", old.pk())?)
                        .select_for_update()
                        .await?;
                    let Some(current) = locked.first() else {
                        return Err(Error::DoesNotExist { model: name });
                    };
                    let now = self.row(current).token;
                    if token.as_ref().is_some_and(|t| *t != now) {
                        *ending_ref.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Saved::Stale { token: now });
                        return Err(rollback());
                    }
                    // The fields the form changed, from the row it showed
                    // (another's change of another field is kept).
                    changed = meta
                        .fields
                        .iter()
                        .filter(|f| old.field_value(f.position) != object.field_value(f.position))
                        .map(|f| f.name)
                        .collect();
                    if !changed.is_empty() {
                        object.save_fields(&changed).await?;
                    }
                    old.pk()
                }
            };
            let mut parts = Vec::new();
            for (inline, rows) in inlines {
                match inline.save(Some(pk_value.clone()), rows, user).await? {
                    Ok(messages) => parts.extend(messages),
                    Err(found) => {
                        *ending_ref.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Saved::Invalid(found));
                        return Err(rollback());
                    }
                }
            }
            for (rel, keys) in many {
                let now = self.linked_values(pk_value.clone(), rel).await?;
                let add: Vec<Value> = keys.iter().filter(|k| !now.contains(k)).cloned().collect();
                let remove: Vec<Value> =
                    now.iter().filter(|k| !keys.contains(k)).cloned().collect();
                if !add.is_empty() || !remove.is_empty() {
                    rel.add_links(pk_value.clone(), add).await?;
                    rel.remove_links(pk_value.clone(), remove).await?;
                    if !adding {
                        changed.push(rel.name);
                    }
                }
            }
            let pk = form_text(&pk_value);
            let (flag, first) = if adding {
                (AdminLogEntry::ADDITION, json!({"added": {}}))
            } else {
                (
                    AdminLogEntry::CHANGE,
                    json!({"changed": {"fields": changed}}),
                )
            };
            let mut message = vec![first];
            message.extend(parts);
            log(
                user,
                name,
                &pk,
                &label,
                flag,
                serde_json::Value::Array(message),
            )
            .await?;
            Ok(pk)
        })
        .await;
        if let Some(saved) = ending.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Ok(saved);
        }
        match result {
            Ok(pk) => Ok(Saved::Done { pk }),
            Err(e) => Ok(Saved::Invalid(form_errors(meta, e)?)),
        }
    }
}

/// Writes a history row on the scoped database (the change's transaction).
pub(crate) async fn log(
    user: i64,
    model: &'static str,
    object_id: &str,
    repr: &str,
    action_flag: i16,
    change_message: serde_json::Value,
) -> Result<()> {
    AdminLogEntry::create(AdminLogEntry {
        user: ForeignKey::from_key(user),
        model: model.to_owned(),
        object_id: object_id.to_owned(),
        object_repr: truncate(repr.to_owned(), 200),
        action_flag,
        change_message,
        ..Default::default()
    })
    .await
    .map(drop)
}

pub(crate) fn truncate(mut text: String, chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(chars) {
        text.truncate(at);
    }
    text
}

/// Django's unique message: `Author with this Name already exists.`
pub(crate) fn unique_message(meta: &ModelMeta, fields: &[&str]) -> String {
    let names: Vec<String> = fields.iter().map(|f| crate::fields::label(f)).collect();
    format!(
        "{} with this {} already exists.",
        meta.name,
        names.join(" and ")
    )
}

/// The form errors an error of a save stands for; other errors are
/// returned (a 500).
pub(crate) fn form_errors(meta: &ModelMeta, err: Error) -> Result<Vec<(String, String)>> {
    let all = || orm_core::ValidationError::NON_FIELD_ERRORS.to_owned();
    let by_constraint = |suffix: &str, constraint: Option<&str>| {
        meta.fields.iter().find(|f| {
            constraint.is_some_and(|c| c == format!("{}_{}_{suffix}", meta.table, f.column))
        })
    };
    Ok(match err {
        Error::Validation(e) => e
            .errors()
            .map(|fe| (fe.field.to_owned(), fe.message))
            .collect(),
        Error::InvalidValue(e) => vec![(e.field.to_owned(), e.reason.clone())],
        Error::DanglingKey(e) => vec![(
            all(),
            format!(
                "Select a valid choice: no {} has the key {}.",
                e.model, e.key
            ),
        )],
        Error::Integrity(ref e) if err.is_integrity(IntegrityKind::Unique) => {
            match by_constraint("key", e.constraint()) {
                Some(f) => vec![(f.name.to_owned(), unique_message(meta, &[f.name]))],
                None => vec![(
                    all(),
                    format!("{} with these values already exists.", meta.name),
                )],
            }
        }
        Error::Integrity(ref e) if err.is_integrity(IntegrityKind::ForeignKey) => {
            let message = "Select a valid choice. That choice is not one of the available choices.";
            match by_constraint("fkey", e.constraint()) {
                Some(f) => vec![(f.name.to_owned(), message.to_owned())],
                None => vec![(all(), message.to_owned())],
            }
        }
        Error::Integrity(ref e) => vec![(all(), e.message().to_owned())],
        other => return Err(other),
    })
}

impl<M: Model + Default + Clone> ModelOps for Ops<M> {
    fn meta(&self) -> &'static ModelMeta {
        M::META
    }

    fn opts(&self) -> &Options {
        &self.opts
    }

    fn list<'a>(
        &'a self,
        query: &'a str,
        page: Option<&'a str>,
        cursor: Option<&'a str>,
    ) -> BoxFut<'a, Result<ListPage>> {
        Box::pin(crate::paging::list(self, query, page, cursor))
    }

    fn get<'a>(&'a self, pk: &'a str) -> BoxFut<'a, Result<Option<Row>>> {
        Box::pin(async move { Ok(self.fetch(pk).await?.map(|o| self.row(&o))) })
    }

    fn labels(&self, keys: Vec<Value>) -> BoxFut<'_, Result<Vec<(String, String)>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let found = M::filter(Lookup::value::<M>("pk__in", Value::Array(keys))?).await?;
            Ok(found
                .iter()
                .map(|o| (pk_text(o), (self.label)(o)))
                .collect())
        })
    }

    fn choices(&self, limit: i64) -> BoxFut<'_, Result<Option<Labels>>> {
        Box::pin(async move {
            let mut order = self.order();
            order.push(OrderBy::from(M::META.pk_field().name.to_owned()));
            // One past the limit says there are more: never the whole table.
            let found = M::all().order_by(order).limit(limit + 1).await?;
            if found.len() as i64 > limit {
                return Ok(None);
            }
            Ok(Some(
                found
                    .iter()
                    .map(|o| (pk_text(o), (self.label)(o)))
                    .collect(),
            ))
        })
    }

    fn save<'a>(
        &'a self,
        pk: Option<&'a str>,
        input: Vec<(usize, Value)>,
        user: i64,
        extra: Extra<'a>,
    ) -> BoxFut<'a, Result<Saved>> {
        Box::pin(self.save_impl(pk, input, user, extra))
    }

    fn linked<'a>(
        &'a self,
        pk: &'a str,
        rel: &'static RelationMeta,
    ) -> BoxFut<'a, Result<Vec<Value>>> {
        Box::pin(async move {
            match Lookup::parse::<M>("pk", pk) {
                Ok(_) => match M::META.pk_field().sql_type.parse(pk) {
                    Ok(pk) => self.linked_values(pk, rel).await,
                    Err(_) => Ok(Vec::new()),
                },
                Err(Error::InvalidValue(_)) => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        })
    }

    fn inlines(&self) -> &[Box<dyn InlineOps>] {
        &self.inlines
    }

    fn delete<'a>(&'a self, pk: &'a str, user: i64) -> BoxFut<'a, Result<Result<String, String>>> {
        Box::pin(async move {
            let meta = M::META;
            let Some(object) = self.fetch(pk).await? else {
                return Err(Error::DoesNotExist { model: meta.name });
            };
            let label = (self.label)(&object);
            let repr = label.clone();
            let result = orm_core::transaction(|| async move {
                log(
                    user,
                    meta.name,
                    &pk_text(&object),
                    &repr,
                    AdminLogEntry::DELETION,
                    json!([]),
                )
                .await?;
                object.delete().await?;
                Ok(())
            })
            .await;
            match result {
                Ok(()) => Ok(Ok(label)),
                Err(Error::Integrity(e)) => Ok(Err(format!(
                    "Cannot delete {} “{}”: other rows still refer to it ({}).",
                    meta.name,
                    label,
                    e.constraint().unwrap_or("a foreign key")
                ))),
                Err(e) => Err(e),
            }
        })
    }

    fn many<'a>(&'a self, keys: &'a [String]) -> BoxFut<'a, Result<Vec<Row>>> {
        Box::pin(async move {
            let found = self.selected(keys)?.await?;
            Ok(found.iter().map(|o| self.row(o)).collect())
        })
    }

    fn autocomplete<'a>(&'a self, term: &'a str) -> BoxFut<'a, Result<(Labels, bool)>> {
        Box::pin(async move {
            // The change list's own search (the filter set's allow-list,
            // bound parameters), one row past the 20 to know of more.
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("search", term)
                .finish();
            let Filters { q, .. } = self.filters.parse(&query)?;
            let mut order = self.order();
            order.push(OrderBy::from(M::META.pk_field().name.to_owned()));
            let found = M::filter(q).order_by(order).limit(21).await?;
            let more = found.len() > 20;
            Ok((
                found
                    .iter()
                    .take(20)
                    .map(|o| (pk_text(o), (self.label)(o)))
                    .collect(),
                more,
            ))
        })
    }

    fn preview_many<'a>(&'a self, keys: &'a [String]) -> BoxFut<'a, Result<DeletePreview>> {
        Box::pin(async move { self.selected(keys)?.delete_preview().await })
    }

    fn delete_many<'a>(
        &'a self,
        keys: &'a [String],
        user: i64,
    ) -> BoxFut<'a, Result<Result<usize, String>>> {
        Box::pin(async move {
            let meta = M::META;
            let qs = self.selected(keys)?;
            let label = &self.label;
            let result = orm_core::transaction(|| async move {
                let objects = qs.select_for_update().await?;
                let n = objects.len();
                for object in objects {
                    let repr = label(&object);
                    log(
                        user,
                        meta.name,
                        &pk_text(&object),
                        &repr,
                        AdminLogEntry::DELETION,
                        json!([]),
                    )
                    .await?;
                    object.delete().await?;
                }
                Ok(n)
            })
            .await;
            match result {
                Ok(n) => Ok(Ok(n)),
                Err(Error::Integrity(e)) => Ok(Err(format!(
                    "Cannot delete the selected {}: other rows still refer to them ({}).",
                    meta.name.to_lowercase(),
                    e.constraint().unwrap_or("a foreign key")
                ))),
                Err(e) => Err(e),
            }
        })
    }

    fn run_action<'a>(
        &'a self,
        name: &'a str,
        keys: &'a [String],
        user: i64,
    ) -> BoxFut<'a, Result<usize>> {
        Box::pin(async move {
            let meta = M::META;
            let Some((_, action)) = self.actions.iter().find(|(n, _)| n == name) else {
                // The pages offer registered names only.
                return Err(Error::Config(format!(
                    "no action `{name}`; actions: delete_selected, export_csv{}",
                    self.actions
                        .iter()
                        .map(|(n, _)| format!(", {n}"))
                        .collect::<String>()
                )));
            };
            let qs = self.selected(keys)?;
            let label = &self.label;
            orm_core::transaction(|| async move {
                let objects = qs.clone().await?;
                for object in &objects {
                    log(
                        user,
                        meta.name,
                        &pk_text(object),
                        &label(object),
                        AdminLogEntry::CHANGE,
                        json!([{"action": {"name": name}}]),
                    )
                    .await?;
                }
                action(qs).await?;
                Ok(objects.len())
            })
            .await
        })
    }

    fn preview<'a>(&'a self, pk: &'a str) -> BoxFut<'a, Result<DeletePreview>> {
        Box::pin(async move {
            match Lookup::parse::<M>("pk", pk) {
                Ok(q) => M::filter(q).delete_preview().await,
                Err(Error::InvalidValue(_)) => Ok(DeletePreview::default()),
                Err(e) => Err(e),
            }
        })
    }
}
