//! Cross-field rules of a model, checked before anything is generated.

use std::collections::HashMap;

use syn::Type;

use crate::ast::Model;
use crate::ctxt::Ctxt;

/// True when the type is written `Option<..>` (the nullable form).
pub(crate) fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Option"),
        _ => false,
    }
}

pub(crate) fn check(cx: &mut Ctxt, model: &Model<'_>) {
    check_soft_delete(cx, model);
    check_tenant(cx, model);
    let pks: Vec<_> = model
        .fields
        .iter()
        .filter(|f| f.attrs.primary_key.is_some())
        .collect();
    let had_errors = cx.has_errors();
    match pks.as_slice() {
        [] if had_errors => {}
        [] => cx.error_spanned_by(
            model.ident,
            format!(
                "model `{}` has no primary key\n\
                 help: mark one field `#[orm(primary_key)]`, e.g. `#[orm(primary_key)] id: i64`",
                model.ident
            ),
        ),
        [pk] => {
            if is_option(pk.ty) {
                cx.error_spanned_by(
                    pk.ty,
                    "a primary key cannot be an `Option`: it is never NULL",
                );
            }
        }
        // A composite primary key (Django 5.2's `CompositePrimaryKey`):
        // its fields in declaration order.
        keys => {
            for pk in keys {
                if is_option(pk.ty) {
                    cx.error_spanned_by(
                        pk.ty,
                        "a field of a primary key cannot be an `Option`: it is never NULL",
                    );
                }
                if pk.relation.as_ref().is_some_and(|r| !r.kind.is_column()) {
                    cx.error_spanned_by(
                        pk.ty,
                        "a field of a composite primary key is a column: a value or a \
                         ForeignKey / OneToOne, not a ManyToMany or Reverse relation",
                    );
                }
            }
            for field in &model.fields {
                if let Some(rel) = &field.relation {
                    if rel.kind == crate::ast::RelationKind::ManyToMany {
                        cx.error_spanned_by(
                            field.ty,
                            "a ManyToMany cannot start from a model with a composite primary \
                             key (as in Django 5.2); declare it on the other model",
                        );
                    }
                }
            }
        }
    }

    let mut columns: HashMap<String, &syn::Ident> = HashMap::new();
    for field in &model.fields {
        let name = field.name();
        if name.contains("__") {
            cx.error_spanned_by(
                field.ident,
                "field names cannot contain `__`: it separates fields from lookups in `q!`",
            );
        }
        if name == "pk" && (field.attrs.primary_key.is_none() || pks.len() > 1) {
            cx.error_spanned_by(field.ident, "`pk` names the primary key; rename this field");
        }
        let column = field.column();
        if let Some(first) = columns.insert(column.clone(), field.ident) {
            cx.error_spanned_by(
                field.ident,
                format!("column `{column}` is already used by field `{first}`"),
            );
        }
        if let (Some(a), Some(_)) = (&field.attrs.auto_now, &field.attrs.auto_now_add) {
            cx.error_spanned_by(a, "use either `auto_now` or `auto_now_add`, not both");
        }
        if let Some(pk) = &field.attrs.primary_key {
            if field.attrs.default.is_some() {
                cx.error_spanned_by(pk, "a primary key cannot have a `default`");
            }
            if field.relation.is_some() && pks.len() == 1 {
                cx.error_spanned_by(
                    field.ty,
                    "a primary key cannot be a relation (a composite key's fields can be)",
                );
            }
        }
        check_relation(cx, field);
        check_decimal(cx, &field.attrs);
    }

    let known: Vec<String> = model.fields.iter().map(|f| f.name()).collect();
    let lists = model
        .attrs
        .unique_together
        .iter()
        .map(|l| ("unique_together", l))
        .chain(model.attrs.indexes.iter().map(|l| ("index", l)));
    for (what, list) in lists {
        if list.len() < 2 && what == "unique_together" {
            if let Some(first) = list.first() {
                cx.error_spanned_by(
                    first,
                    "unique_together takes two or more fields; use `#[orm(unique)]` on one field",
                );
            }
        }
        if list.is_empty() {
            cx.error_spanned_by(
                model.ident,
                format!("`{what}(..)` needs at least one field"),
            );
        }
        for (i, ident) in list.iter().enumerate() {
            if list[..i].contains(ident) {
                cx.error_spanned_by(ident, format!("`{ident}` is listed twice in `{what}`"));
            }
            if !known.contains(&crate::ast::unraw(ident)) {
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`{what}` names `{ident}`, which is not a field of `{}`; fields: {}",
                        model.ident,
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// `max_digits` and `decimal_places` come together (Django's DecimalField
/// requires both), the places no more than the digits (Django's
/// fields.E134, PostgreSQL's numeric scale).
fn check_decimal(cx: &mut Ctxt, a: &crate::attr::FieldAttrs) {
    match (a.max_digits, a.decimal_places) {
        (Some((_, span)), None) => cx.push(syn::Error::new(
            span,
            "`max_digits` needs `decimal_places` too: `#[orm(max_digits = 10, decimal_places = 2)]` \
             (or neither, for an unconstrained `numeric`)",
        )),
        (None, Some((_, span))) => cx.push(syn::Error::new(
            span,
            "`decimal_places` needs `max_digits` too: `#[orm(max_digits = 10, decimal_places = 2)]` \
             (or neither, for an unconstrained `numeric`)",
        )),
        (Some((p, _)), Some((s, span))) if s > p => cx.push(syn::Error::new(
            span,
            format!("`decimal_places` ({s}) cannot be more than `max_digits` ({p})"),
        )),
        _ => {}
    }
}

fn check_relation(cx: &mut Ctxt, field: &crate::ast::Field<'_>) {
    use crate::ast::RelationKind;
    let a = &field.attrs;
    let kind = field.relation.as_ref().map(|r| r.kind);
    let is_fk = kind.is_some_and(RelationKind::is_column);
    if let Some((variant, lit)) = &a.on_delete {
        if !is_fk {
            cx.error_spanned_by(lit, "`on_delete` applies to ForeignKey and OneToOne fields");
        } else if *variant == "SetNull" && !field.relation.as_ref().is_some_and(|r| r.nullable) {
            cx.error_spanned_by(
                lit,
                "`on_delete = \"set_null\"` needs a nullable key: write `Option<ForeignKey<..>>`",
            );
        }
    }
    if let Some(lit) = &a.through {
        if kind != Some(RelationKind::ManyToMany) {
            cx.error_spanned_by(lit, "`through` applies to ManyToMany fields");
        }
    }
    if let Some(lit) = &a.related_name {
        if !matches!(
            kind,
            Some(RelationKind::ForeignKey | RelationKind::OneToOne | RelationKind::ManyToMany)
        ) {
            cx.error_spanned_by(
                lit,
                "`related_name` applies to ForeignKey, OneToOne and ManyToMany fields",
            );
        }
    }
    if !field.is_column() {
        let column_only = [
            (a.column.is_some(), "column"),
            (a.unique, "unique"),
            (a.index, "index"),
            (a.default.is_some(), "default"),
            (a.max_length.is_some(), "max_length"),
            (a.max_digits.is_some(), "max_digits"),
            (a.decimal_places.is_some(), "decimal_places"),
            (a.citext.is_some(), "citext"),
            (a.renamed_from.is_some(), "renamed_from"),
        ];
        for (set, key) in column_only {
            if set {
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "`{key}` does not apply to `{}`: it is not a column",
                        field.name()
                    ),
                );
            }
        }
        if field.relation.as_ref().is_some_and(|r| r.nullable) {
            cx.error_spanned_by(
                field.ty,
                "ManyToMany and Reverse fields are never `Option`s",
            );
        }
    }
}

/// `#[orm(soft_delete)]` names a field of type `Option<DateTime<Utc>>`
/// (`deleted_at` unless `soft_delete = ".."` names another).
fn check_soft_delete(cx: &mut Ctxt, model: &Model<'_>) {
    let Some((span, named)) = &model.attrs.soft_delete else {
        return;
    };
    let name = named
        .as_ref()
        .map_or_else(|| "deleted_at".to_owned(), syn::LitStr::value);
    let at = named.as_ref().map_or(*span, syn::LitStr::span);
    let Some(field) = model.soft_delete_field() else {
        cx.push(syn::Error::new(
            at,
            format!(
                "`soft_delete` needs a field `{name}: Option<DateTime<Utc>>` (the time a row was \
                 deleted, NULL while it is not)\n\
                 help: add `pub {name}: Option<DateTime<Utc>>`, or name another field with \
                 `#[orm(soft_delete = \"<field>\")]`"
            ),
        ));
        return;
    };
    let timestamp = crate::ast::option_inner(field.ty).is_some_and(|inner| match inner {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "DateTime"),
        _ => false,
    });
    if !timestamp || field.relation.is_some() || field.attrs.primary_key.is_some() {
        cx.error_spanned_by(
            field.ty,
            format!(
                "the soft delete field `{name}` must be `Option<DateTime<Utc>>`: a nullable \
                 timestamp, NULL while the row is not deleted"
            ),
        );
    }
}

/// `#[orm(tenant)]`: on one column field at most, never NULL, not the
/// model's one-field key; `rls` only beside it. (Its type is checked by
/// the expansion, at the attribute: `orm_core::tenant::TenantKey`.)
fn check_tenant(cx: &mut Ctxt, model: &Model<'_>) {
    let mut first: Option<String> = None;
    let one_pk = model
        .fields
        .iter()
        .filter(|f| f.attrs.primary_key.is_some())
        .count()
        == 1;
    for field in model.fields.iter() {
        let a = &field.attrs;
        if let (Some(rls), None) = (&a.rls, &a.tenant) {
            cx.error_spanned_by(
                rls,
                "`rls` goes beside `tenant` on the tenant field: `#[orm(tenant, rls)]`",
            );
        }
        let Some(flag) = &a.tenant else { continue };
        if let Some(name) = &first {
            cx.error_spanned_by(
                flag,
                format!("a model has one tenant field, and `{name}` is already its tenant"),
            );
            continue;
        }
        first = Some(field.name());
        if !field.is_column() {
            cx.error_spanned_by(
                flag,
                "the tenant field is a column: a value (`i64`, `i32`, `Uuid`, `String`) or a \
                 ForeignKey to the tenant model, not a ManyToMany or Reverse relation",
            );
        } else if is_option(field.ty) {
            cx.error_spanned_by(
                flag,
                "the tenant field cannot be an `Option`: every row has its tenant",
            );
        } else if one_pk && a.primary_key.is_some() {
            cx.error_spanned_by(
                flag,
                "the tenant field is not the model's primary key (a composite key may include it)",
            );
        }
    }
}
