//! The metadata every layer reads: a model's table ([`ModelMeta`]) and
//! its fields ([`FieldMeta`]), as `#[derive(Model)]` declares them, and
//! the registry of the models linked into a binary. Plain data: it imports
//! nothing above the value types.

use crate::types::SqlType;

/// One field of a model: its column and how the schema declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMeta {
    /// The Rust field name (used in lookups: `name__icontains`).
    pub name: &'static str,
    /// The column name (`#[orm(column = "..")]`, default: the field name).
    pub column: &'static str,
    /// Its position in its model's [`ModelMeta::fields`]: how the field is
    /// told apart from the model's others (never by address: a constant's
    /// copies in two crates have two).
    pub position: usize,
    /// The PostgreSQL type.
    pub sql_type: SqlType,
    /// True for `Option<T>` fields.
    pub nullable: bool,
    /// True for the primary key.
    pub primary_key: bool,
    /// True for an integer primary key, an identity column filled on insert.
    pub auto: bool,
    /// `#[orm(unique)]`.
    pub unique: bool,
    /// `#[orm(index)]`.
    pub index: bool,
    /// `#[orm(max_length = n)]`: `varchar(n)`.
    pub max_length: Option<u32>,
    /// `#[orm(default = ..)]` as an SQL literal, used as the column's `DEFAULT`.
    pub default: Option<&'static str>,
    /// `#[orm(auto_now)]`: set to the current time on every save.
    pub auto_now: bool,
    /// `#[orm(auto_now_add)]`: set to the current time when first inserted.
    pub auto_now_add: bool,
    /// `#[orm(renamed_from = "..")]`: the column's previous name, so
    /// `makemigrations` renames it instead of dropping and adding.
    pub renamed_from: Option<&'static str>,
}

impl FieldMeta {
    /// The column's type as written in DDL (`varchar(30)`, `bigint`, ...).
    pub fn ddl_type(&self) -> String {
        self.sql_type.ddl(self.max_length)
    }
}

/// A model's table: its name, fields, and table-level constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelMeta {
    /// The Rust struct name.
    pub name: &'static str,
    /// The table name (`#[orm(table = "..")]`, default: snake_case of the struct name).
    pub table: &'static str,
    /// The fields, in declaration order (the order of the SELECT list).
    pub fields: &'static [FieldMeta],
    /// Index of the primary key in `fields`.
    pub pk: usize,
    /// `#[orm(unique_together(a, b))]`: column lists.
    pub unique_together: &'static [&'static [&'static str]],
    /// `#[orm(index(a, b))]`: column lists of composite indexes.
    pub indexes: &'static [&'static [&'static str]],
    /// Relation fields, in declaration order.
    pub relations: &'static [crate::relation::RelationMeta],
    /// `#[orm(renamed_from = "..")]`: the table's previous name, for
    /// `makemigrations`.
    pub renamed_from: Option<&'static str>,
}

impl ModelMeta {
    /// The relation called `name`.
    pub fn relation(&self, name: &str) -> Option<&'static crate::relation::RelationMeta> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// The relation whose key column is field `index`, if any.
    pub fn relation_of_field(
        &self,
        index: usize,
    ) -> Option<&'static crate::relation::RelationMeta> {
        self.relations.iter().find(|r| r.field == Some(index))
    }

    /// The primary key field.
    pub fn pk_field(&self) -> &'static FieldMeta {
        &self.fields[self.pk]
    }

    /// The field called `name` (`pk` names the primary key).
    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        if name == "pk" {
            return Some(self.pk_field());
        }
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field names, for error messages.
    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.to_owned()).collect()
    }
}

/// A registered model, collected by [`generate_schemas`](crate::generate_schemas).
#[doc(hidden)]
#[derive(Debug)]
pub struct ModelRegistration {
    pub meta: &'static ModelMeta,
}

inventory::collect!(ModelRegistration);

/// What a command that needs the models found when none is linked into the
/// binary, and how to link them.
pub(crate) const NO_MODELS_LINKED: &str =
    "no models are linked into this binary. A binary links only the crates it names: \
     if the models are in your library crate (src/lib.rs), add `use your_crate as _;` \
     to this binary (src/bin/manage.rs, src/main.rs), with the library's crate name \
     (the package name, `-` written `_`)";

/// Every model linked into this binary, in no particular order.
pub fn registered_models() -> impl Iterator<Item = &'static ModelMeta> {
    inventory::iter::<ModelRegistration>
        .into_iter()
        .map(|r| r.meta)
}
