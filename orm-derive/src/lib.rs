//! Procedural macros of `orm-core`: `#[derive(Model)]`, `#[derive(DbEnum)]`,
//! `q!` and `#[orm_core::test]`. Use them through `orm-core`, which re-exports them and
//! documents them.
//!
//! Each macro runs in three stages: parse the input into a borrowed IR
//! (`ast`, `attr`), validate it (`check`), then generate code
//! (`expand`). Errors are collected and reported together, each at the
//! span of the offending token; after an error the derives still emit the
//! traits' impls (`fallback`), so that the mistake is not reported again
//! wherever the type is used.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod test_attr;

use proc_macro::TokenStream;

/// Implements `orm_core::Model` for a struct with named fields. See the
/// documentation of `orm_core::Model` (the derive) for the attributes.
#[proc_macro_derive(Model, attributes(orm))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::model::derive(&input).into()
}

/// Stores a fieldless enum as text. See `orm_core::DbEnum`.
#[proc_macro_derive(DbEnum, attributes(orm))]
pub fn derive_db_enum(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::db_enum::derive(&input).into()
}

/// Django-style conditions: `q!(name__icontains = "gem", karma__gte = 10)`.
/// See `orm_core::q`.
#[proc_macro]
pub fn q(input: TokenStream) -> TokenStream {
    expand::q::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// An async test with a fresh database of its own. See `orm_core::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
