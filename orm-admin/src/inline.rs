//! Inlines (Django's `TabularInline`): the rows of a child model whose
//! foreign key points to the object of a change form, edited as a table
//! on that form and saved in the parent's transaction.

use std::marker::PhantomData;

use orm_core::prelude::*;
use orm_core::relation::RelationKind;
use orm_core::{FieldMeta, ModelMeta, OrderBy, Value};
use serde_json::json;

use crate::ops::{form_errors, log, pk_text, truncate, unique_message, BoxFut, LabelFn, Row};

/// The rows of model `C` that point to the edited object through the
/// foreign key `fk`, as a table on the object's change (and add) form:
/// Django's `TabularInline`.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String }
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64,
/// #   #[orm(on_delete = "cascade")] pub author: ForeignKey<Author>, pub title: String }
/// use orm_admin::{Inline, ModelAdmin};
/// let authors = ModelAdmin::<Author>::new()
///     .inline(Inline::<Post>::new("author").fields(&["title"]).extra(2));
/// ```
pub struct Inline<C: Model> {
    pub(crate) fk: String,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) extra: usize,
    pub(crate) max_rows: usize,
    pub(crate) label: Option<LabelFn<C>>,
    _child: PhantomData<fn() -> C>,
}

impl<C: Model> std::fmt::Debug for Inline<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("model", &C::META.name)
            .field("fk", &self.fk)
            .field("fields", &self.fields)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl<C: Model> Inline<C> {
    /// The rows of `C` whose foreign key `fk` points to the edited
    /// object; three blank rows to add more (Django's `extra = 3`).
    pub fn new(fk: &str) -> Self {
        Inline {
            fk: fk.to_owned(),
            fields: None,
            extra: 3,
            max_rows: 200,
            label: None,
            _child: PhantomData,
        }
    }

    /// The columns of the table (by default every editable field but
    /// the key and the foreign key).
    #[must_use]
    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = Some(fields.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// How many blank rows are offered for new children (3).
    #[must_use]
    pub fn extra(mut self, n: usize) -> Self {
        self.extra = n.min(100);
        self
    }

    /// At most this many existing rows are shown (200, the first by key);
    /// the form says when there are more.
    #[must_use]
    pub fn max_rows(mut self, n: usize) -> Self {
        self.max_rows = n.clamp(1, 10_000);
        self
    }

    /// How a child row is named in the history (as
    /// [`ModelAdmin::label`](crate::ModelAdmin::label)).
    #[must_use]
    pub fn label(mut self, label: impl Fn(&C) -> String + Send + Sync + 'static) -> Self {
        self.label = Some(Box::new(label));
        self
    }

    /// The configuration errors of this inline on parent model `parent`.
    pub(crate) fn problems(&self, parent: &'static ModelMeta) -> Vec<String> {
        let meta = C::META;
        let mut out = Vec::new();
        let valid_keys: Vec<&str> = meta
            .relations
            .iter()
            .filter(|r| matches!(r.kind, RelationKind::ForeignKey | RelationKind::OneToOne))
            .filter(|r| r.target.meta().table == parent.table)
            .map(|r| r.name)
            .collect();
        if !valid_keys.contains(&self.fk.as_str()) {
            out.push(format!(
                "{}.inline({}): `{}` is not a foreign key of {} to {}; foreign keys to it: {}",
                parent.name,
                meta.name,
                self.fk,
                meta.name,
                parent.name,
                if valid_keys.is_empty() {
                    "none".to_owned()
                } else {
                    valid_keys.join(", ")
                }
            ));
        }
        if meta.has_composite_pk() {
            out.push(format!(
                "{}.inline({}): a model with a composite primary key cannot be an inline yet",
                parent.name, meta.name
            ));
        }
        for name in self.fields.iter().flatten() {
            if meta.field(name).is_none() || *name == self.fk {
                out.push(format!(
                    "{}.inline({}).fields: `{name}` is not a field (or is the inline's foreign key); fields: {}",
                    parent.name,
                    meta.name,
                    meta.field_names().join(", ")
                ));
            }
        }
        out
    }
}

/// How an inline's save ended: the parent's history messages, or the
/// errors keyed by input name.
pub(crate) type RowsSaved = std::result::Result<Vec<serde_json::Value>, Vec<(String, String)>>;

/// One submitted row of an inline.
#[derive(Debug, Clone)]
pub(crate) struct InlineInput {
    /// The row's index in the form (its inputs' `<prefix>-<i>-` names).
    pub(crate) index: usize,
    /// The existing child's key (text), `None` for a new row.
    pub(crate) pk: Option<String>,
    /// Delete the existing child.
    pub(crate) delete: bool,
    /// The parsed values of the row's fields, by position.
    pub(crate) values: Vec<(usize, Value)>,
}

/// An inline's operations, type-erased (model `C` behind it).
pub(crate) trait InlineOps: Send + Sync {
    /// The child model.
    fn meta(&self) -> &'static ModelMeta;
    /// The form names' prefix: `<child>_set`, as Django's default.
    fn prefix(&self) -> &str;
    /// The table's columns.
    fn columns(&self) -> &[&'static FieldMeta];
    fn extra(&self) -> usize;
    /// The existing children of the parent with key `parent` (at most
    /// `max_rows`, by key), and whether there are more.
    fn rows(&self, parent: Value) -> BoxFut<'_, Result<(Vec<Row>, bool)>>;
    /// Checks every row (the model's `validate`, unique fields), then,
    /// with a parent key and no error, adds, changes and deletes the
    /// children with a history row each, on the scoped database (the
    /// parent's transaction). The history messages for the parent's
    /// row, or the errors keyed by input name (`<prefix>-<i>-<field>`).
    fn save(
        &self,
        parent: Option<Value>,
        rows: Vec<InlineInput>,
        user: i64,
    ) -> BoxFut<'_, Result<RowsSaved>>;
}

/// [`InlineOps`] of child model `C`.
pub(crate) struct InlineOf<C: Model> {
    prefix: String,
    fk: &'static FieldMeta,
    columns: Vec<&'static FieldMeta>,
    extra: usize,
    max_rows: usize,
    label: LabelFn<C>,
}

impl<C: Model + Default + Clone> InlineOf<C> {
    /// Built after [`Inline::problems`] found nothing.
    pub(crate) fn new(inline: Inline<C>) -> Option<Self> {
        let meta = C::META;
        let fk = meta.field(&inline.fk)?;
        let columns = match &inline.fields {
            Some(names) => names.iter().filter_map(|n| meta.field(n)).collect(),
            None => meta
                .fields
                .iter()
                .filter(|f| {
                    !f.primary_key
                        && f.position != fk.position
                        && !f.auto_now
                        && !f.auto_now_add
                        && crate::fields::editable_type(&f.sql_type)
                })
                .collect(),
        };
        Some(InlineOf {
            prefix: format!("{}_set", meta.name.to_lowercase()),
            fk,
            columns,
            extra: inline.extra,
            max_rows: inline.max_rows,
            label: inline
                .label
                .unwrap_or_else(|| Box::new(crate::ops::default_label::<C>)),
        })
    }

    fn row(&self, object: &C) -> Row {
        Row {
            pk: pk_text(object),
            label: (self.label)(object),
            values: (0..C::META.fields.len())
                .map(|i| object.field_value(i))
                .collect(),
            token: String::new(),
        }
    }

    async fn save_impl(
        &self,
        parent: Option<Value>,
        rows: Vec<InlineInput>,
        user: i64,
    ) -> Result<RowsSaved> {
        let meta = C::META;
        let name = |i: usize, field: &str| format!("{}-{i}-{field}", self.prefix);
        let all = orm_core::ValidationError::NON_FIELD_ERRORS;
        // The existing children named by the form, the parent's only.
        let keys: Vec<Value> = rows
            .iter()
            .filter_map(|r| r.pk.as_deref())
            .filter_map(|k| meta.pk_field().sql_type.parse(k).ok())
            .collect();
        let mut existing: Vec<C> = match &parent {
            Some(parent) if !keys.is_empty() => {
                C::filter(Lookup::value::<C>(self.fk.name, parent.clone())?)
                    .filter(Lookup::value::<C>("pk__in", Value::Array(keys))?)
                    .await?
            }
            _ => Vec::new(),
        };
        enum Plan<C> {
            Add(C),
            Change(C, Vec<&'static str>),
            Delete(C),
        }
        let mut plans = Vec::new();
        let mut errors = Vec::new();
        for row in rows {
            let i = row.index;
            let old = match &row.pk {
                None => None,
                Some(pk) => match existing.iter().position(|o| pk_text(o) == *pk) {
                    Some(at) => Some(existing.swap_remove(at)),
                    None => {
                        errors.push((
                            name(i, all),
                            format!(
                                "This {} no longer exists (deleted by someone else?); reload the page.",
                                meta.name.to_lowercase()
                            ),
                        ));
                        continue;
                    }
                },
            };
            if row.delete {
                if let Some(old) = old {
                    plans.push((i, Plan::Delete(old)));
                }
                continue;
            }
            let mut object = old.clone().unwrap_or_default();
            let before = errors.len();
            for (at, value) in row.values {
                if let Err(e) = object.set_field(at, value) {
                    errors.push((name(i, meta.fields[at].name), e.to_string()));
                }
            }
            if let Some(parent) = &parent {
                object.set_field(self.fk.position, parent.clone())?;
            }
            if let Err(e) = object.validate() {
                for (field, message) in form_errors(meta, e)? {
                    // An error of a field the table does not show is the row's.
                    let shown = self.columns.iter().any(|c| c.name == field);
                    errors.push((name(i, if shown { &field } else { all }), message));
                }
            }
            for f in meta.fields.iter().filter(|f| f.unique && !f.primary_key) {
                let value = object.field_value(f.position);
                if value.is_null()
                    || old
                        .as_ref()
                        .is_some_and(|o| o.field_value(f.position) == value)
                {
                    continue;
                }
                let mut qs = C::filter(Lookup::value::<C>(f.name, value)?);
                if let Some(old) = &old {
                    qs = qs.exclude(Lookup::value::<C>("pk", old.pk())?);
                }
                if qs.exists().await? {
                    errors.push((name(i, f.name), unique_message(meta, &[f.name])));
                }
            }
            if errors.len() > before {
                continue;
            }
            match old {
                None => plans.push((i, Plan::Add(object))),
                Some(old) => {
                    let changed: Vec<&'static str> = meta
                        .fields
                        .iter()
                        .filter(|f| old.field_value(f.position) != object.field_value(f.position))
                        .map(|f| f.name)
                        .collect();
                    if !changed.is_empty() {
                        plans.push((i, Plan::Change(object, changed)));
                    }
                }
            }
        }
        if !errors.is_empty() || parent.is_none() {
            return Ok(Err(errors));
        }
        let child = meta.name.to_lowercase();
        let mut messages = Vec::new();
        for (i, plan) in plans {
            // A refusal of the database is shown on the row (the caller
            // rolls everything back).
            let at = |e: Error| -> Result<RowsSaved> {
                Ok(Err(form_errors(meta, e)?
                    .into_iter()
                    .map(|(field, m)| {
                        let shown = self.columns.iter().any(|c| c.name == field);
                        (name(i, if shown { &field } else { all }), m)
                    })
                    .collect()))
            };
            match plan {
                Plan::Add(object) => {
                    let object = match C::create(object).await {
                        Ok(o) => o,
                        Err(e) => return at(e),
                    };
                    let label = (self.label)(&object);
                    log(
                        user,
                        meta.name,
                        &pk_text(&object),
                        &label,
                        crate::AdminLogEntry::ADDITION,
                        json!([{"added": {}}]),
                    )
                    .await?;
                    messages
                        .push(json!({"added": {"name": child, "object": truncate(label, 200)}}));
                }
                Plan::Change(mut object, changed) => {
                    if let Err(e) = object.save_fields(&changed).await {
                        return at(e);
                    }
                    let label = (self.label)(&object);
                    log(
                        user,
                        meta.name,
                        &pk_text(&object),
                        &label,
                        crate::AdminLogEntry::CHANGE,
                        json!([{"changed": {"fields": changed}}]),
                    )
                    .await?;
                    messages.push(json!({"changed": {"name": child, "object": truncate(label, 200), "fields": changed}}));
                }
                Plan::Delete(object) => {
                    let label = (self.label)(&object);
                    log(
                        user,
                        meta.name,
                        &pk_text(&object),
                        &label,
                        crate::AdminLogEntry::DELETION,
                        json!([]),
                    )
                    .await?;
                    if let Err(e) = object.delete().await {
                        return at(e);
                    }
                    messages
                        .push(json!({"deleted": {"name": child, "object": truncate(label, 200)}}));
                }
            }
        }
        Ok(Ok(messages))
    }
}

impl<C: Model + Default + Clone> InlineOps for InlineOf<C> {
    fn meta(&self) -> &'static ModelMeta {
        C::META
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn columns(&self) -> &[&'static FieldMeta] {
        &self.columns
    }

    fn extra(&self) -> usize {
        self.extra
    }

    fn rows(&self, parent: Value) -> BoxFut<'_, Result<(Vec<Row>, bool)>> {
        Box::pin(async move {
            let found = C::filter(Lookup::value::<C>(self.fk.name, parent)?)
                .order_by([OrderBy::from(C::META.pk_field().name.to_owned())])
                .limit(self.max_rows as i64 + 1)
                .await?;
            let more = found.len() > self.max_rows;
            Ok((
                found
                    .iter()
                    .take(self.max_rows)
                    .map(|o| self.row(o))
                    .collect(),
                more,
            ))
        })
    }

    fn save(
        &self,
        parent: Option<Value>,
        rows: Vec<InlineInput>,
        user: i64,
    ) -> BoxFut<'_, Result<RowsSaved>> {
        Box::pin(self.save_impl(parent, rows, user))
    }
}
