//! `q!(field__lookup = value, ...)`: each term becomes a call on the typed
//! field handle, found by its type-level name, so the field, the lookup and
//! the value's type are all checked by the compiler at the user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

use orm_names::{Lookup, Transform};

use super::name_type;

/// How many relations one name may cross (as `orm_core::query::q::MAX_DEPTH`).
const MAX_DEPTH: usize = 4;

/// How many transforms one name may chain (as orm-core's `MAX_TRANSFORMS`).
const MAX_TRANSFORMS: usize = 4;

/// Every lookup name, for error messages: `exact, iexact, ...`.
fn lookup_names() -> String {
    let names: Vec<&str> = Lookup::ALL.iter().map(|l| l.name()).collect();
    names.join(", ")
}

/// The lookups that take an `F()` expression, for error messages: `exact,
/// gt, gte, lt and lte`.
fn expr_lookups() -> String {
    let names: Vec<&str> = Lookup::ALL
        .iter()
        .filter(|l| l.expr_method().is_some())
        .map(|l| l.name())
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

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

/// True when the value contains a call `F(..)`, `OuterRef(..)` or a
/// function of `orm_core::functions` (`Now()`, `Lower(..)`, `Case(..)`,
/// listed in `orm_names::EXPRESSIONS`): an expression over fields.
fn has_f(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| orm_names::EXPRESSIONS.iter().any(|n| s.ident == n)))
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

/// A name that, after a field and before a lookup, may be a step: a
/// transform (`year`), an array index, or a range's bound (`startswith`
/// in `span__startswith__gte`).
fn is_step(name: &str) -> bool {
    Transform::from_name(name).is_some() || is_index(name) || orm_names::RANGE_ENDS.contains(&name)
}

/// A name of digits: an array index (`0` in `tags__0`).
fn is_index(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// `None`, also as a `macro_rules!` argument (an invisible group).
fn is_none(expr: &Expr) -> bool {
    match expr {
        Expr::Group(g) => is_none(&g.expr),
        Expr::Path(p) => p.qself.is_none() && p.path.is_ident("None"),
        _ => false,
    }
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
    // `a__b__field__lookup`: the last name is a lookup when it is one.
    let (names, lookup) = Lookup::split(&key);
    let names: Vec<&str> = names.split("__").collect();
    // A transform name after the first: `created__year`, or a field of a
    // related model of that name (`event__date`), which only the field's
    // type tells apart. Every name after the first is then a step
    // (`Field::step`) decided by the type it follows.
    // An index (`tags__0`) is a step too: after an array field.
    let transform = names.len() >= 2 && names[1..].iter().any(|n| is_step(n));
    // A name after a JSON field is a key (`data__owner__name`), which
    // also only the field's type tells: every key of several names is
    // stepped.
    let steps = names.len() >= 2;
    // `name__icontainz` is a mistyped lookup, not a relation path.
    if let (None, [.., last], false) = (lookup, &names[..], transform) {
        let all = lookup_names();
        let hint = crate::attr::did_you_mean(last, &all);
        if names.len() >= 2 && !hint.is_empty() && last.len() >= 5 {
            return Err(syn::Error::new(
                span,
                format!("unknown lookup `{last}` in `{key}`{hint} expected one of: {all}"),
            ));
        }
    }
    if names.iter().any(|n| n.is_empty()) {
        return Err(syn::Error::new(
            span,
            format!("`{key}`: expected names separated by `__`, like `author__name__icontains`"),
        ));
    }
    // Transforms (and an index) may follow a field reached through
    // `MAX_DEPTH` relations.
    let trailing = |f: fn(&str) -> bool| {
        if steps {
            names.iter().rev().take_while(|n| f(n)).count()
        } else {
            0
        }
    };
    let transforms = trailing(|n| Transform::from_name(n).is_some());
    if transforms > MAX_TRANSFORMS {
        return Err(syn::Error::new(
            span,
            format!("`{key}` chains more than {MAX_TRANSFORMS} transforms"),
        ));
    }
    let transformed = trailing(is_step);
    if names.len() > MAX_DEPTH + 1 + transformed {
        return Err(syn::Error::new(
            span,
            format!(
                "`{key}` crosses more than {MAX_DEPTH} relations (for a longer JSON key path, \
                 use the typed handle: `.key(..)`)"
            ),
        ));
    }
    let field = names[0];
    if steps {
        let first = name_type(krate, names[0], span);
        let mut h = quote_spanned!(span=>
            #krate::__private::steps::start(#krate::__private::field_by_name::<_, #first>()));
        for name in &names[1..] {
            let n = if is_index(name) {
                // Below 2^31 - 1, so that the 1-based subscript fits an
                // `integer`.
                let index: u32 = match name.parse() {
                    Ok(i) if i < i32::MAX as u32 => i,
                    _ => {
                        return Err(syn::Error::new(
                            span,
                            format!("`{name}` in `{key}`: an array index must be below 2147483647"),
                        ))
                    }
                };
                quote_spanned!(span=> #krate::__private::Idx<#index>)
            } else {
                name_type(krate, name, span)
            };
            h = quote_spanned!(span=> #krate::__private::steps::next::<#n, _, _>(#h));
        }
        return Ok(expand_steps(krate, term, &h, lookup, span));
    }
    // One name: a field of the model, whose `field = value` is also an
    // assignment (`update`).
    let name = name_type(krate, field, span);
    let handle = quote_spanned!(span=> #krate::__private::field_by_name::<_, #name>());
    let value = &term.value;
    if has_f(value) {
        let method = match lookup {
            None => Some("set_expr"),
            Some(lookup) => lookup.expr_method(),
        };
        let Some(method) = method else {
            return Err(syn::Error::new_spanned(
                value,
                format!(
                    "F() works with `=`, {}, not with `{}`",
                    expr_lookups(),
                    lookup.map_or("exact", Lookup::name)
                ),
            ));
        };
        let method = Ident::new(method, Span::call_site().located_at(span));
        return Ok(quote_spanned!(span=> #handle.#method(#value)));
    }
    let lookup = match lookup {
        // `field = value`: an assignment, which also works as a filter.
        None => {
            return Ok(if is_none(value) {
                quote_spanned!(span=> #handle.set_null())
            } else {
                quote_spanned!(span=> #handle.set(#value))
            })
        }
        Some(lookup) => lookup,
    };
    if is_none(value) {
        // Django: `exact=None` and `iexact=None` are `IS NULL`
        // (`Lookup::takes_null`); `iexact` is still a text field's lookup.
        return match lookup {
            Lookup::Exact => Ok(quote_spanned!(span=> #krate::IntoQ::into_q(#handle.set_null()))),
            Lookup::IExact => Ok(quote_spanned!(span=> #handle.iexact_null())),
            _ => Err(syn::Error::new_spanned(
                value,
                format!("`None` cannot be used with `{lookup}`; use `{field}__isnull = true`"),
            )),
        };
    }
    let method = Ident::new(lookup.method(), Span::call_site().located_at(span));
    Ok(quote_spanned!(span=> #handle.#method(#value)))
}

/// A term whose names may hold a transform (`created__year__gte`,
/// `event__date`): the handle `h` of the names, and the lookup as a call
/// of a trait function on it (`steps::gte(h, value)`), which the compiler
/// resolves once the model is known.
fn expand_steps(
    krate: &TokenStream,
    term: &Term,
    h: &TokenStream,
    lookup: Option<Lookup>,
    span: Span,
) -> TokenStream {
    let value = &term.value;
    let call = |method: &str| {
        let method = Ident::new(method, Span::call_site().located_at(span));
        // The JSON lookups' steps live with the JSON fields.
        let module = match method.to_string().as_str() {
            "has_key" | "has_keys" | "has_any_keys" => quote!(json_steps),
            _ => quote!(steps),
        };
        quote_spanned!(span=> #krate::__private::#module::#method)
    };
    let lookup = lookup.unwrap_or(Lookup::Exact);
    if has_f(value) {
        // Refused for a lookup without an `F()` form, as for fields; a
        // transform refuses every `F()` (`FieldLookups`).
        return match lookup.expr_method() {
            Some(method) => {
                let f = call(method);
                quote_spanned!(span=> #f(#h, #value))
            }
            None => syn::Error::new_spanned(
                value,
                format!(
                    "F() works with `=`, {}, not with `{lookup}`",
                    expr_lookups()
                ),
            )
            .to_compile_error(),
        };
    }
    if is_none(value) {
        return match lookup {
            Lookup::Exact => {
                let f = call("eq_none");
                quote_spanned!(span=> #f(#h))
            }
            Lookup::IExact => {
                let f = call("iexact_null");
                quote_spanned!(span=> #f(#h))
            }
            _ => syn::Error::new_spanned(
                value,
                format!("`None` cannot be used with `{lookup}`; use `__isnull = true`"),
            )
            .to_compile_error(),
        };
    }
    let f = call(lookup.method());
    quote_spanned!(span=> #f(#h, #value))
}

#[cfg(test)]
mod tests {
    use orm_names::Lookup;
    use proc_macro2::TokenStream;

    /// `q!(input)` expanded, as text, or its error message.
    fn expand(input: &str) -> Result<String, String> {
        let input: TokenStream = input.parse().expect("tokens");
        super::expand(input)
            .map(|ts| ts.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_lookup_calls_its_handle_method() {
        for lookup in Lookup::ALL {
            let out = expand(&format!("name__{lookup} = x")).expect("expands");
            assert!(out.contains(&format!(". {} (x)", lookup.method())), "{out}");
            // Across a relation (or a JSON key): the step of the same name.
            let out = expand(&format!("author__name__{lookup} = x")).expect("expands");
            assert!(
                out.contains(&format!("steps :: {}", lookup.method())),
                "{out}"
            );
        }
    }

    #[test]
    fn none_is_taken_by_the_lookups_the_table_says() {
        for lookup in Lookup::ALL {
            let out = expand(&format!("name__{lookup} = None"));
            assert_eq!(out.is_ok(), lookup.takes_null(), "{lookup}: {out:?}");
            if let Err(message) = out {
                assert_eq!(
                    message,
                    format!("`None` cannot be used with `{lookup}`; use `name__isnull = true`")
                );
            }
        }
    }

    #[test]
    fn f_is_taken_by_the_lookups_the_table_says() {
        for lookup in Lookup::ALL {
            let out = expand(&format!("name__{lookup} = F(\"other\")"));
            match lookup.expr_method() {
                Some(method) => assert!(out.expect("expands").contains(method)),
                None => assert_eq!(
                    out.unwrap_err(),
                    format!("F() works with `=`, exact, gt, gte, lt and lte, not with `{lookup}`")
                ),
            }
        }
        assert!(expand("name = F(\"other\")").unwrap().contains("set_expr"));
        assert!(expand("author__name = F(\"other\")")
            .unwrap()
            .contains("eq_expr"));
    }

    #[test]
    fn a_name_after_a_field_that_may_be_a_transform_is_a_step() {
        // `created__year__gte`, and `event__date` (a relation's field named
        // like a transform): the same expansion, decided by the field types.
        let out = expand("created__year__gte = 2020").expect("expands");
        assert!(out.contains("steps :: start"), "{out}");
        assert!(out.contains("steps :: next"), "{out}");
        assert!(out.contains("steps :: gte"), "{out}");
        let out = expand("event__date = d").expect("expands");
        assert!(out.contains("steps :: eq"), "{out}");
        assert!(!out.contains("relation_by_name"), "{out}");
        assert!(expand("event__date = None")
            .unwrap()
            .contains("steps :: eq_none"));
        assert!(expand("a__b__c__d__e__year = 1").is_ok());
        // An array index or `len`.
        let out = expand("tags__0 = x").expect("expands");
        assert!(out.contains("Idx < 0u32 >"), "{out}");
        assert!(out.contains("steps :: eq"), "{out}");
        // A range's bound, then a lookup.
        let out = expand("span__startswith__gte = 3").expect("expands");
        assert!(out.contains("steps :: gte"), "{out}");
        assert!(out.contains("Ch < 's' >"), "{out}");
        let out = expand("span__startswith = 3").expect("expands");
        assert!(out.contains(". startswith (3)"), "{out}");
        let out = expand("tags__len__gt = 1").expect("expands");
        assert!(out.contains("steps :: gt"), "{out}");
        assert!(expand("tags__99999999999 = x").is_err());
        assert!(expand("a__b__c__d__e__f__year = 1").is_err());
        // Transforms chain: `created__date__year`, up to four.
        let out = expand("created__date__year__gte = 2020").expect("expands");
        assert_eq!(out.matches("steps :: next").count(), 2, "{out}");
        assert!(expand("a__b__c__d__name__trim__lower__upper__length = 1").is_ok());
        assert_eq!(
            expand("name__trim__trim__trim__trim__trim = x").unwrap_err(),
            "`name__trim__trim__trim__trim__trim` chains more than 4 transforms"
        );
        // A relation path, or a JSON key path: steps too, decided by the
        // field types.
        let out = expand("author__name = x").expect("expands");
        assert!(out.contains("steps :: eq"), "{out}");
        let out = expand("data__owner__has_key = x").expect("expands");
        assert!(out.contains("json_steps :: has_key"), "{out}");
        let out = expand("data__owner = None").expect("expands");
        assert!(out.contains("steps :: eq_none"), "{out}");
    }

    #[test]
    fn a_mistyped_lookup_lists_them_all() {
        assert_eq!(
            expand("name__icontainz = x").unwrap_err(),
            "unknown lookup `icontainz` in `name__icontainz`; did you mean `icontains`? \
             expected one of: exact, iexact, contains, icontains, startswith, istartswith, \
             endswith, iendswith, in, gt, gte, lt, lte, range, isnull, regex, iregex, \
             contained_by, overlap, fully_lt, fully_gt, not_lt, not_gt, adjacent_to, isempty, \
             lower_inc, lower_inf, upper_inc, upper_inf, has_key, has_keys, has_any_keys, search"
        );
    }
}
