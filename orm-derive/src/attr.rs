//! `#[orm(..)]` attributes, parsed with `parse_nested_meta`; every key keeps
//! its span for error messages.

use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, UnOp};

use crate::ctxt::Ctxt;

pub(crate) const MODEL_KEYS: &str = "table, unique_together, index, hooks, renamed_from, crate";
pub(crate) const FIELD_KEYS: &str = "primary_key, column, max_length, unique, index, default, \
     auto_now, auto_now_add, related_name, on_delete, through, validate, renamed_from";

/// `on_delete` values and the `OnDelete` variant each names.
pub(crate) const ON_DELETE: &[(&str, &str)] = &[
    ("cascade", "Cascade"),
    ("set_null", "SetNull"),
    ("restrict", "Restrict"),
    ("protect", "Protect"),
    ("set_default", "SetDefault"),
    ("do_nothing", "DoNothing"),
];

/// Struct-level attributes of a model.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub table: Option<LitStr>,
    pub unique_together: Vec<Vec<Ident>>,
    pub indexes: Vec<Vec<Ident>>,
    pub krate: Option<Path>,
    /// `#[orm(hooks)]`: the model implements `orm_core::Hooks`.
    pub hooks: bool,
    /// `#[orm(renamed_from = "old_table")]`, for migrations.
    pub renamed_from: Option<LitStr>,
}

/// Field-level attributes.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub primary_key: Option<Ident>,
    pub column: Option<LitStr>,
    pub max_length: Option<(u32, proc_macro2::Span)>,
    pub unique: bool,
    pub index: bool,
    /// The SQL literal and the Rust expression it came from.
    pub default: Option<(String, Expr)>,
    pub auto_now: Option<Ident>,
    pub auto_now_add: Option<Ident>,
    pub related_name: Option<LitStr>,
    /// The `OnDelete` variant, and the literal it came from.
    pub on_delete: Option<(&'static str, LitStr)>,
    pub through: Option<LitStr>,
    /// `validate = path::to_fn`: `fn(&T) -> Result<(), String>`, repeatable.
    pub validate: Vec<Path>,
    /// `renamed_from = "old_column"`, for migrations.
    pub renamed_from: Option<LitStr>,
}

fn orm_attrs(attrs: &[syn::Attribute]) -> impl Iterator<Item = &syn::Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("orm"))
}

fn key(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        })
}

/// `(a, b, c)`: field names of a composite constraint.
fn ident_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Ident>> {
    let mut idents = Vec::new();
    meta.parse_nested_meta(|inner| {
        match inner.path.get_ident() {
            Some(ident) => idents.push(ident.clone()),
            None => return Err(inner.error("expected a field name")),
        }
        Ok(())
    })?;
    Ok(idents)
}

pub(crate) fn model_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> ModelAttrs {
    let mut out = ModelAttrs::default();
    for attr in orm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            match key(&meta).as_str() {
                "table" => {
                    if out.table.is_some() {
                        return Err(meta.error("duplicate attribute `table`"));
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "a table name cannot be empty"));
                    }
                    out.table = Some(lit);
                }
                "crate" => {
                    let s: LitStr = meta.value()?.parse()?;
                    out.krate = Some(s.parse()?);
                }
                "hooks" => out.hooks = true,
                "renamed_from" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "`renamed_from` cannot be empty"));
                    }
                    out.renamed_from = Some(lit);
                }
                "unique_together" => out.unique_together.push(ident_list(&meta)?),
                "index" => out.indexes.push(ident_list(&meta)?),
                other => {
                    return Err(meta.error(format!(
                        "unknown model attribute `{other}`; expected one of: {MODEL_KEYS}\n\
                         help: the correct format looks like `#[orm(table = \"users\")]` or `#[orm(unique_together(a, b))]`"
                    )))
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.push(err);
        }
    }
    out
}

/// Renders a `default = ..` literal as SQL.
fn default_literal(expr: &Expr) -> Result<String, &'static str> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Int(i) => i
                .base10_parse::<i128>()
                .map(|v| v.to_string())
                .map_err(|_| "integer out of range"),
            Lit::Float(f) => f
                .base10_parse::<f64>()
                .map(|v| format!("{v:?}"))
                .map_err(|_| "invalid float"),
            Lit::Bool(b) => Ok(if b.value { "TRUE" } else { "FALSE" }.to_owned()),
            Lit::Str(s) => {
                let v = s.value();
                if v.contains('\0') {
                    return Err("a default string cannot contain NUL");
                }
                Ok(format!("'{}'", v.replace('\'', "''")))
            }
            _ => Err("expected a number, string or bool literal"),
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(_) | Lit::Float(_),
                ..
            }) => default_literal(expr).map(|v| format!("-{v}")),
            _ => Err("expected a number, string or bool literal"),
        },
        _ => Err("expected a number, string or bool literal"),
    }
}

/// `; did you mean `primary_key`?` when `got` is a prefix of, or one or two
/// edits away from, one of the comma-separated `keys`.
pub(crate) fn did_you_mean(got: &str, keys: &str) -> String {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    keys.split(", ")
        .filter(|k| k.starts_with(got) || distance(got, k) <= 2)
        .min_by_key(|k| distance(got, k))
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

pub(crate) fn field_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    let mut seen = std::collections::HashSet::new();
    for attr in orm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let k = key(&meta);
            if ["primary_key", "unique", "index", "auto_now", "auto_now_add"].contains(&k.as_str())
                && meta.input.peek(syn::Token![=])
            {
                return Err(meta.error(format!(
                    "`{k}` is a flag and takes no value: write `#[orm({k})]`, not `{k} = ..`"
                )));
            }
            if k != "validate" && !seen.insert(k.clone()) {
                return Err(meta.error(format!("duplicate attribute `{k}`")));
            }
            let flag = |meta: &ParseNestedMeta<'_>| meta.path.get_ident().cloned();
            match k.as_str() {
                "primary_key" => out.primary_key = flag(&meta),
                "unique" => out.unique = true,
                "index" => out.index = true,
                "auto_now" => out.auto_now = flag(&meta),
                "auto_now_add" => out.auto_now_add = flag(&meta),
                "column" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "a column name cannot be empty"));
                    }
                    out.column = Some(lit);
                }
                "related_name" | "through" | "renamed_from" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), format!("`{k}` cannot be empty")));
                    }
                    match k.as_str() {
                        "through" => out.through = Some(lit),
                        "related_name" => out.related_name = Some(lit),
                        _ => out.renamed_from = Some(lit),
                    }
                }
                "validate" => {
                    let path: Path = meta.value()?.parse()?;
                    out.validate.push(path);
                }
                "on_delete" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    let value = lit.value();
                    let Some((_, variant)) = ON_DELETE.iter().find(|(k, _)| *k == value) else {
                        let names: Vec<&str> = ON_DELETE.iter().map(|(k, _)| *k).collect();
                        return Err(syn::Error::new(
                            lit.span(),
                            format!("unknown on_delete `{value}`; expected one of: {}", names.join(", ")),
                        ));
                    };
                    out.on_delete = Some((variant, lit));
                }
                "max_length" => {
                    let lit: syn::LitInt = meta.value()?.parse()?;
                    let n: u32 = lit.base10_parse()?;
                    if n == 0 {
                        return Err(syn::Error::new(lit.span(), "max_length must be at least 1"));
                    }
                    out.max_length = Some((n, meta.path.span()));
                }
                "default" => {
                    let expr: Expr = meta.value()?.parse()?;
                    let sql = default_literal(&expr).map_err(|why| {
                        syn::Error::new_spanned(
                            &expr,
                            format!("invalid default: {why}\nhelp: the correct format looks like `#[orm(default = 0)]`"),
                        )
                    })?;
                    out.default = Some((sql, expr));
                }
                other => {
                    let hint = did_you_mean(other, FIELD_KEYS);
                    return Err(meta.error(format!(
                        "unknown field attribute `{other}`{hint}; expected one of: {FIELD_KEYS}\n\
                         help: the correct format looks like `#[orm(max_length = 30, unique)]`"
                    )))
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.push(err);
        }
    }
    out
}

/// `#[orm(rename = "..")]` on an enum variant.
pub(crate) fn variant_rename(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> Option<LitStr> {
    let mut out = None;
    for attr in orm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                out = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown variant attribute `{}`; expected: rename\n\
                     help: the correct format looks like `#[orm(rename = \"admin\")]`",
                    key(&meta)
                )))
            }
        });
        if let Err(err) = result {
            cx.push(err);
        }
    }
    out
}
