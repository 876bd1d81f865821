//! What a derive emits after an error: the errors, plus the items it would
//! have generated, with bodies that never run (`unreachable!()`), so that
//! the type still implements its traits and code using it type-checks. One
//! mistake is then reported once, not again at every use of the type as
//! "the trait bound `User: Model` is not satisfied". As in thiserror.
//!
//! The fallback must compile whatever the mistake, so it uses only what the
//! errors cannot invalidate: the type's name and generics, and for a struct
//! with named fields, the names and types of its fields. Every bound that a
//! trait puts on the user's types (`Model: Send + Sync`, `Pk: FieldType`,
//! ...) is written as a where-clause `for<'__orm> T: Bound`: a bound that is
//! not trivial is assumed in the impl instead of checked there (trivial
//! bounds are unstable, rust-lang/rust#48214), so an unsupported field type
//! never makes the fallback itself fail; it is reported where the type is
//! used, as it would be without the mistake.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{DeriveInput, Ident, Type};

use crate::ast::{self, Model, RelationKind};
use crate::expand::name_type;

/// `#[derive(Model)]` after an error. `model` is `None` when the input is
/// not a struct with named fields.
pub(crate) fn model(
    input: &DeriveInput,
    model: Option<&Model<'_>>,
    error: syn::Error,
) -> TokenStream {
    let error = error.into_compile_error();
    let krate = model
        .and_then(|m| m.attrs.krate.as_ref())
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::orm_core));
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let name = ast::unraw(ident);
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let ty = quote!(#ident #ty_generics);
    let mut bounds = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p,)).collect())
        .unwrap_or_else(Vec::new);

    // The field handles, names and relations exist only for a struct with
    // named fields and no generics (its field types may name the generics).
    let model = model.filter(|_| input.generics.params.is_empty());
    // `UserFields` is named by user code: outside the `const _` block.
    let mut outer = None;
    let mut items = Vec::new();
    let mut fields_ty = quote!(());
    let mut pk_ty = quote!(i64);
    if let Some(model) = model {
        let fields_ident = format_ident!("{}Fields", ident);
        fields_ty = quote!(#fields_ident);
        // A relation is no key (an error): then `i64`, as with no key.
        if let Some(pk) = model
            .fields
            .iter()
            .find(|f| f.attrs.primary_key.is_some() && f.relation.is_none())
        {
            let ty = field_type(pk);
            pk_ty = quote!(#ty);
        }
        outer = Some(fields_struct(model, &p, &fields_ident));
        items.extend(names(model, &krate, &p));
        items.push(accessors(model, &krate, &p));
    }
    bounds.push(quote!(for<'__orm> #ty: ::core::marker::Send + ::core::marker::Sync + ::core::marker::Unpin + 'static,));
    bounds.push(quote!(for<'__orm> #pk_ty: #p::FieldType + ::core::clone::Clone,));

    quote! {
        #error

        #outer

        const _: () = {
            // Relations to this model add no error of their own.
            #[automatically_derived]
            impl #impl_generics #p::SingleKey for #ty where #(#bounds)* {}

            #[automatically_derived]
            impl #impl_generics #p::Model for #ty where #(#bounds)* {
                type Fields = #fields_ty;
                type Pk = #pk_ty;

                const META: &'static #p::ModelMeta = &#p::ModelMeta {
                    name: #name,
                    table: #name,
                    fields: &[],
                    pk: 0,
                    pk_fields: &[],
                    unique_together: &[],
                    indexes: &[],
                    index_options: &[],
                    relations: &[],
                    renamed_from: ::core::option::Option::None,
                    soft_delete: ::core::option::Option::None,
                    tenant: ::core::option::Option::None,
                };

                fn statements() -> &'static #p::ModelStatements {
                    ::core::unreachable!()
                }
                fn fields() -> #fields_ty {
                    ::core::unreachable!()
                }
                fn from_row(_: &#p::Row, _: usize) -> #p::Result<Self> {
                    ::core::unreachable!()
                }
                fn from_row_at(_: &#p::Row, _: &[usize]) -> #p::Result<Self> {
                    ::core::unreachable!()
                }
                fn field_value(&self, _: usize) -> #p::Value {
                    ::core::unreachable!()
                }
                fn field_sql(&self, _: usize) -> &(dyn #p::ToSql + ::core::marker::Sync) {
                    ::core::unreachable!()
                }
                fn set_field(&mut self, _: usize, _: #p::Value) -> #p::Result<()> {
                    ::core::unreachable!()
                }
                fn read_field(&mut self, _: usize, _: &#p::Row, _: usize) -> #p::Result<()> {
                    ::core::unreachable!()
                }
                fn touch(&mut self, _: bool, _: #p::DateTime<#p::Utc>) {
                    ::core::unreachable!()
                }
                fn pk_is_unset(&self) -> bool {
                    ::core::unreachable!()
                }
                fn attach_related(&mut self, _: usize, _: #p::Related) -> #p::Result<()> {
                    ::core::unreachable!()
                }
                fn related_mut(&mut self, _: usize) -> ::std::vec::Vec<&mut (dyn ::core::any::Any + ::core::marker::Send)> {
                    ::core::unreachable!()
                }
            }

            #(#items)*
        };
    }
}

/// The field-handle struct, as the derive declares it (it is public API:
/// `User::fields().name`), never built.
fn fields_struct(model: &Model<'_>, p: &TokenStream, fields_ident: &Ident) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let handles = model.fields.iter().map(|f| {
        let fid = f.ident;
        let ty = field_type(f);
        let doc = format!("The `{}` field.", f.name());
        quote!(#[doc = #doc] pub #fid: #p::Field<#ident, #ty>)
    });
    let doc = format!("Typed field handles of [`{ident}`], from `{ident}::fields()`.");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug)]
        #[allow(dead_code)]
        #vis struct #fields_ident {
            #(#handles,)*
        }
    }
}

/// The type-level names `q!` resolves: every field by its name, the primary
/// key also as `pk`, a foreign key also by its column; each relation.
fn names(model: &Model<'_>, krate: &TokenStream, p: &TokenStream) -> Vec<TokenStream> {
    let ident = model.ident;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut pk_named = false;
    let fields_named: HashSet<String> = model.fields.iter().map(|f| f.name()).collect();
    for field in &model.fields {
        let fid = field.ident;
        let fname = field.name();
        let ty = field_type(field);
        let mut aliases = vec![fname.clone()];
        if field.attrs.primary_key.is_some() && field.relation.is_none() && !pk_named {
            pk_named = true;
            aliases.push("pk".to_owned());
        }
        if let Some(rel) = &field.relation {
            let column = field.column();
            if rel.kind.is_column() && !fields_named.contains(&column) {
                aliases.push(column);
            }
            let n = name_type(krate, &fname, fid.span());
            let target = rel.target;
            out.push(quote! {
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl #p::HasRelation<#n> for #ident
                where
                    for<'__orm> #ident: #p::Model,
                    for<'__orm> #target: #p::Model,
                {
                    type Target = #target;
                    const INDEX: usize = 0;
                }
            });
        }
        for alias in aliases {
            if !seen.insert(alias.clone()) {
                continue;
            }
            let n = name_type(krate, &alias, fid.span());
            out.push(quote! {
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl #p::HasField<#n> for #ident
                where
                    for<'__orm> #ident: #p::Model,
                    for<'__orm> #ty: #p::FieldType,
                {
                    type Type = #ty;
                    const INDEX: usize = 0;
                }
            });
        }
    }
    out
}

/// The methods of the many-side relations: `post.tags()`, `user.posts()`.
fn accessors(model: &Model<'_>, krate: &TokenStream, p: &TokenStream) -> TokenStream {
    let ident = model.ident;
    let methods = model.fields.iter().filter_map(|field| {
        let rel = field.relation.as_ref()?;
        let fid = field.ident;
        let target = rel.target;
        let doc = format!("The `{}` relation.", field.name());
        Some(match rel.kind {
            RelationKind::ManyToMany => quote! {
                #[doc = #doc]
                pub fn #fid(&self) -> #krate::relation::ManyToManyManager<#ident, #target> {
                    ::core::unreachable!()
                }
            },
            RelationKind::Reverse if rel.one => quote! {
                #[doc = #doc]
                pub async fn #fid(&self) -> #p::Result<::core::option::Option<#target>> {
                    ::core::unreachable!()
                }
            },
            RelationKind::Reverse => quote! {
                #[doc = #doc]
                pub fn #fid(&self) -> #krate::QuerySet<#target> {
                    ::core::unreachable!()
                }
            },
            RelationKind::ForeignKey | RelationKind::OneToOne => return None,
        })
    });
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            #(#methods)*
        }
    }
}

/// The field's type, or what it is once the mistake is fixed: without the
/// `Option` of a primary key, or of a ManyToMany or Reverse field.
fn field_type<'a>(field: &ast::Field<'a>) -> &'a Type {
    let optional_by_mistake = match &field.relation {
        Some(rel) => !rel.kind.is_column(),
        None => field.attrs.primary_key.is_some(),
    };
    match ast::option_inner(field.ty) {
        Some(inner) if optional_by_mistake => inner,
        _ => field.ty,
    }
}

/// `#[derive(DbEnum)]` after an error: the enum still implements `DbEnum`
/// and the field traits, so a model field of its type or a `q!` value is no
/// second error.
pub(crate) fn db_enum(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    let p = quote!(::orm_core::__private);
    let t = quote!(::orm_core::types);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let ty = quote!(#ident #ty_generics);
    let preds: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p,)).collect())
        .unwrap_or_default();
    let mut with_a = input.generics.clone();
    with_a.params.insert(0, syn::parse_quote!('__a));
    let (impl_generics_a, _, _) = with_a.split_for_impl();
    let field = quote!(for<'__orm> #ty: ::core::fmt::Debug + ::core::marker::Send + ::core::marker::Sync + 'static,);
    let arg = |target: TokenStream, this: TokenStream| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #t::Arg<#target> for #this where #(#preds)* {
                fn into_value(self) -> #p::Value {
                    ::core::unreachable!()
                }
            }
        }
    };
    let args = [
        arg(quote!(#ty), quote!(#ty)),
        arg(quote!(#ty), quote!(&#ty)),
        arg(quote!(::core::option::Option<#ty>), quote!(#ty)),
        arg(quote!(::core::option::Option<#ty>), quote!(&#ty)),
    ];
    quote! {
        #error

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::DbEnum for #ty
            where
                #(#preds)*
                for<'__orm> #ty: ::core::marker::Copy + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                const VARIANTS: &'static [&'static str] = &[];
                fn as_str(&self) -> &'static str {
                    ::core::unreachable!()
                }
                fn from_name(_: &str) -> ::core::option::Option<Self> {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics #p::ToSql for #ty
            where
                #(#preds)*
                for<'__orm> #ty: ::core::fmt::Debug,
            {
                fn to_sql(
                    &self,
                    _: &#p::Type,
                    _: &mut #p::BytesMut,
                ) -> ::core::result::Result<
                    #p::IsNull,
                    ::std::boxed::Box<dyn ::std::error::Error + ::core::marker::Sync + ::core::marker::Send>,
                > {
                    ::core::unreachable!()
                }
                fn accepts(_: &#p::Type) -> bool {
                    ::core::unreachable!()
                }
                #p::to_sql_checked!();
            }

            #[automatically_derived]
            impl #impl_generics_a #p::FromSql<'__a> for #ty where #(#preds)* {
                fn from_sql(
                    _: &#p::Type,
                    _: &'__a [u8],
                ) -> ::core::result::Result<Self, ::std::boxed::Box<dyn ::std::error::Error + ::core::marker::Sync + ::core::marker::Send>> {
                    ::core::unreachable!()
                }
                fn accepts(_: &#p::Type) -> bool {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics #t::FieldType for #ty where #(#preds)* #field {
                const SQL_TYPE: #t::SqlType = #t::SqlType::Enum(&[]);
                type Base = Self;
                fn to_value(&self) -> #p::Value {
                    ::core::unreachable!()
                }
                fn from_value(_: #p::Value) -> ::core::option::Option<Self> {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics #t::BaseType for #ty where #(#preds)* #field {}

            #(#args)*
        };
    }
}
