//! `#[orm(..)]` attributes, parsed with `parse_nested_meta`; every key keeps
//! its span for error messages.

use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, Token, UnOp};

use crate::ctxt::Ctxt;

pub(crate) const MODEL_KEYS: &str =
    "table, unique_together, index, hooks, renamed_from, crate, soft_delete";
pub(crate) const FIELD_KEYS: &str = "primary_key, column, max_length, unique, index, default, \
     auto_now, auto_now_add, related_name, on_delete, through, validate, renamed_from, \
     max_digits, decimal_places, citext, tenant, rls";

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
    /// The options of each of `indexes` (same order).
    pub index_options: Vec<IndexOptions>,
    pub krate: Option<Path>,
    /// `#[orm(hooks)]`: the model implements `orm_core::Hooks`.
    pub hooks: bool,
    /// `#[orm(renamed_from = "old_table")]`, for migrations.
    pub renamed_from: Option<LitStr>,
    /// `#[orm(soft_delete)]` (its span) or `#[orm(soft_delete = "removed_at")]`
    /// (the field's name): the nullable timestamp that marks a row deleted.
    pub soft_delete: Option<(proc_macro2::Span, Option<LitStr>)>,
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
    /// `max_digits = p` of a `Decimal` field: `numeric(p, s)`.
    pub max_digits: Option<(u32, proc_macro2::Span)>,
    /// `decimal_places = s` of a `Decimal` field: `numeric(p, s)`.
    pub decimal_places: Option<(u32, proc_macro2::Span)>,
    /// `citext`: the text column is `citext`.
    pub citext: Option<Ident>,
    /// `tenant`: the model's tenant field (`orm_core::tenant`).
    pub tenant: Option<Ident>,
    /// `rls`, beside `tenant`: PostgreSQL row-level security keyed on it.
    pub rls: Option<Ident>,
}

fn orm_attrs(attrs: &[syn::Attribute]) -> impl Iterator<Item = &syn::Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("orm"))
}

/// Calls `parse` on every key of every `#[orm(..)]` attribute. A key's
/// error is recorded in `cx` and the rest of that key skipped, so that
/// every mistaken key is reported, not only the first of each attribute.
fn each_key(
    cx: &mut Ctxt,
    attrs: &[syn::Attribute],
    mut parse: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in orm_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let result = parse(&meta);
            end_key(meta.input, result, |err| cx.push(err))
        });
        // Left: the attribute's own shape (`#[orm]`, `#[orm = ..]`) and
        // a key that is not a path.
        if let Err(err) = result {
            cx.push(err);
        }
    }
}

/// Ends one key of a list: a key followed by anything but `,` is an error
/// too; after an error the rest of the key is skipped, so that the list's
/// next key is still read.
fn end_key(
    input: ParseStream<'_>,
    result: syn::Result<()>,
    mut record: impl FnMut(syn::Error),
) -> syn::Result<()> {
    let result = result.and_then(|()| {
        if input.is_empty() || input.peek(Token![,]) {
            Ok(())
        } else {
            Err(input.error("expected `,`"))
        }
    });
    if let Err(err) = result {
        record(err);
        while !input.is_empty() && !input.peek(Token![,]) {
            input.parse::<proc_macro2::TokenTree>()?;
        }
    }
    Ok(())
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

/// `(a, b, c)`: field names of a composite constraint. Every name that is
/// not one is reported.
fn ident_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Ident>> {
    let mut idents = Vec::new();
    let mut errors: Option<syn::Error> = None;
    meta.parse_nested_meta(|inner| {
        let result = match inner.path.get_ident() {
            Some(ident) if inner.input.is_empty() || inner.input.peek(Token![,]) => {
                idents.push(ident.clone());
                Ok(())
            }
            _ => Err(inner.error("expected a field name")),
        };
        end_key(inner.input, result, |err| match &mut errors {
            Some(all) => all.combine(err),
            None => errors = Some(err),
        })
    })?;
    match errors {
        Some(err) => Err(err),
        None => Ok(idents),
    }
}

/// The index methods `using` takes (Django's `BTreeIndex`, `HashIndex`,
/// `GistIndex`, `GinIndex`, `BrinIndex`).
pub(crate) const INDEX_METHODS: &str = "btree, hash, gist, gin, brin";
const INDEX_KEYS: &str = "field names, search_vector(..), using, opclasses, config";

/// Options of a model-level `#[orm(index(..))]` beyond its fields.
#[derive(Default)]
pub(crate) struct IndexOptions {
    /// `using = "gin"`.
    pub using: Option<LitStr>,
    /// `opclasses = ["jsonb_path_ops"]`: one per field.
    pub opclasses: Vec<LitStr>,
    /// `config = "english"` of a `search_vector(..)` index.
    pub config: Option<LitStr>,
    /// The fields were given as `search_vector(a, b)`: an index on
    /// `to_tsvector(config, COALESCE(a, '') || ' ' || COALESCE(b, ''))`.
    pub search: bool,
}

impl IndexOptions {
    /// A plain B-tree index over the fields.
    pub(crate) fn is_plain(&self) -> bool {
        self.using.is_none() && self.opclasses.is_empty() && !self.search
    }
}

/// `index(a, b, using = "gin", opclasses = ["x", "y"])` or
/// `index(search_vector(a, b), config = "english", using = "gin")`.
fn index_list(meta: &ParseNestedMeta<'_>) -> syn::Result<(Vec<Ident>, IndexOptions)> {
    let mut idents = Vec::new();
    let mut opts = IndexOptions::default();
    let mut errors: Option<syn::Error> = None;
    let mut config_given = false;
    let span = meta.path.span();
    meta.parse_nested_meta(|inner| {
        let key = inner.path.get_ident().map(ToString::to_string);
        let result = match key.as_deref() {
            Some("search_vector") if inner.input.peek(syn::token::Paren) => {
                opts.search = true;
                ident_list(&inner).map(|fields| idents.extend(fields))
            }
            Some("using") => (|| {
                let lit: LitStr = inner.value()?.parse()?;
                if !INDEX_METHODS.split(", ").any(|m| m == lit.value()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "unknown index method `{}`; expected one of: {INDEX_METHODS}",
                            lit.value()
                        ),
                    ));
                }
                opts.using = Some(lit);
                Ok(())
            })(),
            Some("config") => (|| {
                config_given = true;
                let lit: LitStr = inner.value()?.parse()?;
                if !orm_names::is_plain_name(&lit.value()) {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a text search configuration is a name like `english` \
                         ([a-z_][a-z0-9_]*, optionally after `schema.`)",
                    ));
                }
                opts.config = Some(lit);
                Ok(())
            })(),
            Some("opclasses") => (|| {
                let list: syn::ExprArray = inner.value()?.parse()?;
                for item in &list.elems {
                    match item {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) if orm_names::is_plain_name(&s.value()) => opts.opclasses.push(s.clone()),
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "an operator class is a string naming one, like \
                                 \"jsonb_path_ops\" ([a-z_][a-z0-9_]*)",
                            ))
                        }
                    }
                }
                Ok(())
            })(),
            Some(_) if inner.input.is_empty() || inner.input.peek(Token![,]) => {
                if let Some(ident) = inner.path.get_ident() {
                    idents.push(ident.clone());
                }
                Ok(())
            }
            _ => Err(inner.error(format!(
                "unexpected in `index(..)`; expected {INDEX_KEYS}\n\
                 help: the correct format looks like `#[orm(index(a, b, using = \"gin\"))]` \
                 or `#[orm(index(search_vector(title, body), config = \"english\", using = \"gin\"))]`"
            ))),
        };
        end_key(inner.input, result, |err| match &mut errors {
            Some(all) => all.combine(err),
            None => errors = Some(err),
        })
    })?;
    let mut fail = |span: proc_macro2::Span, msg: &str| {
        let err = syn::Error::new(span, msg);
        match &mut errors {
            Some(all) => all.combine(err),
            None => errors = Some(err),
        }
    };
    if opts.search && opts.config.is_none() && !config_given {
        fail(
            span,
            "a `search_vector(..)` index needs `config = \"..\"` (PostgreSQL indexes only \
             `to_tsvector` with a configuration)",
        );
    }
    if opts.search
        && !opts
            .using
            .as_ref()
            .is_some_and(|u| ["gin", "gist"].contains(&u.value().as_str()))
    {
        fail(
            span,
            "a `search_vector(..)` index needs `using = \"gin\"` or `using = \"gist\"`",
        );
    }
    if let Some(config) = opts.config.as_ref().filter(|_| !opts.search) {
        fail(config.span(), "`config` is for a `search_vector(..)` index");
    }
    if !opts.opclasses.is_empty() && (opts.search || opts.opclasses.len() != idents.len()) {
        fail(
            opts.opclasses[0].span(),
            "`opclasses` takes one operator class per field of the index (not with `search_vector`)",
        );
    }
    match errors {
        Some(err) => Err(err),
        None => Ok((idents, opts)),
    }
}

pub(crate) fn model_attrs(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> ModelAttrs {
    let mut out = ModelAttrs::default();
    each_key(cx, attrs, |meta| {
        match key(meta).as_str() {
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
                "soft_delete" => {
                    if out.soft_delete.is_some() {
                        return Err(meta.error("duplicate attribute `soft_delete`"));
                    }
                    let span = meta.path.span();
                    let field = if meta.input.peek(Token![=]) {
                        Some(meta.value()?.parse::<LitStr>()?)
                    } else {
                        None
                    };
                    out.soft_delete = Some((span, field));
                }
                "unique_together" => out.unique_together.push(ident_list(meta)?),
                "index" => {
                    let (fields, options) = index_list(meta)?;
                    out.indexes.push(fields);
                    out.index_options.push(options);
                }
                other => {
                    return Err(meta.error(format!(
                        "unknown model attribute `{other}`; expected one of: {MODEL_KEYS}\n\
                         help: the correct format looks like `#[orm(table = \"users\")]` or `#[orm(unique_together(a, b))]`"
                    )))
                }
            }
        Ok(())
    });
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
            Lit::Float(f) => match f.base10_parse::<f64>() {
                // `1e999` parses as infinity, which SQL has no literal for.
                Ok(v) if v.is_finite() => Ok(format!("{v:?}")),
                Ok(_) => Err("a default float must be finite"),
                Err(_) => Err("invalid float"),
            },
            Lit::Bool(b) => Ok(if b.value { "TRUE" } else { "FALSE" }.to_owned()),
            Lit::Str(s) => {
                let v = s.value();
                if v.contains('\0') {
                    return Err("a default string cannot contain NUL");
                }
                // As orm-core's `SqlWriter::push_literal` quotes: `'`
                // doubled; with a backslash, `E'..'` with backslashes
                // doubled, so the text reads the same whatever
                // `standard_conforming_strings` is.
                let quoted = v.replace('\\', "\\\\").replace('\'', "''");
                Ok(if v.contains('\\') {
                    format!("E'{quoted}'")
                } else {
                    format!("'{quoted}'")
                })
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
    each_key(cx, attrs, |meta| {
        let k = key(meta);
        if [
            "primary_key",
            "unique",
            "index",
            "auto_now",
            "auto_now_add",
            "citext",
            "tenant",
            "rls",
        ]
        .contains(&k.as_str())
            && meta.input.peek(Token![=])
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
            "primary_key" => out.primary_key = flag(meta),
            "unique" => out.unique = true,
            "index" => out.index = true,
            "auto_now" => out.auto_now = flag(meta),
            "auto_now_add" => out.auto_now_add = flag(meta),
            "citext" => out.citext = flag(meta),
            "tenant" => out.tenant = flag(meta),
            "rls" => out.rls = flag(meta),
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
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("`{k}` cannot be empty"),
                    ));
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
                        format!(
                            "unknown on_delete `{value}`; expected one of: {}",
                            names.join(", ")
                        ),
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
            "max_digits" | "decimal_places" => {
                let lit: syn::LitInt = meta.value()?.parse()?;
                let n: u32 = lit.base10_parse()?;
                // Recorded even when out of range: the other key does not
                // then report it missing.
                let at = Some((n, meta.path.span()));
                if k == "max_digits" {
                    out.max_digits = at;
                } else {
                    out.decimal_places = at;
                }
                // PostgreSQL: "NUMERIC precision must be between 1 and 1000",
                // "NUMERIC scale must be between 0 and precision".
                if k == "max_digits" && !(1..=1000).contains(&n) {
                    return Err(syn::Error::new(
                        lit.span(),
                        "max_digits must be between 1 and 1000 (PostgreSQL's numeric precision)",
                    ));
                }
                if k == "decimal_places" && n > 1000 {
                    return Err(syn::Error::new(
                        lit.span(),
                        "decimal_places must be between 0 and 1000 (PostgreSQL's numeric scale)",
                    ));
                }
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
                )));
            }
        }
        Ok(())
    });
    out
}

/// `#[orm(rename = "..")]` on an enum variant.
pub(crate) fn variant_rename(cx: &mut Ctxt, attrs: &[syn::Attribute]) -> Option<LitStr> {
    let mut out = None;
    each_key(cx, attrs, |meta| {
        if meta.path.is_ident("rename") {
            out = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown variant attribute `{}`; expected: rename\n\
                 help: the correct format looks like `#[orm(rename = \"admin\")]`",
                key(meta)
            )))
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::{default_literal, field_attrs, model_attrs};
    use crate::ctxt::Ctxt;

    fn errors(cx: Ctxt) -> Vec<String> {
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn assert_starts(errors: &[String], expected: &[&str]) {
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, start) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(start),
                "{error:?} does not start with {start:?}"
            );
        }
    }

    #[test]
    fn every_mistaken_key_is_reported_and_the_others_are_read() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[orm(unique_together(a::b, c, d = 1), tabel = "x", table = "users")]
            struct S {
                #[orm(unique = true, primary, max_length = "3", column = "")]
                #[orm(index 1, default = 0, default = 1, related_name = "r")]
                name: String,
            }
        };
        let mut cx = Ctxt::default();
        let model = model_attrs(&mut cx, &input.attrs);
        assert_eq!(model.table.map(|t| t.value()).as_deref(), Some("users"));
        assert!(model.unique_together.is_empty());
        assert_starts(
            &errors(cx),
            &[
                "expected a field name",
                "expected a field name",
                "unknown model attribute `tabel`",
            ],
        );

        let syn::Data::Struct(data) = &input.data else {
            unreachable!()
        };
        let field = data.fields.iter().next().unwrap();
        let mut cx = Ctxt::default();
        let attrs = field_attrs(&mut cx, &field.attrs);
        assert_eq!(attrs.default.map(|(sql, _)| sql).as_deref(), Some("0"));
        assert_eq!(attrs.related_name.map(|l| l.value()).as_deref(), Some("r"));
        assert_starts(
            &errors(cx),
            &[
                "`unique` is a flag and takes no value",
                "unknown field attribute `primary`; did you mean `primary_key`?",
                "expected integer literal",
                "a column name cannot be empty",
                "expected `,`",
                "duplicate attribute `default`",
            ],
        );
    }

    #[test]
    fn default_literals_are_quoted_as_the_sql_writer_quotes() {
        let lit = |src: &str| default_literal(&syn::parse_str(src).unwrap());
        assert_eq!(lit(r#""O'Neil""#).unwrap(), "'O''Neil'");
        assert_eq!(lit(r#""a\\b""#).unwrap(), r"E'a\\b'");
        assert_eq!(
            lit(r#""\\'; DROP TABLE x; --""#).unwrap(),
            r"E'\\''; DROP TABLE x; --'"
        );
        assert_eq!(lit("-1.5").unwrap(), "-1.5");
        assert_eq!(lit("1e999"), Err("a default float must be finite"));
        assert_eq!(lit("7").unwrap(), "7");
    }
}
