//! The model's IR: borrowed from the user's tokens so errors point at them.

use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, FieldAttrs, ModelAttrs};
use crate::ctxt::Ctxt;

pub(crate) struct Model<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub attrs: ModelAttrs,
    pub fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    pub relation: Option<Relation<'a>>,
}

/// The kind of a relation field, from the type as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelationKind {
    ForeignKey,
    OneToOne,
    ManyToMany,
    Reverse,
}

impl RelationKind {
    pub(crate) fn variant(self) -> &'static str {
        match self {
            RelationKind::ForeignKey => "ForeignKey",
            RelationKind::OneToOne => "OneToOne",
            RelationKind::ManyToMany => "ManyToMany",
            RelationKind::Reverse => "Reverse",
        }
    }

    /// True for the kinds stored in a column of this table.
    pub(crate) fn is_column(self) -> bool {
        matches!(self, RelationKind::ForeignKey | RelationKind::OneToOne)
    }
}

/// A relation field: `ForeignKey<T>`, `OneToOne<T>` (or an `Option` of
/// either), `ManyToMany<T>`, `Reverse<T>`.
pub(crate) struct Relation<'a> {
    pub kind: RelationKind,
    pub target: &'a Type,
    pub nullable: bool,
    /// `ReverseOne<T>`: the reverse side of a one-to-one.
    pub one: bool,
}

/// The single generic argument of `Name<T>`, when the last segment is `name`.
fn generic_of<'a>(ty: &'a Type, names: &[&str]) -> Option<(&'a Type, String)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    if !names.contains(&name.as_str()) {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) if args.args.len() == 1 => Some((t, name)),
        _ => None,
    }
}

/// `T` when `ty` is written `Option<T>`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    generic_of(ty, &["Option"]).map(|(inner, _)| inner)
}

fn relation_of(ty: &Type) -> Option<Relation<'_>> {
    const KINDS: &[&str] = &[
        "ForeignKey",
        "OneToOne",
        "ManyToMany",
        "Reverse",
        "ReverseOne",
    ];
    let (ty, nullable) = match generic_of(ty, &["Option"]) {
        Some((inner, _)) => (inner, true),
        None => (ty, false),
    };
    let (target, name) = generic_of(ty, KINDS)?;
    let kind = match name.as_str() {
        "ForeignKey" => RelationKind::ForeignKey,
        "OneToOne" => RelationKind::OneToOne,
        "ManyToMany" => RelationKind::ManyToMany,
        _ => RelationKind::Reverse,
    };
    Some(Relation {
        kind,
        target,
        nullable,
        one: name == "ReverseOne",
    })
}

impl Field<'_> {
    /// The field's name without a raw-identifier prefix.
    pub(crate) fn name(&self) -> String {
        unraw(self.ident)
    }

    pub(crate) fn column(&self) -> String {
        match &self.attrs.column {
            Some(column) => column.value(),
            // Django: a foreign key `author` is stored in `author_id`.
            None if self.relation.as_ref().is_some_and(|r| r.kind.is_column()) => {
                format!("{}_id", self.name())
            }
            None => self.name(),
        }
    }

    /// True for fields stored in a column (all but many-to-many and reverse).
    pub(crate) fn is_column(&self) -> bool {
        self.relation.as_ref().is_none_or(|r| r.kind.is_column())
    }
}

pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

impl<'a> Model<'a> {
    /// Parses a struct. Every error is recorded in `cx`; `None` when the
    /// input is not a struct with named fields (nothing else is checked).
    pub(crate) fn from_input(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Model<'a>> {
        let Data::Struct(data) = &input.data else {
            cx.error_spanned_by(
                &input.ident,
                "#[derive(Model)] works on structs with named fields; use #[derive(DbEnum)] for enums",
            );
            return None;
        };
        let named = match &data.fields {
            Fields::Named(named) => named,
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    "#[derive(Model)] needs named fields: a tuple struct has no column names\n\
                     help: write `struct User { id: i64, .. }`",
                );
                return None;
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Model)] needs named fields, one per column",
                );
                return None;
            }
        };
        // The attributes are still checked: every mistake at once.
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "#[derive(Model)] does not support generic structs",
            );
        }
        let attrs = attr::model_attrs(cx, &input.attrs);
        let fields = named
            .named
            .iter()
            .filter_map(|f| {
                Some(Field {
                    ident: f.ident.as_ref()?,
                    ty: &f.ty,
                    attrs: attr::field_attrs(cx, &f.attrs),
                    relation: relation_of(&f.ty),
                })
            })
            .collect();
        Some(Model {
            ident: &input.ident,
            vis: &input.vis,
            attrs,
            fields,
        })
    }

    /// The field `#[orm(soft_delete)]` names (`deleted_at` by default).
    pub(crate) fn soft_delete_field(&self) -> Option<&Field<'a>> {
        let (_, named) = self.attrs.soft_delete.as_ref()?;
        let name = named
            .as_ref()
            .map_or_else(|| "deleted_at".to_owned(), syn::LitStr::value);
        self.fields.iter().find(|f| unraw(f.ident) == name)
    }

    pub(crate) fn table(&self) -> String {
        self.attrs
            .table
            .as_ref()
            .map(syn::LitStr::value)
            .unwrap_or_else(|| orm_names::snake_case(&unraw(self.ident)))
    }

    pub(crate) fn pk_index(&self) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.attrs.primary_key.is_some())
    }
}
