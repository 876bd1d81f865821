//! The metadata every layer reads: a model's table ([`ModelMeta`]) and
//! its fields ([`FieldMeta`]), as `#[derive(Model)]` declares them, and
//! the registry of the models linked into a binary, and the limits on
//! names given at run time. Plain data: it imports nothing above the value
//! types and the errors.

use crate::error::{Error, Result};
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
    /// True for the primary key of a model keyed by this one field. The
    /// fields of a composite key are listed in [`ModelMeta::pk_fields`] and
    /// are not marked here: none of them identifies a row alone.
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
    /// `#[orm(max_digits = p)]` of a `Decimal` field: `numeric(p, s)`.
    pub max_digits: Option<u32>,
    /// `#[orm(decimal_places = s)]` of a `Decimal` field: `numeric(p, s)`.
    pub decimal_places: Option<u32>,
}

impl FieldMeta {
    /// The column's type as written in DDL (`varchar(30)`, `bigint`,
    /// `numeric(10,2)`, ...).
    pub fn ddl_type(&self) -> String {
        match (self.sql_type, self.max_digits, self.decimal_places) {
            (SqlType::Numeric, Some(p), Some(s)) => format!("numeric({p},{s})"),
            _ => self.sql_type.ddl(self.max_length),
        }
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
    /// Index of the primary key in `fields`; for a composite key, of its
    /// first field (use [`pk_fields`](ModelMeta::pk_fields) for all).
    pub pk: usize,
    /// Indexes in `fields` of the primary key's fields, in key order: one
    /// for an ordinary key, several for a composite one (fields marked
    /// `#[orm(primary_key)]` more than once, as Django 5.2's
    /// `CompositePrimaryKey`).
    pub pk_fields: &'static [usize],
    /// `#[orm(unique_together(a, b))]`: column lists.
    pub unique_together: &'static [&'static [&'static str]],
    /// `#[orm(index(a, b))]`: column lists of composite indexes.
    pub indexes: &'static [&'static [&'static str]],
    /// Relation fields, in declaration order.
    pub relations: &'static [crate::relation::RelationMeta],
    /// `#[orm(renamed_from = "..")]`: the table's previous name, for
    /// `makemigrations`.
    pub renamed_from: Option<&'static str>,
    /// `#[orm(index(.., using = "gin"))]` and the other indexes with
    /// options (Django's `GinIndex`, `opclasses`, an index on a
    /// `SearchVector`).
    pub index_options: &'static [IndexMeta],
    /// `#[orm(soft_delete)]`: the index in `fields` of the nullable
    /// timestamp (`deleted_at`, or the field named by `soft_delete =
    /// ".."`) that marks a row deleted; see the crate docs' "Soft delete".
    pub soft_delete: Option<usize>,
    /// `#[orm(tenant)]`: the model's tenant field, by which every statement
    /// on it is filtered and stamped ([`crate::tenant`]).
    pub tenant: Option<TenantMeta>,
}

/// A tenant model's tenant field (`#[orm(tenant)]`, `#[orm(tenant, rls)]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantMeta {
    /// Its index in [`ModelMeta::fields`].
    pub field: usize,
    /// `rls`: migrations enable PostgreSQL's row-level security on the
    /// table, with a policy keyed on the `orm.tenant` setting.
    pub rls: bool,
}

/// A model-level index with options: `#[orm(index(tags, using = "gin"))]`,
/// `#[orm(index(name, opclasses = ["text_pattern_ops"]))]`,
/// `#[orm(index(search_vector(title, body), config = "english", using = "gin"))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexMeta {
    /// The columns, in order.
    pub columns: &'static [&'static str],
    /// The index method (`btree`, `hash`, `gist`, `gin`, `brin`); `None`:
    /// PostgreSQL's default, `btree`.
    pub using: Option<&'static str>,
    /// One operator class per column, or none.
    pub opclasses: &'static [&'static str],
    /// An index on `to_tsvector(config, COALESCE(a, '') || ' ' || ..)` of
    /// the columns (Django's `GinIndex(SearchVector(..., config=..))`).
    pub search: bool,
    /// The text search configuration of a `search` index.
    pub config: Option<&'static str>,
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

    /// The primary key field; for a composite key, its first field, which
    /// alone does not identify a row: code that works on any model checks
    /// [`has_composite_pk`](ModelMeta::has_composite_pk) first.
    pub fn pk_field(&self) -> &'static FieldMeta {
        &self.fields[self.pk]
    }

    /// True when the primary key has several fields.
    pub fn has_composite_pk(&self) -> bool {
        self.pk_fields.len() > 1
    }

    /// True when field `position` is (part of) the primary key.
    pub fn is_pk_field(&self, position: usize) -> bool {
        self.pk_fields.contains(&position)
    }

    /// The fields of the primary key, in key order.
    pub fn pk_field_metas(&self) -> impl Iterator<Item = &'static FieldMeta> + '_ {
        let fields = self.fields;
        self.pk_fields.iter().filter_map(move |&i| fields.get(i))
    }

    /// Indexes of the fields a write by key names its row with: the
    /// primary key's, then a tenant model's tenant field when the key does
    /// not include it (so that `save()`/`delete()` of an object touch its
    /// row only in its tenant).
    pub fn row_key_fields(&self) -> impl Iterator<Item = usize> + '_ {
        let tenant = self
            .tenant
            .map(|t| t.field)
            .filter(|&i| !self.is_pk_field(i));
        self.pk_fields.iter().copied().chain(tenant)
    }

    /// The field called `name`: `pk` names the primary key (when it is one
    /// field: a composite `pk` is no one field), and a foreign key or
    /// one-to-one is also found by its column (`author_id` for `author`,
    /// Django's `attname`), unless another field has that name.
    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        if name == "pk" {
            return (!self.has_composite_pk()).then(|| self.pk_field());
        }
        self.fields
            .iter()
            .find(|f| f.name == name)
            .or_else(|| self.key_field_by_column(name))
    }

    /// The key field of a foreign key or one-to-one whose column is
    /// `column`.
    fn key_field_by_column(&self, column: &str) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|f| {
            f.column == column
                && self.relation_of_field(f.position).is_some_and(|r| {
                    matches!(
                        r.kind,
                        crate::relation::RelationKind::ForeignKey
                            | crate::relation::RelationKind::OneToOne
                    )
                })
        })
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

/// The longest name an annotation, alias or join may have: PostgreSQL's
/// `NAMEDATALEN` - 1, past which it would cut the name.
pub(crate) const MAX_ALIAS_LEN: usize = 63;

/// The longest name or `__` path the query API takes at run time, in
/// bytes: longer ones are refused before they are split.
pub const MAX_NAME_LEN: usize = 1024;

/// The most relations a path given at run time may cross
/// (`select_related`, `prefetch_related`, aggregate and `F()` paths); a
/// lookup key crosses at most 4.
pub const MAX_RELATIONS: usize = 16;

/// `name` as an error message shows it: cut after 64 characters (with its
/// length), so that a huge input does not make a huge message.
pub(crate) fn shown(name: &str) -> String {
    const SHOWN: usize = 64;
    match name.char_indices().nth(SHOWN) {
        None => name.to_owned(),
        Some((at, _)) => format!("{}… ({} bytes)", &name[..at], name.len()),
    }
}

/// The relation names of `meta`, for error messages.
pub(crate) fn relation_names(meta: &ModelMeta) -> Vec<String> {
    meta.relations.iter().map(|r| r.name.to_owned()).collect()
}

/// Refuses a name or path given at run time that is longer than
/// [`MAX_NAME_LEN`], in constant time, before anything is built from it.
///
/// # Errors
/// [`Error::InvalidLookup`] naming `meta`, the (shortened) name and `valid()`.
pub(crate) fn check_len(
    meta: &ModelMeta,
    what: &'static str,
    name: &str,
    valid: impl FnOnce() -> Vec<String>,
) -> Result<()> {
    if name.len() <= MAX_NAME_LEN {
        return Ok(());
    }
    Err(Error::from(crate::error::LookupError {
        model: meta.name,
        what,
        name: format!("{} (longer than {MAX_NAME_LEN} bytes)", shown(name)),
        valid: valid(),
    }))
}

/// The error for `segment`, a relation of `meta` one past
/// [`MAX_RELATIONS`] in a path.
pub(crate) fn too_deep(meta: &ModelMeta, what: &'static str, segment: &str) -> Error {
    Error::from(crate::error::LookupError {
        model: meta.name,
        what,
        name: format!("{} (past {MAX_RELATIONS} relations)", shown(segment)),
        valid: vec![format!("paths of at most {MAX_RELATIONS} relations")],
    })
}
