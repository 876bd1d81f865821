//! Fields as the admin shows and reads them: the text of a value in a
//! list and in a form, the widget of each field type, and the parsing of
//! a submitted form back into typed values.

use std::fmt::Write;

use chrono::{NaiveDateTime, NaiveTime, Utc};
use orm_core::types::SqlType;
use orm_core::{FieldMeta, Value};

use crate::html::E;

/// How long a text may be in a change list cell before it is cut.
const CELL_CHARS: usize = 100;

/// A value as a form's input holds it (`""` for NULL).
pub(crate) fn form_text(value: &Value) -> String {
    match value {
        Value::Bool(Some(b)) => if *b { "true" } else { "false" }.to_owned(),
        Value::I16(Some(v)) => v.to_string(),
        Value::I32(Some(v)) => v.to_string(),
        Value::I64(Some(v)) => v.to_string(),
        Value::F32(Some(v)) => v.to_string(),
        Value::F64(Some(v)) => v.to_string(),
        Value::Text(Some(v)) => v.clone(),
        Value::Bytes(Some(v)) => format!("{} bytes", v.len()),
        Value::Date(Some(v)) => v.format("%Y-%m-%d").to_string(),
        Value::Time(Some(v)) => v.format("%H:%M:%S").to_string(),
        Value::Timestamp(Some(v)) => v.format("%Y-%m-%dT%H:%M:%S").to_string(),
        Value::TimestampTz(Some(v)) => v.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string(),
        Value::Uuid(Some(v)) => v.hyphenated().to_string(),
        Value::Json(Some(v)) => serde_json::to_string_pretty(v).unwrap_or_default(),
        Value::Array(items) => items.iter().map(form_text).collect::<Vec<_>>().join(","),
        _ => String::new(),
    }
}

/// A value as a change list cell shows it (Django's `display_for_field`):
/// `—` for NULL, `Yes`/`No`, times in UTC, long text cut.
pub(crate) fn display_text(value: &Value) -> String {
    if value.is_null() {
        return "—".to_owned();
    }
    let text = match value {
        Value::Bool(Some(b)) => return if *b { "Yes" } else { "No" }.to_owned(),
        Value::TimestampTz(Some(v)) => return v.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Value::Timestamp(Some(v)) => return v.format("%Y-%m-%d %H:%M:%S").to_string(),
        Value::Json(Some(v)) => v.to_string(),
        other => form_text(other),
    };
    match text.char_indices().nth(CELL_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// A field name as a label: `published_on` → `Published on` (Django's
/// `verbose_name` default).
pub(crate) fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// True for a text field shown as a one-line input (`max_length` up to
/// 255, as Django's `CharField`); longer or unbounded text is a textarea.
fn one_line(field: &FieldMeta) -> bool {
    field.max_length.is_some_and(|n| n <= 255)
}

/// What the admin can edit of a field's type: `false` for bytes and for
/// types it does not know (shown read-only).
pub(crate) fn editable_type(sql_type: &SqlType) -> bool {
    match sql_type {
        SqlType::Bytea => false,
        SqlType::Array(element) => {
            !matches!(element, SqlType::Bytea | SqlType::Jsonb | SqlType::Array(_))
        }
        SqlType::Bool
        | SqlType::SmallInt
        | SqlType::Integer
        | SqlType::BigInt
        | SqlType::Real
        | SqlType::Double
        | SqlType::Text
        | SqlType::Date
        | SqlType::Time
        | SqlType::Timestamp
        | SqlType::TimestampTz
        | SqlType::Uuid
        | SqlType::Jsonb
        | SqlType::Enum(_) => true,
        _ => false,
    }
}

/// The choices a foreign key's widget offers, or the related object's
/// label when the target table is too big for a select.
#[derive(Debug, Clone)]
pub(crate) enum KeyChoices {
    /// A select of these (key, label) pairs.
    Select(Vec<(String, String)>),
    /// A plain key input, with the current object's label if known, and
    /// the URL of the target's autocomplete endpoint when it has one (the
    /// script turns the input into a search box with suggestions).
    Input(Option<String>, Option<String>),
}

/// Writes the widget of `field` holding `text`; `choices` for a foreign key.
pub(crate) fn widget(
    out: &mut String,
    field: &FieldMeta,
    text: &str,
    choices: Option<&KeyChoices>,
) {
    widget_as(out, field, field.name, text, choices);
}

/// As [`widget`], with the input named `name` (an inline row's
/// `<prefix>-<i>-<field>`) and its id `id_<name>`.
pub(crate) fn widget_as(
    out: &mut String,
    field: &FieldMeta,
    name: &str,
    text: &str,
    choices: Option<&KeyChoices>,
) {
    let id = format!("id_{name}");
    let name = E(name);
    let id = E(&id);
    let required = if field.nullable { "" } else { " required" };
    match (choices, &field.sql_type) {
        (Some(KeyChoices::Select(options)), _) => {
            let _ = write!(out, "<select name=\"{name}\" id=\"{id}\"{required}>");
            let _ = write!(
                out,
                "<option value=\"\"{}>---------</option>",
                if text.is_empty() { " selected" } else { "" }
            );
            for (key, label) in options {
                let _ = write!(
                    out,
                    "<option value=\"{}\"{}>{}</option>",
                    E(key),
                    if key == text { " selected" } else { "" },
                    E(label)
                );
            }
            out.push_str("</select>");
        }
        (Some(KeyChoices::Input(current, autocomplete)), _) => {
            let suggest = match autocomplete {
                Some(url) => format!(
                    " data-autocomplete=\"{}\" data-label=\"{}\"",
                    E(url),
                    E(current.as_deref().unwrap_or(""))
                ),
                None => String::new(),
            };
            let _ = write!(
                out,
                "<input type=\"text\" name=\"{name}\" id=\"{id}\" value=\"{}\" inputmode=\"numeric\" class=\"key\"{suggest}{required}>",
                E(text)
            );
            if let Some(current) = current {
                let _ = write!(out, " <strong class=\"key-label\">{}</strong>", E(current));
            }
        }
        (None, SqlType::Bool) if !field.nullable => {
            let _ = write!(
                out,
                "<input type=\"checkbox\" name=\"{name}\" id=\"{id}\" value=\"true\"{}>",
                if text == "true" { " checked" } else { "" }
            );
        }
        (None, SqlType::Bool) => {
            let _ = write!(out, "<select name=\"{name}\" id=\"{id}\">");
            for (value, shown) in [("", "Unknown"), ("true", "Yes"), ("false", "No")] {
                let _ = write!(
                    out,
                    "<option value=\"{value}\"{}>{shown}</option>",
                    if value == text { " selected" } else { "" }
                );
            }
            out.push_str("</select>");
        }
        (None, SqlType::Enum(names)) => {
            let _ = write!(out, "<select name=\"{name}\" id=\"{id}\"{required}>");
            if field.nullable || !names.contains(&text) {
                out.push_str("<option value=\"\">---------</option>");
            }
            for choice in *names {
                let _ = write!(
                    out,
                    "<option value=\"{}\"{}>{}</option>",
                    E(choice),
                    if *choice == text { " selected" } else { "" },
                    E(&label(choice))
                );
            }
            out.push_str("</select>");
        }
        (None, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt) => {
            let _ = write!(
                out,
                "<input type=\"number\" step=\"1\" name=\"{name}\" id=\"{id}\" value=\"{}\"{required}>",
                E(text)
            );
        }
        (None, SqlType::Real | SqlType::Double) => {
            let _ = write!(
                out,
                "<input type=\"number\" step=\"any\" name=\"{name}\" id=\"{id}\" value=\"{}\"{required}>",
                E(text)
            );
        }
        (None, SqlType::Date) => {
            let _ = write!(
                out,
                "<input type=\"date\" name=\"{name}\" id=\"{id}\" value=\"{}\"{required}>",
                E(text)
            );
        }
        (None, SqlType::Time) => {
            let _ = write!(
                out,
                "<input type=\"time\" step=\"1\" name=\"{name}\" id=\"{id}\" value=\"{}\"{required}>",
                E(text)
            );
        }
        (None, SqlType::Timestamp | SqlType::TimestampTz) => {
            let _ = write!(
                out,
                "<input type=\"datetime-local\" step=\"1\" name=\"{name}\" id=\"{id}\" value=\"{}\"{required}>",
                E(text)
            );
            if field.sql_type == SqlType::TimestampTz {
                out.push_str(" <span class=\"help\">UTC</span>");
            }
        }
        (None, SqlType::Jsonb) => {
            let _ = write!(
                out,
                "<textarea name=\"{name}\" id=\"{id}\" rows=\"6\" class=\"code\" spellcheck=\"false\">{}</textarea>",
                E(text)
            );
        }
        (None, SqlType::Uuid) => {
            let _ = write!(
                out,
                "<input type=\"text\" name=\"{name}\" id=\"{id}\" value=\"{}\" class=\"code\" \
                 pattern=\"[0-9a-fA-F]{{8}}-?[0-9a-fA-F]{{4}}-?[0-9a-fA-F]{{4}}-?[0-9a-fA-F]{{4}}-?[0-9a-fA-F]{{12}}\"{required}>",
                E(text)
            );
        }
        (None, SqlType::Text) if !one_line(field) => {
            let _ = write!(
                out,
                "<textarea name=\"{name}\" id=\"{id}\" rows=\"8\">{}</textarea>",
                E(text)
            );
        }
        (None, _) => {
            let max = field
                .max_length
                .map(|n| format!(" maxlength=\"{n}\""))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<input type=\"text\" name=\"{name}\" id=\"{id}\" value=\"{}\"{max}>",
                E(text)
            );
            if matches!(field.sql_type, SqlType::Array(_)) {
                out.push_str(" <span class=\"help\">comma-separated</span>");
            }
        }
    }
}

/// The value of `field` from a form's text (`None` when the form did not
/// send it: an unchecked checkbox), or the message to show next to it.
/// `blank`: an empty text is kept as `""` instead of being required.
pub(crate) fn parse(field: &FieldMeta, raw: Option<&str>, blank: bool) -> Result<Value, String> {
    const REQUIRED: &str = "This field is required.";
    if field.sql_type == SqlType::Bool && !field.nullable {
        // An unchecked checkbox sends nothing.
        return Ok(Value::Bool(Some(matches!(raw, Some("true" | "on")))));
    }
    let raw = raw.unwrap_or("");
    if raw.contains('\0') {
        // Django's ProhibitNullCharactersValidator.
        return Err("Null characters are not allowed.".to_owned());
    }
    let empty = if field.sql_type == SqlType::Text {
        raw.is_empty()
    } else {
        raw.trim().is_empty()
    };
    if empty {
        return if field.nullable {
            Ok(field.sql_type.null())
        } else if blank && field.sql_type == SqlType::Text {
            Ok(Value::Text(Some(String::new())))
        } else {
            Err(REQUIRED.to_owned())
        };
    }
    let value = match field.sql_type {
        SqlType::Timestamp => Value::Timestamp(Some(datetime(raw)?)),
        SqlType::TimestampTz => Value::TimestampTz(Some(
            chrono::DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| datetime(raw).map(|t| t.and_utc()))?,
        )),
        SqlType::Time => Value::Time(Some(
            NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S%.f")
                .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M"))
                .map_err(|_| "Enter a valid time.".to_owned())?,
        )),
        SqlType::Date => Value::Date(Some(
            raw.trim()
                .parse()
                .map_err(|_| "Enter a valid date.".to_owned())?,
        )),
        SqlType::Jsonb => Value::Json(Some(
            serde_json::from_str(raw).map_err(|e| format!("Enter a valid JSON: {e}."))?,
        )),
        SqlType::Uuid => Value::Uuid(Some(
            raw.trim()
                .parse()
                .map_err(|_| "Enter a valid UUID.".to_owned())?,
        )),
        SqlType::Enum(names) => {
            if !names.contains(&raw) {
                return Err(format!(
                    "Select a valid choice. {} is not one of the available choices.",
                    crate::views::shorten(raw)
                ));
            }
            Value::Text(Some(raw.to_owned()))
        }
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => field
            .sql_type
            .parse(raw)
            .map_err(|_| "Enter a whole number.".to_owned())?,
        SqlType::Real | SqlType::Double => field
            .sql_type
            .parse(raw)
            .map_err(|_| "Enter a number.".to_owned())?,
        _ => field
            .sql_type
            .parse(raw)
            .map_err(|e| crate::views::shorten(&e))?,
    };
    Ok(value)
}

/// `YYYY-MM-DDTHH:MM[:SS[.f]]` (or a space for the `T`), as an HTML
/// `datetime-local` input sends it.
fn datetime(raw: &str) -> Result<NaiveDateTime, String> {
    let raw = raw.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .ok_or_else(|| "Enter a valid date/time.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(sql_type: SqlType, nullable: bool) -> FieldMeta {
        FieldMeta {
            name: "f",
            column: "f",
            position: 0,
            sql_type,
            nullable,
            primary_key: false,
            auto: false,
            unique: false,
            index: false,
            max_length: None,
            default: None,
            auto_now: false,
            auto_now_add: false,
            renamed_from: None,
            max_digits: None,
            decimal_places: None,
        }
    }

    #[test]
    fn parses_form_text_per_type() {
        let ts = field(SqlType::Timestamp, false);
        assert_eq!(
            form_text(&parse(&ts, Some("2024-05-06T07:08"), false).unwrap()),
            "2024-05-06T07:08:00"
        );
        let tz = field(SqlType::TimestampTz, false);
        assert_eq!(
            form_text(&parse(&tz, Some("2024-05-06T07:08:09"), false).unwrap()),
            "2024-05-06T07:08:09"
        );
        let b = field(SqlType::Bool, false);
        assert_eq!(parse(&b, None, false), Ok(Value::Bool(Some(false))));
        assert_eq!(parse(&b, Some("true"), false), Ok(Value::Bool(Some(true))));
        let n = field(SqlType::BigInt, true);
        assert_eq!(parse(&n, Some(" "), false), Ok(Value::I64(None)));
        assert_eq!(
            parse(&field(SqlType::BigInt, false), Some(""), false),
            Err("This field is required.".to_owned())
        );
        assert_eq!(
            parse(&field(SqlType::Integer, false), Some("x"), false),
            Err("Enter a whole number.".to_owned())
        );
        let t = field(SqlType::Text, false);
        assert_eq!(
            parse(&t, Some(""), true),
            Ok(Value::Text(Some(String::new())))
        );
        assert!(parse(&t, Some("a\0b"), false).is_err());
        let j = field(SqlType::Jsonb, false);
        assert!(parse(&j, Some("{\"a\": 1"), false)
            .unwrap_err()
            .starts_with("Enter a valid JSON"));
        let e = field(SqlType::Enum(&["draft", "published"]), false);
        assert!(parse(&e, Some("gone"), false).is_err());
        assert_eq!(
            parse(&e, Some("draft"), false),
            Ok(Value::Text(Some("draft".into())))
        );
    }

    #[test]
    fn widgets_escape_values() {
        let mut out = String::new();
        widget(&mut out, &field(SqlType::Text, false), "\"><script>", None);
        assert!(out.contains("&quot;&gt;&lt;script&gt;"), "{out}");
        assert!(!out.contains("<script>"));
    }

    #[test]
    fn labels_and_cells() {
        assert_eq!(label("published_on"), "Published on");
        assert_eq!(display_text(&Value::Text(None)), "—");
        assert_eq!(display_text(&Value::Bool(Some(true))), "Yes");
        assert_eq!(
            display_text(&Value::Text(Some("x".repeat(150))))
                .chars()
                .count(),
            101
        );
    }
}
