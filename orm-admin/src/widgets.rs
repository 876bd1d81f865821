//! The forms' composite widgets: a many-to-many field's multi-select with
//! a filter box (or, for a big target table, its chosen objects with a
//! search box), and an inline's table of rows.

use std::collections::HashMap;
use std::fmt::Write;

use orm_core::FieldMeta;

use crate::fields::{self, label, KeyChoices};
use crate::html::E;

/// The options of a many-to-many widget.
pub(crate) enum ManyChoices<'a> {
    /// Every object of the (small) target table, as (key, label).
    All(&'a [(String, String)]),
    /// The target table is too big to list: only the chosen ones are
    /// shown, more are added by key or through the autocomplete URL.
    Chosen(&'a [(String, String)], Option<&'a str>),
}

/// Writes the widget of many-to-many field `name` with the keys
/// `selected` chosen. Every variant sends the field's name at least once
/// (an empty hidden input): a form without it leaves the links alone.
pub(crate) fn many(out: &mut String, name: &str, selected: &[String], choices: &ManyChoices<'_>) {
    let id = format!("id_{name}");
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"{}\" value=\"\">",
        E(name)
    );
    match choices {
        ManyChoices::All(options) => {
            // The filter box is the script's (hidden without it).
            let _ = write!(
                out,
                "<div class=\"m2m\"><input type=\"search\" class=\"m2m-filter\" data-for=\"{}\" \
                 placeholder=\"Filter\" aria-label=\"Filter {}\" hidden>\
                 <select multiple name=\"{}\" id=\"{}\" size=\"{}\">",
                E(&id),
                E(&label(name).to_lowercase()),
                E(name),
                E(&id),
                options.len().clamp(3, 10)
            );
            for (key, shown) in *options {
                let _ = write!(
                    out,
                    "<option value=\"{}\"{}>{}</option>",
                    E(key),
                    if selected.contains(key) {
                        " selected"
                    } else {
                        ""
                    },
                    E(shown)
                );
            }
            out.push_str(
                "</select><span class=\"help\">Hold Ctrl (⌘ on a Mac) to select more than one.</span></div>",
            );
        }
        ManyChoices::Chosen(chosen, autocomplete) => {
            let _ = write!(
                out,
                "<div class=\"m2m\"><ul class=\"m2m-chosen\" id=\"{}_chosen\">",
                E(&id)
            );
            for (key, shown) in *chosen {
                let _ = write!(
                    out,
                    "<li><label><input type=\"checkbox\" name=\"{}\" value=\"{}\" checked> {}</label></li>",
                    E(name),
                    E(key),
                    E(shown)
                );
            }
            out.push_str("</ul>");
            let suggest = autocomplete.map_or_else(String::new, |url| {
                format!(
                    " data-autocomplete=\"{}\" data-many=\"{}\"",
                    E(url),
                    E(name)
                )
            });
            // The field's label points here: the box to add more.
            let _ = write!(
                out,
                "<input type=\"text\" name=\"{}\" id=\"{}\" class=\"key m2m-add\" \
                 placeholder=\"Add by key (comma-separated)\"{suggest}></div>",
                E(name),
                E(&id)
            );
        }
    }
}

/// One row of an inline as the form shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct InlineRow {
    /// The existing child's key; `None` for a blank row.
    pub(crate) pk: Option<String>,
    /// The existing child's label.
    pub(crate) label: String,
    /// Each column's text.
    pub(crate) texts: HashMap<&'static str, String>,
    /// The delete box was checked.
    pub(crate) delete: bool,
}

/// What an inline's table needs to be written.
pub(crate) struct InlineTable<'a> {
    pub(crate) title: String,
    pub(crate) prefix: &'a str,
    pub(crate) columns: &'a [&'static FieldMeta],
    /// The choices of each foreign key column, by name.
    pub(crate) choices: &'a HashMap<&'static str, KeyChoices>,
    pub(crate) rows: &'a [InlineRow],
    /// More existing rows than shown.
    pub(crate) more: bool,
    /// The form's errors (the inline's are named `<prefix>-<i>-<field>`).
    pub(crate) errors: &'a [(String, String)],
    /// The user may change existing rows / delete them.
    pub(crate) can_change: bool,
    pub(crate) can_delete: bool,
}

fn error_list(out: &mut String, errors: &[(String, String)], name: &str) {
    let mine: Vec<&String> = errors
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, m)| m)
        .collect();
    if mine.is_empty() {
        return;
    }
    out.push_str("<ul class=\"errorlist\">");
    for m in mine {
        let _ = write!(out, "<li>{}</li>", E(m));
    }
    out.push_str("</ul>");
}

/// Writes an inline's table, Django's formset fields: `<prefix>-TOTAL_FORMS`,
/// and per row `<prefix>-<i>-id`, `<prefix>-<i>-<field>`, `<prefix>-<i>-DELETE`.
pub(crate) fn inline_table(out: &mut String, t: &InlineTable<'_>) {
    let p = E(t.prefix);
    let _ = write!(
        out,
        "<fieldset class=\"inline\" id=\"{p}-group\"><h2>{}</h2>\
         <input type=\"hidden\" name=\"{p}-TOTAL_FORMS\" value=\"{}\">",
        E(&t.title),
        t.rows.len()
    );
    let row_errors = format!("{}-__all__", t.prefix);
    error_list(out, t.errors, &row_errors);
    out.push_str("<div class=\"table-wrap\"><table class=\"inline-table\"><thead><tr>");
    for c in t.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", E(&label(c.name)));
    }
    if t.can_delete {
        out.push_str("<th scope=\"col\">Delete?</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in t.rows.iter().enumerate() {
        let errors_here = t
            .errors
            .iter()
            .any(|(n, _)| n.starts_with(&format!("{}-{i}-", t.prefix)));
        let _ = write!(
            out,
            "<tr class=\"{}{}\">",
            if row.pk.is_some() {
                "existing"
            } else {
                "blank"
            },
            if errors_here { " has-error" } else { "" }
        );
        let read_only = row.pk.is_some() && !t.can_change;
        for (n, c) in t.columns.iter().enumerate() {
            out.push_str("<td>");
            if n == 0 {
                if let Some(pk) = &row.pk {
                    let _ = write!(
                        out,
                        "<input type=\"hidden\" name=\"{p}-{i}-id\" value=\"{}\">",
                        E(pk)
                    );
                }
                error_list(out, t.errors, &format!("{}-{i}-__all__", t.prefix));
            }
            let name = format!("{}-{i}-{}", t.prefix, c.name);
            let text = row.texts.get(c.name).map_or("", String::as_str);
            if read_only {
                let _ = write!(out, "<span class=\"readonly\">{}</span>", E(text));
            } else {
                fields::widget_as(out, c, &name, text, t.choices.get(c.name));
            }
            error_list(out, t.errors, &name);
            out.push_str("</td>");
        }
        if t.can_delete {
            out.push_str("<td class=\"delete\">");
            if row.pk.is_some() {
                let _ = write!(
                    out,
                    "<input type=\"checkbox\" name=\"{p}-{i}-DELETE\" id=\"id_{p}-{i}-DELETE\" \
                     aria-label=\"Delete {}\"{}>",
                    E(&row.label),
                    if row.delete { " checked" } else { "" }
                );
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if t.more {
        out.push_str("<p class=\"help\">More rows exist than are shown here.</p>");
    }
    out.push_str("</fieldset>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_to_many_widgets() {
        let options = [
            ("1".to_owned(), "rust".to_owned()),
            ("2".to_owned(), "<b>".to_owned()),
        ];
        let mut out = String::new();
        many(
            &mut out,
            "tags",
            &["2".to_owned()],
            &ManyChoices::All(&options),
        );
        assert_eq!(
            out,
            "<input type=\"hidden\" name=\"tags\" value=\"\">\
             <div class=\"m2m\"><input type=\"search\" class=\"m2m-filter\" data-for=\"id_tags\" \
             placeholder=\"Filter\" aria-label=\"Filter tags\" hidden>\
             <select multiple name=\"tags\" id=\"id_tags\" size=\"3\">\
             <option value=\"1\">rust</option><option value=\"2\" selected>&lt;b&gt;</option></select>\
             <span class=\"help\">Hold Ctrl (⌘ on a Mac) to select more than one.</span></div>"
        );
        // A big target: the chosen ones as checked boxes, a key box with
        // the autocomplete URL; never the whole table.
        let mut out = String::new();
        many(
            &mut out,
            "tags",
            &["2".to_owned()],
            &ManyChoices::Chosen(&options[1..], Some("/admin/tag/autocomplete")),
        );
        assert_eq!(
            out,
            "<input type=\"hidden\" name=\"tags\" value=\"\">\
             <div class=\"m2m\"><ul class=\"m2m-chosen\" id=\"id_tags_chosen\">\
             <li><label><input type=\"checkbox\" name=\"tags\" value=\"2\" checked> &lt;b&gt;</label></li></ul>\
             <input type=\"text\" name=\"tags\" id=\"id_tags\" class=\"key m2m-add\" \
             placeholder=\"Add by key (comma-separated)\" \
             data-autocomplete=\"/admin/tag/autocomplete\" data-many=\"tags\"></div>"
        );
    }
}
