//! `q!(field__lookup = value, ...)`: each term becomes a call on the typed
//! field handle, found by its type-level name, so the field, the lookup and
//! the value's type are all checked by the compiler at the user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

use super::name_type;

/// The lookups `q!` knows, with the method each becomes.
/// How many relations one name may cross (as `orm_core::query::q::MAX_DEPTH`).
const MAX_DEPTH: usize = 4;

const LOOKUPS: &[(&str, &str)] = &[
    ("exact", "eq"),
    ("iexact", "iexact"),
    ("contains", "contains"),
    ("icontains", "icontains"),
    ("startswith", "startswith"),
    ("istartswith", "istartswith"),
    ("endswith", "endswith"),
    ("iendswith", "iendswith"),
    ("in", "in_"),
    ("gt", "gt"),
    ("gte", "gte"),
    ("lt", "lt"),
    ("lte", "lte"),
    ("range", "range"),
    ("isnull", "is_null"),
    ("regex", "regex"),
    ("iregex", "iregex"),
];

struct Term {
    key: Ident,
    value: Expr,
}

impl Parse for Term {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `field = value` or `field__lookup = value`",
            )
        })?;
        input.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `=` after `{key}`: q! terms look like `{key} = value`"),
            )
        })?;
        let value: Expr = input.parse()?;
        Ok(Term { key, value })
    }
}

struct Terms(Punctuated<Term, Token![,]>);

impl Parse for Terms {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Punctuated::parse_terminated(input).map(Terms)
    }
}

/// True when the value contains a call `F(..)` or `OuterRef(..)`: an
/// expression over fields.
fn has_f(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "F" || s.ident == "OuterRef"))
                || call.args.iter().any(has_f)
        }
        Expr::Binary(b) => has_f(&b.left) || has_f(&b.right),
        Expr::Paren(p) => has_f(&p.expr),
        Expr::Group(g) => has_f(&g.expr),
        Expr::Unary(u) => has_f(&u.expr),
        Expr::MethodCall(m) => has_f(&m.receiver),
        _ => false,
    }
}

fn is_none(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident("None"))
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let krate = quote!(::orm_core);
    let terms: Terms = syn::parse2(input)?;
    if terms.0.is_empty() {
        return Ok(quote!(#krate::Q::all()));
    }
    let mut errors: Option<syn::Error> = None;
    let mut parts = Vec::new();
    for term in &terms.0 {
        match expand_term(&krate, term) {
            Ok(ts) => parts.push(ts),
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(err) = errors {
        return Err(err);
    }
    Ok(quote!( ( #(#parts)&* ) ))
}

fn expand_term(_krate: &TokenStream, term: &Term) -> syn::Result<TokenStream> {
    let key = crate::ast::unraw(&term.key);
    let span = term.key.span();
    let krate = &quote_spanned!(span=> ::orm_core);
    let segments: Vec<&str> = key.split("__").collect();
    // `a__b__field__lookup`: the last name is a lookup when it is one.
    let (names, lookup) = match segments.split_last() {
        Some((last, rest)) if !rest.is_empty() && LOOKUPS.iter().any(|(l, _)| l == last) => {
            (rest.to_vec(), Some(*last))
        }
        _ => (segments.clone(), None),
    };
    // `name__icontainz` is a mistyped lookup, not a relation path.
    if lookup.is_none() && segments.len() >= 2 {
        let last = segments[segments.len() - 1];
        let all: Vec<&str> = LOOKUPS.iter().map(|(l, _)| *l).collect();
        let hint = crate::attr::did_you_mean(last, &all.join(", "));
        if !hint.is_empty() && last.len() >= 5 {
            return Err(syn::Error::new(
                span,
                format!(
                    "unknown lookup `{last}` in `{key}`{hint} expected one of: {}",
                    all.join(", ")
                ),
            ));
        }
    }
    if names.iter().any(|n| n.is_empty()) {
        return Err(syn::Error::new(
            span,
            format!("`{key}`: expected names separated by `__`, like `author__name__icontains`"),
        ));
    }
    if names.len() > MAX_DEPTH + 1 {
        return Err(syn::Error::new(
            span,
            format!("`{key}` crosses more than {MAX_DEPTH} relations"),
        ));
    }
    let (field, relations) = names.split_last().expect("at least one name");
    let field = *field;
    let handle = if relations.is_empty() {
        let name = name_type(krate, field, span);
        quote_spanned!(span=> #krate::__private::field_by_name::<_, #name>())
    } else {
        let first = name_type(krate, relations[0], span);
        let mut h = quote_spanned!(span=> #krate::__private::relation_by_name::<_, #first>());
        for rel in &relations[1..] {
            let n = name_type(krate, rel, span);
            h = quote_spanned!(span=> #h.relation::<#n>());
        }
        let n = name_type(krate, field, span);
        quote_spanned!(span=> #h.field::<#n>())
    };
    let across = !relations.is_empty();
    let value = &term.value;
    if has_f(value) {
        // F() names the queried model's row; across a relation the lookup
        // is a comparison (an assignment never crosses one).
        let method = match lookup {
            None if across => "eq_expr",
            None => "set_expr",
            Some("exact") => "eq_expr",
            Some("gt") => "gt_expr",
            Some("gte") => "gte_expr",
            Some("lt") => "lt_expr",
            Some("lte") => "lte_expr",
            Some(other) => {
                return Err(syn::Error::new_spanned(
                    value,
                    format!("F() works with `=`, exact, gt, gte, lt and lte, not with `{other}`"),
                ))
            }
        };
        let method = Ident::new(method, Span::call_site().located_at(span));
        return Ok(quote_spanned!(span=> #handle.#method(#value)));
    }
    let method = match lookup {
        // `field = value`: an assignment, which also works as a filter;
        // across a relation only a condition.
        None if across => {
            return Ok(if is_none(value) {
                quote_spanned!(span=> #handle.is_null(true))
            } else {
                quote_spanned!(span=> #handle.eq(#value))
            })
        }
        None => {
            return Ok(if is_none(value) {
                quote_spanned!(span=> #handle.set_null())
            } else {
                quote_spanned!(span=> #handle.set(#value))
            })
        }
        Some(lookup) => match LOOKUPS.iter().find(|(l, _)| *l == lookup) {
            Some((_, method)) => *method,
            None => {
                let names: Vec<&str> = LOOKUPS.iter().map(|(l, _)| *l).collect();
                return Err(syn::Error::new(
                    span,
                    format!(
                        "unknown lookup `{lookup}` in `{key}`; expected one of: {}",
                        names.join(", ")
                    ),
                ));
            }
        },
    };
    if is_none(value) {
        return match lookup {
            Some("exact") if across => Ok(quote_spanned!(span=> #handle.is_null(true))),
            Some("exact") => Ok(quote_spanned!(span=> #krate::IntoQ::into_q(#handle.set_null()))),
            // Django: `iexact=None` is `IS NULL`; still a text field's lookup.
            Some("iexact") => Ok(quote_spanned!(span=> #handle.iexact_null())),
            _ => Err(syn::Error::new_spanned(
                value,
                format!(
                    "`None` cannot be used with `{}`; use `{field}__isnull = true`",
                    lookup.unwrap_or("exact")
                ),
            )),
        };
    }
    let method = Ident::new(method, Span::call_site().located_at(span));
    Ok(quote_spanned!(span=> #handle.#method(#value)))
}
