//! `#[derive(Model)]`: the `Model` impl, the field-handle struct, the
//! type-level field names for `q!`, registration, and type assertions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use super::name_type;
use crate::ast::Model;
use crate::check;
use crate::ctxt::Ctxt;

/// The derive's output: the expansion, or after any error, every error and
/// the fallback (see `crate::fallback`).
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let model = Model::from_input(&mut cx, input);
    if let Some(model) = &model {
        check::check(&mut cx, model);
    }
    match (cx.check(), &model) {
        (Ok(()), Some(model)) => expand(model),
        (Err(err), _) => crate::fallback::model(input, model.as_ref(), err),
        (Ok(()), None) => unreachable!("no model without an error"),
    }
}

fn expand(model: &Model<'_>) -> TokenStream {
    let krate = model
        .attrs
        .krate
        .as_ref()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::orm_core));
    let p = quote!(#krate::__private);
    let ident = model.ident;
    let vis = model.vis;
    let name = crate::ast::unraw(ident);
    let table = model.table();
    let table_renamed_from = match &model.attrs.renamed_from {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    // The soft delete field's index among the columns.
    let soft_delete = match model.soft_delete_field() {
        Some(field) => {
            let at = model
                .fields
                .iter()
                .filter(|f| f.is_column())
                .position(|f| std::ptr::eq(f.ident, field.ident))
                .unwrap_or(0);
            quote!(::core::option::Option::Some(#at))
        }
        None => quote!(::core::option::Option::None),
    };
    let pk = model.pk_index().unwrap_or(0);
    // META.pk indexes the columns, which leave out ManyToMany/Reverse fields.
    let pk_column = model.fields[..pk.min(model.fields.len())]
        .iter()
        .filter(|f| f.is_column())
        .count();
    // Every field of the key (several for a composite key), as column
    // indexes, in declaration order.
    let pk_columns: Vec<usize> = model
        .fields
        .iter()
        .filter(|f| f.is_column())
        .enumerate()
        .filter(|(_, f)| f.attrs.primary_key.is_some())
        .map(|(i, _)| i)
        .collect();
    let pk_parts: Vec<&crate::ast::Field<'_>> = model
        .fields
        .iter()
        .filter(|f| f.is_column() && f.attrs.primary_key.is_some())
        .collect();
    let composite = pk_parts.len() > 1;
    let fields_ident = format_ident!("{}Fields", ident);

    let column_of = |ident: &syn::Ident| -> String {
        let wanted = crate::ast::unraw(ident);
        model
            .fields
            .iter()
            .find(|f| f.name() == wanted)
            .map(|f| f.column())
            .unwrap_or(wanted)
    };
    let column_lists = |lists: &Vec<Vec<syn::Ident>>| -> Vec<TokenStream> {
        lists
            .iter()
            .map(|list| {
                let cols = list.iter().map(column_of);
                quote!(&[#(#cols),*])
            })
            .collect()
    };
    let unique_together = column_lists(&model.attrs.unique_together);
    let (plain, optioned): (Vec<_>, Vec<_>) = model
        .attrs
        .indexes
        .iter()
        .zip(&model.attrs.index_options)
        .partition(|(_, o)| o.is_plain());
    let indexes = column_lists(&plain.iter().map(|(l, _)| (*l).clone()).collect());
    let index_options: Vec<TokenStream> = optioned
        .iter()
        .map(|(list, o)| {
            let cols = list.iter().map(column_of);
            let using = match &o.using {
                Some(u) => quote!(::core::option::Option::Some(#u)),
                None => quote!(::core::option::Option::None),
            };
            let opclasses = &o.opclasses;
            let config = match &o.config {
                Some(c) => quote!(::core::option::Option::Some(#c)),
                None => quote!(::core::option::Option::None),
            };
            let search = o.search;
            quote!(#p::IndexMeta {
                columns: &[#(#cols),*],
                using: #using,
                opclasses: &[#(#opclasses),*],
                search: #search,
                config: #config,
            })
        })
        .collect();

    let mut metas = Vec::new();
    let mut handles = Vec::new();
    let mut handle_inits = Vec::new();
    let mut decodes = Vec::new();
    let mut decodes_at = Vec::new();
    let mut values = Vec::new();
    let mut sqls = Vec::new();
    let mut sets = Vec::new();
    let mut reads = Vec::new();
    let mut touches_always = Vec::new();
    let mut touches_insert = Vec::new();
    let mut has_field = Vec::new();
    let mut asserts = Vec::new();
    let mut relations = Vec::new();
    let mut attach_arms = Vec::new();
    let mut related_arms = Vec::new();
    let mut accessors = Vec::new();
    let mut column_index = 0usize;
    let mut validations = Vec::new();
    let mut tenant = quote!(::core::option::Option::None);

    for field in model.fields.iter() {
        let fid = field.ident;
        let n = name_type(&krate, &field.name(), fid.span());
        let ty = field.ty;
        let fname = field.name();
        let a = &field.attrs;

        if let Some(rel) = &field.relation {
            let r = relations.len();
            let target = rel.target;
            let variant = format_ident!("{}", rel.kind.variant());
            let key = if rel.kind.is_column() {
                quote!(::core::option::Option::Some(#column_index))
            } else {
                quote!(::core::option::Option::None)
            };
            let opt = |v: &Option<syn::LitStr>| match v {
                Some(l) => quote!(::core::option::Option::Some(#l)),
                None => quote!(::core::option::Option::None),
            };
            let related_name = opt(&a.related_name);
            let one = rel.one;
            let through = opt(&a.through);
            let on_delete =
                format_ident!("{}", a.on_delete.as_ref().map_or("Cascade", |(v, _)| *v));
            // As in Django 5.2, no relation points to a model with a
            // composite key (checked at the field's type).
            let rp = respan(p.clone(), field.ty.span());
            asserts.push(quote_spanned!(field.ty.span()=> #rp::assert_single_key::<#target>();));
            relations.push(quote! {
                #p::RelationMeta {
                    name: #fname,
                    kind: #p::RelationKind::#variant,
                    owner: &#p::ModelOps::<#ident>::new(),
                    target: &#p::ModelOps::<#target>::new(),
                    field: #key,
                    related_name: #related_name,
                    on_delete: #p::OnDelete::#on_delete,
                    through: #through,
                    one: #one,
                }
            });
            has_field.push(quote! {
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl #p::HasRelation<#n> for #ident {
                    type Target = #target;
                    const INDEX: usize = #r;
                }
            });
            attach_arms
                .push(quote!(#r => #p::RelationField::attach(&mut self.#fid, related, #name)));
            related_arms.push(quote!(#r => #p::RelationField::loaded_mut(&mut self.#fid)));
            match rel.kind {
                crate::ast::RelationKind::ManyToMany => {
                    let doc =
                        format!("The `{fname}` links of this object: add, remove, clear, list.");
                    accessors.push(quote! {
                        #[doc = #doc]
                        pub fn #fid(&self) -> #krate::relation::ManyToManyManager<#ident, #target> {
                            #krate::relation::ManyToManyManager::new(self, &<Self as #p::Model>::META.relations[#r])
                        }
                    });
                }
                crate::ast::RelationKind::Reverse if rel.one => {
                    let doc =
                        format!("The `{fname}` row on the other side of the one-to-one, if any.");
                    accessors.push(quote! {
                        #[doc = #doc]
                        pub async fn #fid(&self) -> #p::Result<::core::option::Option<#target>> {
                            #krate::relation::reverse_one::<Self, #target>(self, &<Self as #p::Model>::META.relations[#r]).await
                        }
                    });
                }
                crate::ast::RelationKind::Reverse => {
                    let doc = format!("The related rows of `{fname}`, as a query.");
                    accessors.push(quote! {
                        #[doc = #doc]
                        pub fn #fid(&self) -> #krate::QuerySet<#target> {
                            #krate::relation::reverse_query(self, &<Self as #p::Model>::META.relations[#r])
                        }
                    });
                }
                _ => {}
            }
            if !rel.kind.is_column() {
                let doc = format!("The `{fname}` relation (for `isnull` and paths).");
                handles.push(quote!(#[doc = #doc] pub #fid: #p::Field<#ident, #ty>));
                handle_inits.push(quote!(#fid: #p::Field::new(#p::RELATION_FIELD | #r)));
                decodes.push(quote!(#fid: ::core::default::Default::default()));
                decodes_at.push(quote!(#fid: ::core::default::Default::default()));
                has_field.push(quote! {
                    #[automatically_derived]
                    #[diagnostic::do_not_recommend]
                    impl #p::HasField<#n> for #ident {
                        type Type = #ty;
                        const INDEX: usize = #p::RELATION_FIELD | #r;
                    }
                });
                continue;
            }
        }

        let i = column_index;
        column_index += 1;
        let column = field.column();
        // A composite key's fields are listed in `pk_fields`, not marked
        // one by one: none identifies a row alone.
        let is_pk = a.primary_key.is_some() && !composite;
        let one_to_one = field
            .relation
            .as_ref()
            .is_some_and(|r| r.kind == crate::ast::RelationKind::OneToOne);
        let is_fk = field.relation.is_some();
        let unique = a.unique || one_to_one;
        // Django indexes foreign keys.
        let index = a.index || (is_fk && !unique);
        let max_length = match a.max_length {
            Some((n, _)) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let default = match &a.default {
            Some((sql, _)) => quote!(::core::option::Option::Some(#sql)),
            None => quote!(::core::option::Option::None),
        };
        let auto_now = a.auto_now.is_some();
        let auto_now_add = a.auto_now_add.is_some();
        let renamed_from = match &a.renamed_from {
            Some(lit) => quote!(::core::option::Option::Some(#lit)),
            None => quote!(::core::option::Option::None),
        };
        let opt_u32 = |v: Option<(u32, proc_macro2::Span)>| match v {
            Some((n, _)) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let (max_digits, decimal_places) = (opt_u32(a.max_digits), opt_u32(a.decimal_places));
        // `citext` checks the field is text, at the attribute.
        let sql_type = match &a.citext {
            Some(flag) => {
                let rp = respan(p.clone(), flag.span());
                // The model and the name respanned too: the bound's error
                // points at the generic arguments.
                let at = respan(quote!(#ident, #n), flag.span());
                quote_spanned!(flag.span()=> #rp::citext_type::<#at>())
            }
            None => quote!(#p::sql_type::<#ident, #n>()),
        };
        metas.push(quote! {
            #p::FieldMeta {
                name: #fname,
                column: #column,
                position: #i,
                sql_type: #sql_type,
                nullable: #p::nullable::<#ident, #n>(),
                primary_key: #is_pk,
                auto: #is_pk && #p::sql_type::<#ident, #n>().is_integer(),
                unique: #unique,
                index: #index,
                max_length: #max_length,
                default: #default,
                auto_now: #auto_now,
                auto_now_add: #auto_now_add,
                renamed_from: #renamed_from,
                max_digits: #max_digits,
                decimal_places: #decimal_places,
            }
        });
        let doc = format!("The `{fname}` field (column `{column}`).");
        handles.push(quote!(#[doc = #doc] pub #fid: #p::Field<#ident, #ty>));
        handle_inits.push(quote!(#fid: #p::Field::new(#i)));
        decodes.push(quote!(#fid: #p::decode_field::<Self, #n>(row, start + #i, #name, #column)?));
        decodes_at
            .push(quote!(#fid: #p::decode_field::<Self, #n>(row, columns[#i], #name, #column)?));
        values.push(quote!(#i => #p::field_to_value::<Self, #n>(&self.#fid)));
        sqls.push(quote!(#i => #p::field_as_sql::<Self, #n>(&self.#fid)));
        sets.push(
            quote!(#i => self.#fid = #p::field_from_value::<Self, #n>(value, #name, #fname)?),
        );
        reads
            .push(quote!(#i => self.#fid = #p::decode_field::<Self, #n>(row, at, #name, #column)?));
        if let Some(flag) = &a.auto_now {
            let p = respan(p.clone(), flag.span());
            touches_always
                .push(quote_spanned!(flag.span()=> self.#fid = #p::Timestamp::from_now(now);));
        }
        if let Some(flag) = &a.auto_now_add {
            let p = respan(p.clone(), flag.span());
            touches_insert
                .push(quote_spanned!(flag.span()=> self.#fid = #p::Timestamp::from_now(now);));
        }

        if let Some(flag) = &a.tenant {
            let rls = a.rls.is_some();
            tenant = quote!(::core::option::Option::Some(#p::TenantMeta { field: #i, rls: #rls }));
            // Checked at the attribute: the types a tenant can be.
            let rp = respan(p.clone(), flag.span());
            let at = respan(quote!(#ty), flag.span());
            asserts.push(quote_spanned!(flag.span()=> #rp::assert_tenant_key::<#at>();));
        }
        if let Some((n, span)) = a.max_length {
            // Spanned at `max_length`, so a non-text field is reported there.
            let rp = respan(p.clone(), span);
            let n = n as usize;
            validations
                .push(quote_spanned!(span=> #rp::check_max_length(&self.#fid, #n, #name, #fname)));
        }
        if let (Some((digits, span)), Some((places, _))) = (a.max_digits, a.decimal_places) {
            // Spanned at `max_digits`, so a non-Decimal field is reported there.
            let rp = respan(p.clone(), span);
            validations.push(quote_spanned!(span=>
                #rp::check_decimal(&self.#fid, #digits, #places, #name, #fname)));
        }
        for rule in &a.validate {
            validations.push(
                quote_spanned!(rule.span()=> #p::check_rule(&self.#fid, #rule, #name, #fname)),
            );
        }
        if let Some((_, expr)) = &a.default {
            asserts.push(quote_spanned!(expr.span()=> #p::assert_default::<#ty, _>(#expr);));
        }

        // The field by its name, the primary key also as `pk`, and a
        // foreign key also by its column (`author_id`).
        let mut names = vec![n];
        if is_pk && fname != "pk" {
            names.push(name_type(&krate, "pk", fid.span()));
        }
        if is_fk && column != fname && !model.fields.iter().any(|f| f.name() == column) {
            names.push(name_type(&krate, &column, fid.span()));
        }
        for n in names {
            has_field.push(quote! {
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl #p::HasField<#n> for #ident {
                    type Type = #ty;
                    const INDEX: usize = #i;
                }
                #[automatically_derived]
                #[diagnostic::do_not_recommend]
                impl #p::ColumnField<#n> for #ident {
                    type Column = #ty;
                }
            });
        }
    }

    let pk_ident = model.fields.get(pk).map(|f| f.ident);
    let pk_ty = match model.fields.get(pk) {
        Some(_) if composite => {
            let tys = pk_parts.iter().map(|f| f.ty);
            quote!((#(#tys,)*))
        }
        Some(f) => {
            let ty = f.ty;
            quote!(#ty)
        }
        None => quote!(i64),
    };
    let pk_unset = match pk_ident {
        // A composite key is always given: `save()` updates, then inserts.
        Some(_) if composite => quote!(false),
        Some(id) => quote!(#p::FieldType::is_unset_pk(&self.#id)),
        None => quote!(false),
    };
    if composite {
        let doc = "The composite primary key: a tuple of its fields' values.";
        handles.push(quote!(#[doc = #doc] pub pk: #p::Field<#ident, #pk_ty>));
        handle_inits.push(quote!(pk: #p::Field::new(#p::COMPOSITE_PK)));
        let n = name_type(&krate, "pk", ident.span());
        has_field.push(quote! {
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #p::HasField<#n> for #ident {
                type Type = #pk_ty;
                const INDEX: usize = #p::COMPOSITE_PK;
            }
        });
    } else {
        has_field.push(quote! {
            #[automatically_derived]
            impl #p::SingleKey for #ident {}
        });
    }
    let validate_fn = if validations.is_empty() {
        quote!()
    } else {
        quote! {
            fn validate(&self) -> #p::Result<()> {
                // Every rule is checked: the error lists every field that broke one.
                #p::all_valid(#name, [#(#validations),*])
            }
        }
    };
    let hooks_fns = if model.attrs.hooks {
        let f = quote!(impl ::core::future::Future<Output = #p::Result<()>> + ::core::marker::Send);
        quote! {
            fn run_before_save(&mut self, inserting: bool) -> #f {
                <Self as #krate::Hooks>::before_save(self, inserting)
            }
            fn run_after_save(&mut self, inserted: bool) -> #f {
                <Self as #krate::Hooks>::after_save(self, inserted)
            }
            fn run_before_delete(&self) -> #f {
                <Self as #krate::Hooks>::before_delete(self)
            }
            fn run_after_delete(&self) -> #f {
                <Self as #krate::Hooks>::after_delete(self)
            }
        }
    } else {
        quote!()
    };
    let fields_doc = format!("Typed field handles of [`{ident}`], from `{ident}::fields()`.");
    let unreachable = format!("{name} has no field with this index");

    quote! {
        #[doc = #fields_doc]
        #[derive(Clone, Copy, Debug)]
        #vis struct #fields_ident {
            #(#handles,)*
        }

        const _: () = {
            // A static, not a constant: one copy in the whole program,
            // whichever crate reads it (a constant is copied into every
            // crate that uses it).
            static __ORM_META: #p::ModelMeta = #p::ModelMeta {
                name: #name,
                table: #table,
                fields: &[#(#metas),*],
                pk: #pk_column,
                pk_fields: &[#(#pk_columns),*],
                unique_together: &[#(#unique_together),*],
                indexes: &[#(#indexes),*],
                relations: &[#(#relations),*],
                renamed_from: #table_renamed_from,
                index_options: &[#(#index_options),*],
                soft_delete: #soft_delete,
                tenant: #tenant,
            };

            #[automatically_derived]
            impl #p::Model for #ident {
                type Fields = #fields_ident;
                type Pk = #pk_ty;

                const META: &'static #p::ModelMeta = &__ORM_META;

                fn statements() -> &'static #p::ModelStatements {
                    static STATEMENTS: #p::ModelStatements = #p::ModelStatements::new();
                    &STATEMENTS
                }

                fn fields() -> #fields_ident {
                    #fields_ident { #(#handle_inits,)* }
                }

                #[inline]
                fn from_row(row: &#p::Row, start: usize) -> #p::Result<Self> {
                    ::core::result::Result::Ok(Self { #(#decodes,)* })
                }

                fn from_row_at(row: &#p::Row, columns: &[usize]) -> #p::Result<Self> {
                    ::core::result::Result::Ok(Self { #(#decodes_at,)* })
                }

                fn field_value(&self, index: usize) -> #p::Value {
                    match index {
                        #(#values,)*
                        _ => ::core::unreachable!(#unreachable),
                    }
                }

                fn field_sql(&self, index: usize) -> &(dyn #p::ToSql + Sync) {
                    match index {
                        #(#sqls,)*
                        _ => ::core::unreachable!(#unreachable),
                    }
                }

                fn set_field(&mut self, index: usize, value: #p::Value) -> #p::Result<()> {
                    match index {
                        #(#sets,)*
                        _ => ::core::unreachable!(#unreachable),
                    }
                    ::core::result::Result::Ok(())
                }

                fn read_field(&mut self, index: usize, row: &#p::Row, at: usize) -> #p::Result<()> {
                    match index {
                        #(#reads,)*
                        _ => ::core::unreachable!(#unreachable),
                    }
                    ::core::result::Result::Ok(())
                }

                #[allow(unused_variables)]
                fn touch(&mut self, inserting: bool, now: #p::DateTime<#p::Utc>) {
                    #(#touches_always)*
                    if inserting {
                        #(#touches_insert)*
                    }
                }

                fn pk_is_unset(&self) -> bool {
                    #pk_unset
                }

                #validate_fn

                #hooks_fns

                #[allow(unused_variables)]
                fn attach_related(&mut self, relation: usize, related: #p::Related) -> #p::Result<()> {
                    match relation {
                        #(#attach_arms,)*
                        _ => ::core::result::Result::Ok(()),
                    }
                }

                #[allow(unused_variables)]
                fn related_mut(&mut self, relation: usize) -> ::std::vec::Vec<&mut (dyn ::core::any::Any + ::core::marker::Send)> {
                    match relation {
                        #(#related_arms,)*
                        _ => ::std::vec::Vec::new(),
                    }
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#accessors)*
            }

            #(#has_field)*

            #p::inventory::submit! {
                #p::ModelRegistration { meta: <#ident as #p::Model>::META }
            }

            #[allow(dead_code, clippy::no_effect_underscore_binding)]
            fn __orm_assertions() {
                #(#asserts)*
            }
        };
    }
}

fn respan(ts: TokenStream, span: proc_macro2::Span) -> TokenStream {
    ts.into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = proc_macro2::TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
