//! `#[derive(DbEnum)]`: a fieldless enum stored as text.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::attr;
use crate::ctxt::Ctxt;

/// The derive's output: the expansion, or after any error, every error and
/// the fallback (see `crate::fallback`).
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match expand(input) {
        Ok(ts) => ts,
        Err(err) => crate::fallback::db_enum(input, err),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(DbEnum)] works on enums whose variants have no fields",
        ));
    };
    let mut cx = Ctxt::default();
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(DbEnum)] does not support generic enums",
        );
    }
    let mut idents = Vec::new();
    let mut names = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                "#[derive(DbEnum)] variants cannot have fields: each is stored as its name",
            );
        }
        let name = attr::variant_rename(&mut cx, &variant.attrs)
            .map(|s| s.value())
            .unwrap_or_else(|| crate::ast::unraw(&variant.ident));
        if names.contains(&name) {
            cx.error_spanned_by(
                &variant.ident,
                format!("two variants are stored as `{name}`"),
            );
        }
        idents.push(&variant.ident);
        names.push(name);
    }
    if idents.is_empty() {
        cx.error_spanned_by(&input.ident, "#[derive(DbEnum)] needs at least one variant");
    }
    cx.check()?;
    let ident = &input.ident;
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl ::orm_core::types::DbEnum for #ident {
                const VARIANTS: &'static [&'static str] = &[#(#names),*];
                fn as_str(&self) -> &'static str {
                    match self {
                        #(Self::#idents => #names,)*
                    }
                }
                fn from_name(name: &str) -> ::core::option::Option<Self> {
                    match name {
                        #(#names => ::core::option::Option::Some(Self::#idents),)*
                        _ => ::core::option::Option::None,
                    }
                }
            }
            ::orm_core::__impl_db_enum!(#ident);
        };
    })
}
