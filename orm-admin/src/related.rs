//! The parts of an add/change form beyond the model's own fields: its
//! many-to-many fields and its inlines, read from the database, parsed
//! from a submitted form, and written into the page.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use orm_core::relation::{RelationKind, RelationMeta};
use orm_core::{FieldMeta, ModelMeta, Result, Value};

use crate::auth::Session;
use crate::fields::{self, form_text, label, KeyChoices};
use crate::html::E;
use crate::inline::{InlineInput, InlineOps};
use crate::ops::{Extra, ModelOps, Row};
use crate::perms::Action;
use crate::views::Site;
use crate::widgets::{self, InlineRow, InlineTable, ManyChoices};

/// The form's many-to-many selections and inline rows.
#[derive(Debug, Default)]
pub(crate) struct Related {
    /// The chosen keys (text) of each many-to-many field.
    pub(crate) many: HashMap<&'static str, Vec<String>>,
    /// Each inline's rows, `None` for an inline the user may not see
    /// (parallel to `ModelOps::inlines`).
    pub(crate) inlines: Vec<Option<InlineState>>,
}

/// The rows of one inline as the form shows them.
#[derive(Debug, Default)]
pub(crate) struct InlineState {
    pub(crate) rows: Vec<InlineRow>,
    pub(crate) more: bool,
}

/// The registered admin of the model a foreign key of `meta` points to.
pub(crate) fn target_of<'s>(
    site: &'s Site,
    meta: &'static ModelMeta,
    field: &FieldMeta,
) -> Option<&'s Arc<dyn ModelOps>> {
    let rel = meta.relation_of_field(field.position)?;
    if !matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne) {
        return None;
    }
    let table = rel.target.meta().table;
    site.models.iter().find(|m| m.meta().table == table)
}

/// The autocomplete endpoint of `target` for this user, when it has one
/// (search fields, and the user may view it).
pub(crate) fn autocomplete_url(
    base: &str,
    session: &Session,
    target: &dyn ModelOps,
) -> Option<String> {
    let meta = target.meta();
    (!target.opts().search_fields.is_empty() && session.perms.can(meta.name, Action::View))
        .then(|| format!("{base}/{}/autocomplete", meta.name.to_lowercase()))
}

/// The many-to-many fields of the model shown on its forms: not
/// excluded, their target registered.
pub(crate) fn many_fields<'s>(
    site: &'s Site,
    ops: &dyn ModelOps,
) -> Vec<(&'static RelationMeta, &'s Arc<dyn ModelOps>)> {
    ops.meta()
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::ManyToMany)
        .filter(|r| !ops.opts().exclude.iter().any(|n| n == r.name))
        .filter_map(|r| {
            let table = r.target.meta().table;
            site.models
                .iter()
                .find(|m| m.meta().table == table)
                .map(|t| (r, t))
        })
        .collect()
}

fn read_only_many(ops: &dyn ModelOps, rel: &RelationMeta) -> bool {
    ops.opts().readonly_fields.iter().any(|n| n == rel.name)
}

/// A blank row's text of a field: its default's (a checked box for
/// `true`), else empty.
pub(crate) fn default_text(f: &FieldMeta) -> String {
    match f.default {
        Some("true") => "true".to_owned(),
        Some(d) if !matches!(f.sql_type, orm_core::types::SqlType::Bool) && !d.contains('(') => {
            d.trim_matches('\'').to_owned()
        }
        _ => String::new(),
    }
}

fn blank_row(columns: &[&'static FieldMeta]) -> InlineRow {
    InlineRow {
        texts: columns.iter().map(|c| (c.name, default_text(c))).collect(),
        ..InlineRow::default()
    }
}

/// What the user may do to an inline's child model.
struct InlinePerms {
    view: bool,
    add: bool,
    change: bool,
    delete: bool,
}

fn inline_perms(session: &Session, inline: &dyn InlineOps, editable: bool) -> InlinePerms {
    let name = inline.meta().name;
    InlinePerms {
        view: session.perms.can(name, Action::View),
        add: editable && session.perms.can(name, Action::Add),
        change: editable && session.perms.can(name, Action::Change),
        delete: editable && session.perms.can(name, Action::Delete),
    }
}

async fn inline_rows(
    ops: &dyn ModelOps,
    inline: &dyn InlineOps,
    row: Option<&Row>,
    perms: &InlinePerms,
) -> Result<InlineState> {
    let mut state = InlineState::default();
    if let Some(row) = row {
        let Ok(parent) = ops.meta().pk_field().sql_type.parse(&row.pk) else {
            return Ok(state);
        };
        let (children, more) = inline.rows(parent).await?;
        state.more = more;
        for child in children {
            state.rows.push(InlineRow {
                texts: inline
                    .columns()
                    .iter()
                    .map(|c| (c.name, form_text(&child.values[c.position])))
                    .collect(),
                pk: Some(child.pk),
                label: child.label,
                delete: false,
            });
        }
    }
    if perms.add {
        for _ in 0..inline.extra() {
            state.rows.push(blank_row(inline.columns()));
        }
    }
    Ok(state)
}

/// The form's many-to-many keys and inline rows as stored (`row`: the
/// object of a change form; `None` on add).
pub(crate) async fn initial(
    site: &Site,
    session: &Session,
    ops: &dyn ModelOps,
    row: Option<&Row>,
    editable: bool,
) -> Result<Related> {
    let mut related = Related::default();
    for (rel, _) in many_fields(site, ops) {
        related
            .many
            .insert(rel.name, linked_texts(ops, row, rel).await?);
    }
    for inline in ops.inlines() {
        let perms = inline_perms(session, inline.as_ref(), editable);
        related.inlines.push(if perms.view || perms.change {
            Some(inline_rows(ops, inline.as_ref(), row, &perms).await?)
        } else {
            None
        });
    }
    Ok(related)
}

/// The keys `row` links to through `rel`, as the form shows them (none
/// for a new object).
async fn linked_texts(
    ops: &dyn ModelOps,
    row: Option<&Row>,
    rel: &'static RelationMeta,
) -> Result<Vec<String>> {
    Ok(match row {
        Some(row) => ops
            .linked(&row.pk, rel)
            .await?
            .iter()
            .map(form_text)
            .collect(),
        None => Vec::new(),
    })
}

/// The form's many-to-many keys and inline rows from a submitted form
/// (`pairs`: every name and value, in order; `form`: the last value of
/// each name), what to save with the object, and the errors (keyed by
/// input name). What the user may not do is left out: an inline row of
/// a model without the `Change` permission is not changed, a field not
/// sent (no hidden marker) keeps its links.
pub(crate) async fn parse<'o>(
    site: &Site,
    session: &Session,
    ops: &'o dyn ModelOps,
    row: Option<&Row>,
    pairs: &[(String, String)],
    form: &HashMap<String, String>,
) -> Result<(Related, Extra<'o>, Vec<(String, String)>)> {
    let mut related = Related::default();
    let mut extra = Extra::default();
    let mut errors = Vec::new();
    for (rel, target) in many_fields(site, ops) {
        let sent: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == rel.name)
            .map(|(_, v)| v.as_str())
            .collect();
        if sent.is_empty() || read_only_many(ops, rel) {
            related
                .many
                .insert(rel.name, linked_texts(ops, row, rel).await?);
            continue;
        }
        let mut texts: Vec<String> = Vec::new();
        for key in sent.iter().flat_map(|v| v.split(',')).map(str::trim) {
            if !key.is_empty() && !texts.iter().any(|t| t == key) && texts.len() < 10_000 {
                texts.push(key.to_owned());
            }
        }
        let pk_type = &target.meta().pk_field().sql_type;
        let mut values = Vec::new();
        let mut bad = Vec::new();
        for t in &texts {
            match pk_type.parse(t) {
                Ok(v) => values.push(v),
                Err(_) => bad.push(t.clone()),
            }
        }
        // Keys of no row: Django's message for a choice not offered.
        let found = target.labels(values.clone()).await?;
        bad.extend(
            values
                .iter()
                .map(form_text)
                .filter(|k| !found.iter().any(|(f, _)| f == k)),
        );
        if let Some(first) = bad.first() {
            errors.push((
                rel.name.to_owned(),
                format!(
                    "Select a valid choice. {} is not one of the available choices.",
                    crate::views::shorten(first)
                ),
            ));
        }
        related.many.insert(rel.name, texts);
        extra.many.push((rel, values));
    }
    for inline in ops.inlines() {
        let perms = inline_perms(session, inline.as_ref(), true);
        if !(perms.view || perms.change) {
            related.inlines.push(None);
            continue;
        }
        let p = inline.prefix();
        let total = form
            .get(&format!("{p}-TOTAL_FORMS"))
            .map(|t| t.trim().parse::<usize>().unwrap_or(0).min(1000));
        let Some(total) = total else {
            // Not sent: the rows stay as they are.
            related
                .inlines
                .push(Some(inline_rows(ops, inline.as_ref(), row, &perms).await?));
            continue;
        };
        let mut state = InlineState::default();
        let mut inputs = Vec::new();
        // Rows the user may not change are shown as stored (their cells
        // send nothing).
        let stored = if perms.change {
            InlineState::default()
        } else {
            inline_rows(ops, inline.as_ref(), row, &perms).await?
        };
        for i in 0..total {
            let field = |name: &str| form.get(&format!("{p}-{i}-{name}"));
            let pk = field("id").filter(|k| !k.is_empty()).cloned();
            let delete = field("DELETE").is_some();
            let as_stored = stored
                .rows
                .iter()
                .find(|r| r.pk.is_some() && r.pk == pk)
                .filter(|_| !perms.change);
            let texts: HashMap<&'static str, String> = match as_stored {
                Some(r) => r.texts.clone(),
                None => inline
                    .columns()
                    .iter()
                    .map(|c| (c.name, field(c.name).cloned().unwrap_or_default()))
                    .collect(),
            };
            let parse_row = |errors: &mut Vec<(String, String)>| {
                let mut values = Vec::new();
                for c in inline.columns() {
                    let raw = field(c.name).map(String::as_str);
                    match fields::parse(c, raw, false) {
                        Ok(v) => values.push((c.position, v)),
                        Err(m) => errors.push((format!("{p}-{i}-{}", c.name), m)),
                    }
                }
                values
            };
            match &pk {
                Some(_) if delete && perms.delete => inputs.push(InlineInput {
                    index: i,
                    pk: pk.clone(),
                    delete: true,
                    values: Vec::new(),
                }),
                Some(_) if perms.change => {
                    let values = parse_row(&mut errors);
                    inputs.push(InlineInput {
                        index: i,
                        pk: pk.clone(),
                        delete: false,
                        values,
                    });
                }
                Some(_) => {}
                None => {
                    // Django's `has_changed`: a blank row left as it was
                    // offered (or not sent) is no new row.
                    let changed = inline
                        .columns()
                        .iter()
                        .any(|c| field(c.name).is_some_and(|sent| *sent != default_text(c)));
                    if perms.add && changed && !delete {
                        let values = parse_row(&mut errors);
                        inputs.push(InlineInput {
                            index: i,
                            pk: None,
                            delete: false,
                            values,
                        });
                    }
                }
            }
            let label = pk.clone().unwrap_or_default();
            state.rows.push(InlineRow {
                pk,
                label,
                texts,
                delete,
            });
        }
        related.inlines.push(Some(state));
        extra.inlines.push((inline.as_ref(), inputs));
    }
    Ok((related, extra, errors))
}

/// Writes the many-to-many fields (inside the form's fieldset).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn render_many(
    out: &mut String,
    site: &Site,
    base: &str,
    session: &Session,
    ops: &dyn ModelOps,
    related: &Related,
    errors: &[(String, String)],
    editable: bool,
) -> Result<()> {
    for (rel, target) in many_fields(site, ops) {
        let selected = related.many.get(rel.name).cloned().unwrap_or_default();
        let mine: Vec<&String> = errors
            .iter()
            .filter(|(n, _)| n == rel.name)
            .map(|(_, m)| m)
            .collect();
        let _ = write!(
            out,
            "<div class=\"row{}\"><label for=\"id_{}\">{}</label><div class=\"field\">",
            if mine.is_empty() { "" } else { " has-error" },
            E(rel.name),
            E(&label(rel.name))
        );
        let pk_type = &target.meta().pk_field().sql_type;
        let values: Vec<Value> = selected
            .iter()
            .filter_map(|k| pk_type.parse(k).ok())
            .collect();
        if !editable || read_only_many(ops, rel) {
            let labels = target.labels(values).await?;
            let shown: Vec<&str> = labels.iter().map(|(_, l)| l.as_str()).collect();
            let _ = write!(
                out,
                "<div class=\"readonly\">{}</div>",
                E(&if shown.is_empty() {
                    "—".to_owned()
                } else {
                    shown.join(", ")
                })
            );
        } else {
            match target.choices(target.opts().fk_select_limit).await? {
                Some(all) => widgets::many(out, rel.name, &selected, &ManyChoices::All(&all)),
                None => {
                    let chosen = target.labels(values).await?;
                    let url = autocomplete_url(base, session, target.as_ref());
                    widgets::many(
                        out,
                        rel.name,
                        &selected,
                        &ManyChoices::Chosen(&chosen, url.as_deref()),
                    );
                }
            }
        }
        if !mine.is_empty() {
            out.push_str("<ul class=\"errorlist\">");
            for m in mine {
                let _ = write!(out, "<li>{}</li>", E(m));
            }
            out.push_str("</ul>");
        }
        out.push_str("</div></div>");
    }
    Ok(())
}

/// Writes the inlines' tables (after the form's fieldset).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn render_inlines(
    out: &mut String,
    site: &Site,
    base: &str,
    session: &Session,
    ops: &dyn ModelOps,
    related: &Related,
    errors: &[(String, String)],
    editable: bool,
) -> Result<()> {
    for (inline, state) in ops.inlines().iter().zip(&related.inlines) {
        let Some(state) = state else { continue };
        let perms = inline_perms(session, inline.as_ref(), editable);
        let meta = inline.meta();
        let mut choices = HashMap::new();
        for c in inline.columns() {
            if meta.relation_of_field(c.position).is_none() {
                continue;
            }
            let choice = match target_of(site, meta, c) {
                Some(target) => match target.choices(target.opts().fk_select_limit).await? {
                    Some(list) => KeyChoices::Select(list),
                    None => {
                        KeyChoices::Input(None, autocomplete_url(base, session, target.as_ref()))
                    }
                },
                None => KeyChoices::Input(None, None),
            };
            choices.insert(c.name, choice);
        }
        widgets::inline_table(
            out,
            &InlineTable {
                title: crate::views::plural(meta.name),
                prefix: inline.prefix(),
                columns: inline.columns(),
                choices: &choices,
                rows: &state.rows,
                more: state.more,
                errors,
                can_change: perms.change,
                can_delete: perms.delete,
            },
        );
    }
    Ok(())
}
