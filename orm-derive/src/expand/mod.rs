//! Code generation, one file per generated piece.

pub(crate) mod db_enum;
pub(crate) mod model;
pub(crate) mod q;

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// The type-level name of a field: `id` -> `(Ch<'i'>, Ch<'d'>,)`.
/// `q!` and the derive both name fields this way, so a field written in
/// `q!` resolves against whatever model the condition is used with.
pub(crate) fn name_type(krate: &TokenStream, name: &str, span: Span) -> TokenStream {
    let chars = name.chars();
    quote_spanned!(span=> ( #( #krate::__private::Ch<#chars>, )* ))
}
