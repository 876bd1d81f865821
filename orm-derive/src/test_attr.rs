//! `#[orm_core::test]`: an async test with a fresh database of its own.
//!
//! Parse the options and the function, check its shape (collecting every
//! mistake), then expand to a `#[test]` function that hands the body to
//! `orm_core::__private::run_test` (the runtime, the database, the schema
//! and the scope are the library's work, not generated code).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, Item, ItemFn, LitStr, Path, ReturnType};

use crate::ctxt::Ctxt;

/// The attribute's options: `migrations = "dir"`, `crate = "path"`.
#[derive(Default)]
struct Options {
    migrations: Option<LitStr>,
    krate: Option<Path>,
}

const KEYS: &str = "`migrations = \"dir\"`, `crate = \"path\"`";

fn parse_options(args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("migrations") {
            if options.migrations.is_some() {
                return Err(meta.error("`migrations` is given twice"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "the migrations folder is empty: give its path, e.g. `migrations = \"migrations\"`",
                ));
            }
            options.migrations = Some(lit);
            Ok(())
        } else if meta.path.is_ident("crate") {
            if options.krate.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            options.krate = Some(lit.parse()?);
            Ok(())
        } else {
            Err(meta.error(format_args!(
                "unknown option of #[orm_core::test]; the options are {KEYS}"
            )))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(options)
}

/// Expands `#[orm_core::test(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::default();
    let options = parse_options(args).unwrap_or_else(|e| {
        cx.push(e);
        Options::default()
    });
    let mut function = match syn::parse2::<Item>(item.clone())? {
        Item::Fn(function) => function,
        // The error at the attribute, and the item kept, so that its uses
        // raise no further error.
        _ => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[orm_core::test] goes on an `async fn`, not on this item",
            )
            .into_compile_error();
            return Ok(quote!(#error #item));
        }
    };
    let db_arg = check(&mut cx, &function);
    if let Err(errors) = cx.check() {
        return Ok(fallback(errors, function));
    }

    let krate = options
        .krate
        .map_or_else(|| quote!(::orm_core), ToTokens::into_token_stream);
    let schema = match &options.migrations {
        None => quote!(#krate::__private::TestSchema::Models),
        Some(dir) if dir.value().starts_with('/') => {
            quote!(#krate::__private::TestSchema::Migrations(#dir))
        }
        // Relative to the package, as the test's working directory is.
        Some(dir) => quote!(#krate::__private::TestSchema::Migrations(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            #dir
        ))),
    };
    let should_panic = function
        .attrs
        .iter()
        .any(|attr| attr.path().is_ident("should_panic"));
    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let bind = match db_arg {
        Some(arg) => {
            let attrs = &arg.attrs;
            let pat = &arg.pat;
            let ty = &arg.ty;
            // At the type: a type other than `Db` is a mismatch there.
            quote_spanned!(ty.span()=> #(#attrs)* let #pat: #ty = __orm_db;)
        }
        None => quote!(),
    };
    let body = &function.block;
    let harness = quote_spanned! {Span::call_site()=>
        #krate::__private::test_harness! {
            #krate::__private::run_test(
                #krate::__private::TestOptions {
                    schema: #schema,
                    should_panic: #should_panic,
                },
                |__orm_db: #krate::Db| -> #krate::__private::TestFuture<#output> {
                    #bind
                    ::std::boxed::Box::pin(async move #body)
                },
            )
        }
    };
    function.sig.asyncness = None;
    function.sig.inputs.clear();
    function.block = Box::new(syn::parse_quote!({ #harness }));
    Ok(quote! {
        #[::core::prelude::v1::test]
        #function
    })
}

/// Checks the function's shape; returns its `Db` argument, if it has one.
fn check<'a>(cx: &mut Ctxt, function: &'a ItemFn) -> Option<&'a syn::PatType> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            "#[orm_core::test] needs an `async fn`: write `async fn`",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(&sig.generics, "a test function cannot be generic");
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a test function takes no variadic arguments");
    }
    for attr in &function.attrs {
        if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "test")
        {
            cx.error_spanned_by(
                attr,
                "a second test attribute: #[orm_core::test] makes the function a test already",
            );
        }
    }
    let mut db_arg = None;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => cx.error_spanned_by(
                receiver,
                "a test function takes no `self`; it may take one argument, the database: `db: orm_core::Db`",
            ),
            FnArg::Typed(arg) if i == 0 => db_arg = Some(arg),
            FnArg::Typed(arg) => cx.error_spanned_by(
                arg,
                "a test function takes at most one argument, the database: `db: orm_core::Db`",
            ),
        }
    }
    db_arg
}

/// After errors: the errors, and the function as written without its test
/// attributes, so that what it uses raises no further error or warning.
fn fallback(errors: syn::Error, mut function: ItemFn) -> TokenStream {
    function.attrs.retain(|attr| {
        let path = attr.path();
        !(path.segments.last().is_some_and(|s| s.ident == "test")
            || path.is_ident("should_panic")
            || path.is_ident("ignore"))
    });
    let errors = errors.into_compile_error();
    quote! {
        #errors
        #[allow(dead_code, unused_variables)]
        #function
    }
}
