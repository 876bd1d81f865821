//! Reading columns rather than models: `values_list` (typed tuples),
//! `values_list_flat`, and `aggregate` (Django's `field__sum` names).

use std::sync::Arc;

use postgres_types::FromSql;
use tokio_postgres::Row;

use crate::error::{Error, Result};
use crate::meta::{check_len, relation_names, shown, too_deep, MAX_RELATIONS};
use crate::meta::{FieldMeta, ModelMeta};
pub(crate) use crate::sql::aggregate::{Function, Resolved};
use crate::sql::tree::Node;
use crate::types::{FromValue, SqlType};
use crate::value::Value;

/// A row decoded into a tuple by column position (`(i64, String)`, ...).
pub trait FromRowTuple: Sized + Send {
    /// How many columns the tuple takes.
    const WIDTH: usize;
    /// Decodes the tuple; `names` label the columns in errors.
    fn from_row(row: &Row, names: &[&'static str], model: &'static str) -> Result<Self>;
}

macro_rules! tuple {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t),+> FromRowTuple for ($($t,)+)
        where
            $($t: for<'a> FromSql<'a> + Send),+
        {
            const WIDTH: usize = $n;
            fn from_row(row: &Row, names: &[&'static str], model: &'static str) -> Result<Self> {
                Ok(($(
                    row.try_get::<_, $t>($i).map_err(|source| Error::from(crate::error::DecodeError {
                        model,
                        column: names.get($i).copied().unwrap_or("?"),
                        source,
                    }))?,
                )+))
            }
        }
    };
}

tuple!(1; A 0);
tuple!(2; A 0, B 1);
tuple!(3; A 0, B 1, C 2);
tuple!(4; A 0, B 1, C 2, D 3);
tuple!(5; A 0, B 1, C 2, D 3, E 4);
tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// Field names for `values_list`: one name, an array, or a tuple of names.
pub trait FieldNames {
    /// The names, in order.
    fn names(&self) -> Vec<&str>;
}

impl FieldNames for &str {
    fn names(&self) -> Vec<&str> {
        vec![self]
    }
}
impl<const N: usize> FieldNames for [&str; N] {
    fn names(&self) -> Vec<&str> {
        self.to_vec()
    }
}
macro_rules! name_tuple {
    ($($i:tt),+) => {
        impl FieldNames for ($(name_tuple!(@str $i),)+) {
            fn names(&self) -> Vec<&str> {
                vec![$(self.$i),+]
            }
        }
    };
    (@str $i:tt) => { &'static str };
}
name_tuple!(0, 1);
name_tuple!(0, 1, 2);
name_tuple!(0, 1, 2, 3);
name_tuple!(0, 1, 2, 3, 4);
name_tuple!(0, 1, 2, 3, 4, 5);

/// Resolves field names against `meta`.
pub(crate) fn resolve_fields(
    meta: &'static ModelMeta,
    names: &[&str],
) -> Result<Vec<&'static FieldMeta>> {
    names
        .iter()
        .map(|name| {
            meta.field(name).ok_or_else(|| {
                Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: "field",
                    name: shown(name),
                    valid: meta.field_names(),
                })
            })
        })
        .collect()
}

pub(crate) use crate::meta::MAX_ALIAS_LEN;

/// Checks a name the caller gives to a result column (an aggregate's
/// `alias`, an `annotate_expr` name), as Django checks annotation names:
/// an identifier (`[A-Za-z_][A-Za-z0-9_]*`, ASCII) without `__` (the
/// separator of lookups on it, `n__gte`), of at most [`MAX_ALIAS_LEN`]
/// bytes, so that the server never sees an empty, cut or odd name.
///
/// # Errors
/// [`Error::InvalidQuery`] naming the model, `what` and the name.
pub(crate) fn check_alias(meta: &ModelMeta, what: &str, name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let why = match bytes.first() {
        None => "it is empty",
        Some(_) if bytes.len() > MAX_ALIAS_LEN => "it is longer than 63 bytes",
        Some(first) if first.is_ascii_digit() => "it starts with a digit",
        Some(_)
            if !bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
        {
            "only ASCII letters, digits and `_` are allowed"
        }
        Some(_) if name.contains("__") => "it contains `__`, the lookup separator",
        Some(_) => return Ok(()),
    };
    Err(Error::from(crate::error::QueryError {
        model: meta.name,
        reason: format!(
            "{what} {:?} is not a valid name: {why} (a name is an identifier, \
             [A-Za-z_][A-Za-z0-9_]*, without `__`, of at most {MAX_ALIAS_LEN} bytes)",
            shown(name)
        ),
    }))
}

/// An aggregate over a field, for [`QuerySet::aggregate`](crate::QuerySet::aggregate),
/// [`QuerySet::annotate`](crate::QuerySet::annotate) and
/// [`ValuesQuery::annotate`](crate::query::ValuesQuery::annotate).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub(crate) function: Function,
    pub(crate) field: String,
    pub(crate) distinct: bool,
    pub(crate) alias: Option<String>,
    /// `default=`: the value instead of NULL over no rows.
    pub(crate) default: Option<Value>,
    /// `sample()` on an aggregate without a sample form.
    pub(crate) sample_misused: bool,
    /// `filter=`: the condition and the model it is on.
    pub(crate) filter: Option<(Node, &'static ModelMeta)>,
    /// `ordering=`: names, `-` for descending.
    pub(crate) ordering: Vec<String>,
    /// `StringAgg`'s delimiter.
    pub(crate) delimiter: Option<String>,
}

fn aggregate(function: Function, field: &str) -> Aggregate {
    Aggregate {
        function,
        field: field.to_owned(),
        distinct: false,
        alias: None,
        default: None,
        sample_misused: false,
        filter: None,
        ordering: Vec::new(),
        delimiter: None,
    }
}

/// `COUNT(field)` (`"*"` or `"pk"` count rows); named `field__count`.
#[allow(non_snake_case)]
pub fn Count(field: &str) -> Aggregate {
    aggregate(Function::Count, field)
}
/// `SUM(field)`; named `field__sum`. NULL (None) over no rows.
#[allow(non_snake_case)]
pub fn Sum(field: &str) -> Aggregate {
    aggregate(Function::Sum, field)
}
/// `AVG(field)` as a double; named `field__avg`. NULL over no rows.
#[allow(non_snake_case)]
pub fn Avg(field: &str) -> Aggregate {
    aggregate(Function::Avg, field)
}
/// `MIN(field)`; named `field__min`.
#[allow(non_snake_case)]
pub fn Min(field: &str) -> Aggregate {
    aggregate(Function::Min, field)
}
/// `MAX(field)`; named `field__max`.
#[allow(non_snake_case)]
pub fn Max(field: &str) -> Aggregate {
    aggregate(Function::Max, field)
}
/// The population standard deviation, `STDDEV_POP(field)` (`.sample()`:
/// `STDDEV_SAMP`), as a double; named `field__stddev`, as Django's
/// `StdDev`. NULL over no rows.
#[allow(non_snake_case)]
pub fn StdDev(field: &str) -> Aggregate {
    aggregate(Function::StdDev { sample: false }, field)
}
/// The population variance, `VAR_POP(field)` (`.sample()`: `VAR_SAMP`), as
/// a double; named `field__variance`, as Django's `Variance`.
#[allow(non_snake_case)]
pub fn Variance(field: &str) -> Aggregate {
    aggregate(Function::Variance { sample: false }, field)
}
/// `BOOL_AND(field)` of a `bool` field: true when every value is;
/// named `field__booland` (`django.contrib.postgres`' `BoolAnd`).
#[allow(non_snake_case)]
pub fn BoolAnd(field: &str) -> Aggregate {
    aggregate(Function::BoolAnd, field)
}
/// `BOOL_OR(field)` of a `bool` field: true when some value is; named
/// `field__boolor` (`django.contrib.postgres`' `BoolOr`).
#[allow(non_snake_case)]
pub fn BoolOr(field: &str) -> Aggregate {
    aggregate(Function::BoolOr, field)
}

/// `STRING_AGG(field, $delimiter)`: the text values of a text field joined
/// by `delimiter` (a bound value), as `django.contrib.postgres`'
/// `StringAgg`; named `field__stringagg`. NULL (None) over no rows, as in
/// Django 5, unless a [`default`](Aggregate::default) is given. Takes
/// [`ordering`](Aggregate::ordering), [`distinct`](Aggregate::distinct)
/// and [`filter`](Aggregate::filter).
#[allow(non_snake_case)]
pub fn StringAgg(field: &str, delimiter: &str) -> Aggregate {
    Aggregate {
        delimiter: Some(delimiter.to_owned()),
        ..aggregate(Function::StringAgg, field)
    }
}
/// `ARRAY_AGG(field)`: the values as an array, read as `Vec<T>` (or
/// `Option<Vec<T>>`, `Vec<Option<T>>` for a nullable field), as
/// `django.contrib.postgres`' `ArrayAgg`; named `field__arrayagg`. NULL
/// over no rows, as in Django 5 (`.default(Value::Array(vec![]))` gives
/// an empty array). Takes [`ordering`](Aggregate::ordering),
/// [`distinct`](Aggregate::distinct) and [`filter`](Aggregate::filter).
#[allow(non_snake_case)]
pub fn ArrayAgg(field: &str) -> Aggregate {
    aggregate(Function::ArrayAgg, field)
}
/// `JSONB_AGG(field)`: the values as a JSON array (`serde_json::Value`), as
/// `django.contrib.postgres`' `JSONBAgg`; named `field__jsonbagg`. NULL over
/// no rows, as in Django 5 (`.default(serde_json::json!([]))` gives `[]`).
/// Takes [`ordering`](Aggregate::ordering), [`distinct`](Aggregate::distinct)
/// and [`filter`](Aggregate::filter).
#[allow(non_snake_case)]
pub fn JSONBAgg(field: &str) -> Aggregate {
    aggregate(Function::JsonbAgg, field)
}

impl Aggregate {
    /// Over distinct values only (`COUNT(DISTINCT field)`, `SUM(DISTINCT
    /// field)`, ...), as Django's `distinct=True`: for `Count` (of a field,
    /// not `"*"`), `Sum`, `Avg`, `StringAgg`, `ArrayAgg` and `JSONBAgg`.
    /// Django refuses it for the others (`Min`/`Max` and `BoolAnd`/`BoolOr`
    /// give the same answer without it), and so do we, as
    /// [`Error::InvalidQuery`] when the query runs.
    #[must_use]
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// The value over no rows instead of NULL, as Django's `default=`
    /// (`COALESCE(SUM(..), $n)`): `Sum("views").default(0)`. `Count` has
    /// none (it counts 0), as in Django.
    #[must_use]
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// The sample form of [`StdDev`] and [`Variance`] (`STDDEV_SAMP`,
    /// `VAR_SAMP`), as Django's `sample=True`; another aggregate is
    /// refused when the query runs.
    #[must_use]
    pub fn sample(mut self) -> Self {
        match &mut self.function {
            Function::StdDev { sample } | Function::Variance { sample } => *sample = true,
            _ => self.sample_misused = true,
        }
        self
    }

    /// Aggregates only the rows matching `q`, as Django's `filter=Q(..)`:
    /// `FUNC(..) FILTER (WHERE ..)`. The condition is on the queried model
    /// `M` (as Django's): in `Author::all().annotate([Count("posts")
    /// .filter::<Author>(q!(posts__published = true))])`, `posts__published`
    /// is the counted post's column. Lookups along the aggregate's own
    /// relations name the rows it reads (also under `!`); lookups reaching
    /// further (`posts__tags__name`) are `EXISTS` from those rows (Django
    /// joins them, which repeats a post per matching tag: the answer here
    /// is Django's `distinct=True` one); lookups on `M`'s own fields name
    /// the queried row. With [`default`](Aggregate::default):
    /// `COALESCE(SUM(..) FILTER (WHERE ..), $n)`. Rows the query's own
    /// filter drops are not aggregated either way.
    ///
    /// `M` is usually named (`filter::<Author>(q!(..))`) or comes from a
    /// typed `Q<Author>`; a condition on another model than the queried
    /// one is reported as [`Error::InvalidQuery`] when the query runs.
    #[must_use]
    pub fn filter<M: crate::Model>(mut self, q: impl crate::query::IntoQ<M>) -> Self {
        let node = q.into_q().node;
        self.filter = Some(match self.filter.take() {
            // Two calls: both conditions hold (Django keeps one `filter=`).
            Some((earlier, meta)) if std::ptr::eq(meta, M::META) => (earlier.and(node), meta),
            _ => (node, M::META),
        });
        self
    }

    /// Orders the collected values, as Django's `ordering=` of `StringAgg`,
    /// `ArrayAgg` and `JSONBAgg`: names of fields (`"-views"` descending)
    /// of the queried model or, through the aggregate's own relations, of
    /// the rows it reads (`ArrayAgg("posts__title").ordering(["-posts__views"])`).
    /// With [`distinct`](Aggregate::distinct) PostgreSQL only orders by the
    /// aggregated field itself. Another name, or ordering another
    /// aggregate, is reported as [`Error::InvalidQuery`] or
    /// [`Error::InvalidLookup`] when the query runs.
    #[must_use]
    pub fn ordering<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.ordering.extend(names.into_iter().map(Into::into));
        self
    }

    /// Names the result (default: `field__function`). As in Django, the
    /// name is an identifier (`[A-Za-z_][A-Za-z0-9_]*`) without `__`, of at
    /// most 63 bytes (PostgreSQL's limit); another is reported, before
    /// anything is sent, as [`Error::InvalidQuery`] when the query runs.
    #[must_use]
    pub fn alias(mut self, name: &str) -> Self {
        self.alias = Some(name.to_owned());
        self
    }

    /// Resolves the aggregated path against `meta`: `"*"`, a field of the
    /// model, or relations then (optionally) a field of the last one
    /// (`"posts"` counts the related rows, `"posts__views"` sums theirs).
    pub(crate) fn resolve(&self, meta: &'static ModelMeta) -> Result<Resolved> {
        if let Some(alias) = &self.alias {
            check_alias(meta, "the alias", alias)?;
        }
        let (hops, rels, field, model) = if self.field == "*" {
            (Vec::new(), Vec::new(), None, meta)
        } else {
            self.resolve_path(meta)?
        };
        // A bare relation counts the related rows (by their key).
        let counted = match field {
            Some(f) => Some(f),
            None if !hops.is_empty() => Some(model.pk_field()),
            None => None,
        };
        let ty = self.result_type(model, counted)?;
        self.check_options(meta, ty)?;
        let ordering = self.resolve_ordering(meta, &rels, counted)?;
        Ok(Resolved {
            function: self.function,
            distinct: self.distinct,
            default: self.default.clone(),
            name: self.name(),
            ty,
            hops,
            rels,
            field: counted,
            filter: self.resolve_filter(meta)?,
            ordering,
            delimiter: self.delimiter.clone().map(|d| Value::Text(Some(d))),
        })
    }

    /// The relations of the aggregated path, their hops, its field (none
    /// for a bare relation) and the model it ends on.
    #[allow(clippy::type_complexity)]
    fn resolve_path(
        &self,
        meta: &'static ModelMeta,
    ) -> Result<(
        Vec<crate::relation::Hop>,
        Vec<&'static crate::relation::RelationMeta>,
        Option<&'static FieldMeta>,
        &'static ModelMeta,
    )> {
        let valid = |model: &ModelMeta| {
            let mut names = model.field_names();
            names.extend(relation_names(model));
            names
        };
        // Split only once known to be short, and crossing a bounded number
        // of relations (each one more nested subquery).
        check_len(meta, "field or relation", &self.field, || valid(meta))?;
        let segments: Vec<&str> = self.field.split("__").collect();
        let mut model = meta;
        let (mut hops, mut rels) = (Vec::new(), Vec::new());
        let mut field = None;
        for (i, name) in segments.iter().enumerate() {
            if let Some(rel) = model.relation(name) {
                if hops.len() == MAX_RELATIONS {
                    return Err(too_deep(model, "relation", name));
                }
                hops.push(rel.hop()?);
                rels.push(rel);
                model = rel.target.meta();
                continue;
            }
            match model.field(name) {
                Some(f) if i == segments.len() - 1 => field = Some(f),
                _ => {
                    return Err(Error::from(crate::error::LookupError {
                        model: model.name,
                        what: "field or relation",
                        name: shown(name),
                        valid: valid(model),
                    }))
                }
            }
        }
        Ok((hops, rels, field, model))
    }

    /// The `filter=` condition, checked: on the queried model, its
    /// relations resolvable, its expressions on `meta`, no NUL in a value.
    /// `None` when every row matches.
    fn resolve_filter(&self, meta: &'static ModelMeta) -> Result<Option<Box<Node>>> {
        let Some((node, on)) = &self.filter else {
            return Ok(None);
        };
        if !std::ptr::eq(*on, meta) && (on.table, on.name) != (meta.table, meta.name) {
            return Err(self.invalid(
                meta,
                &format!(
                    "filter() is a condition on {}, but the query is over {} (the condition \
                     is written from the queried model, as Django's filter=Q(..))",
                    on.name, meta.name
                ),
            ));
        }
        let node = node.simplify();
        node.check_relations()?;
        node.check_exprs(meta)?;
        crate::query::q::check_nul(meta, &node)?;
        Ok(match node {
            Node::All => None,
            node => Some(Box::new(node)),
        })
    }

    /// `ordering=`: each name a field of the queried model, or, after some
    /// of the aggregate's own relations, of the row they reach.
    fn resolve_ordering(
        &self,
        meta: &'static ModelMeta,
        rels: &[&'static crate::relation::RelationMeta],
        counted: Option<&'static FieldMeta>,
    ) -> Result<Vec<(usize, &'static FieldMeta, bool)>> {
        if self.ordering.is_empty() {
            return Ok(Vec::new());
        }
        if !self.function.allows_ordering() {
            return Err(self.invalid(
                meta,
                "ordering() applies to StringAgg, ArrayAgg and JSONBAgg only",
            ));
        }
        let mut out = Vec::with_capacity(self.ordering.len());
        for name in &self.ordering {
            let (path, desc) = match name.strip_prefix('-') {
                Some(rest) => (rest, true),
                None => (name.as_str(), false),
            };
            let levels: Vec<&'static ModelMeta> = std::iter::once(meta)
                .chain(rels.iter().map(|r| r.target.meta()))
                .collect();
            // The valid names: each level's fields behind its relations.
            let valid = || {
                let mut prefix = String::new();
                let mut names = Vec::new();
                for (level, model) in levels.iter().enumerate() {
                    names.extend(
                        model
                            .field_names()
                            .into_iter()
                            .map(|f| format!("{prefix}{f}")),
                    );
                    if let Some(rel) = rels.get(level) {
                        prefix.push_str(rel.name);
                        prefix.push_str("__");
                    }
                }
                names
            };
            check_len(meta, "ordering field", path, valid)?;
            let segments: Vec<&str> = path.split("__").collect();
            let (fields_at, field_name) = match segments.split_last() {
                Some((last, before)) => (before, *last),
                None => (&[][..], path),
            };
            let level = fields_at.len();
            let along = level <= rels.len()
                && fields_at
                    .iter()
                    .zip(rels)
                    .all(|(seg, rel)| *seg == rel.name);
            let field = along
                .then(|| levels[level].field(field_name))
                .flatten()
                .ok_or_else(|| {
                    Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "ordering field (of the queried model or along the aggregate's relations)",
                        name: shown(path),
                        valid: valid(),
                    })
                })?;
            if self.distinct
                && (level != rels.len() || counted.map(|c| c.column) != Some(field.column))
            {
                return Err(self.invalid(
                    meta,
                    &format!(
                        "with distinct(), ordering may only name the aggregated field `{}` \
                         (PostgreSQL: in an aggregate with DISTINCT, ORDER BY expressions \
                         must appear in the argument list)",
                        self.field
                    ),
                ));
            }
            out.push((level, field, desc));
        }
        Ok(out)
    }

    /// `distinct()` and `default()` suit the aggregate.
    fn check_options(&self, meta: &'static ModelMeta, ty: SqlType) -> Result<()> {
        if self.distinct && !self.function.allows_distinct() {
            return Err(self.invalid(
                meta,
                &format!(
                    "{} does not allow distinct() (as in Django: it applies to Count, Sum, \
                     Avg, StringAgg, ArrayAgg and JSONBAgg)",
                    self.function.title()
                ),
            ));
        }
        if self.distinct && self.field == "*" {
            return Err(self.invalid(
                meta,
                "Count(\"*\") counts rows: distinct() needs a field (Count(\"field\").distinct())",
            ));
        }
        if let Some(default) = &self.default {
            let collects = matches!(
                self.function,
                Function::StringAgg | Function::ArrayAgg | Function::JsonbAgg
            );
            if collects && !ty.matches(default) {
                return Err(self.invalid(
                    meta,
                    &format!("the default {default} is not a {}", ty.name()),
                ));
            }
        }
        Ok(())
    }

    fn invalid(&self, meta: &'static ModelMeta, why: &str) -> Error {
        Error::from(crate::error::QueryError {
            model: meta.name,
            reason: format!("{}({}): {why}", self.function.title(), self.field),
        })
    }

    /// As [`resolve`](Self::resolve), for `annotate`: the path must cross a
    /// relation (a model's own fields are one value per row).
    pub(crate) fn resolve_annotation(&self, meta: &'static ModelMeta) -> Result<Resolved> {
        let resolved = self.resolve(meta)?;
        if resolved.hops.is_empty() {
            return Err(Error::from(crate::error::QueryError {
                model: meta.name,
                reason: format!(
                    "annotate({}) needs a relation (e.g. Count(\"posts\")); aggregate this model's own fields with aggregate() or values().annotate()",
                    self.field
                ),
            }));
        }
        Ok(resolved)
    }

    pub(crate) fn name(&self) -> String {
        self.alias
            .clone()
            .unwrap_or_else(|| format!("{}__{}", self.field, self.function.name()))
    }

    /// The SQL type of the result, for decoding; checks the field suits.
    pub(crate) fn result_type(
        &self,
        meta: &'static ModelMeta,
        field: Option<&'static FieldMeta>,
    ) -> Result<SqlType> {
        let numeric = |f: &FieldMeta| {
            matches!(
                f.sql_type,
                SqlType::SmallInt
                    | SqlType::Integer
                    | SqlType::BigInt
                    | SqlType::Real
                    | SqlType::Double
            )
        };
        let bad = |why: &str| {
            Error::from(crate::error::QueryError {
                model: meta.name,
                reason: format!(
                    "{}({}): {why}",
                    self.function.name().to_uppercase(),
                    self.field
                ),
            })
        };
        if self.sample_misused {
            return Err(bad("sample() applies to StdDev and Variance only"));
        }
        if self.function == Function::Count && self.default.is_some() {
            return Err(bad("Count has no default: it counts 0 over no rows"));
        }
        if self.default.as_ref().is_some_and(Value::is_null) {
            return Err(bad("a default of NULL is what no default gives"));
        }
        Ok(match (self.function, field) {
            (Function::Count, _) => SqlType::BigInt,
            (_, None) => return Err(bad("needs a field")),
            (Function::StdDev { .. } | Function::Variance { .. }, Some(f)) if numeric(f) => {
                SqlType::Double
            }
            // Django: Sum, Avg, StdDev and Variance of a DecimalField are
            // decimals (PostgreSQL's are `numeric`).
            (
                Function::Sum | Function::Avg | Function::StdDev { .. } | Function::Variance { .. },
                Some(f),
            ) if f.sql_type == SqlType::Numeric => SqlType::Numeric,
            // Django: Sum and Avg of a DurationField are durations
            // (PostgreSQL's `sum(interval)`, `avg(interval)`).
            (Function::Sum | Function::Avg, Some(f)) if f.sql_type == SqlType::Interval => {
                SqlType::Interval
            }
            (Function::StringAgg, Some(f)) if f.sql_type.is_text() => SqlType::Text,
            (Function::StringAgg, Some(f)) => {
                return Err(bad(&format!(
                    "`{}` is not text ({}); StringAgg joins text",
                    f.name,
                    f.sql_type.name()
                )))
            }
            (Function::ArrayAgg, Some(f)) => SqlType::Array(&f.sql_type),
            (Function::JsonbAgg, Some(_)) => SqlType::Jsonb,
            (Function::BoolAnd | Function::BoolOr, Some(f)) if f.sql_type == SqlType::Bool => {
                SqlType::Bool
            }
            (Function::BoolAnd | Function::BoolOr, Some(f)) => {
                return Err(bad(&format!(
                    "`{}` is not a bool ({})",
                    f.name,
                    f.sql_type.name()
                )))
            }
            (Function::Sum, Some(f)) if numeric(f) => {
                if f.sql_type.is_integer() {
                    SqlType::BigInt
                } else {
                    SqlType::Double
                }
            }
            (Function::Avg, Some(f)) if numeric(f) => SqlType::Double,
            (
                Function::Sum | Function::Avg | Function::StdDev { .. } | Function::Variance { .. },
                Some(f),
            ) => {
                return Err(bad(&format!(
                    "`{}` is not numeric ({})",
                    f.name,
                    f.sql_type.name()
                )))
            }
            (Function::Min | Function::Max, Some(f)) if f.sql_type.is_ordered() => f.sql_type,
            (_, Some(f)) => {
                return Err(bad(&format!(
                    "`{}` cannot be ordered ({})",
                    f.name,
                    f.sql_type.name()
                )))
            }
        })
    }
}

/// A `default=` value read as the server reads `COALESCE(<result>, $n)`:
/// an integer default of an integer result as `bigint`, a number of a
/// double result as `double precision` (as the bound value is cast), the
/// others as they are.
pub(crate) fn default_as(default: &Value, ty: SqlType) -> Value {
    match (default, ty) {
        (Value::I16(v), SqlType::BigInt) => Value::I64(v.map(i64::from)),
        (Value::I32(v), SqlType::BigInt) => Value::I64(v.map(i64::from)),
        (Value::I16(v), SqlType::Double) => Value::F64(v.map(f64::from)),
        (Value::I32(v), SqlType::Double) => Value::F64(v.map(f64::from)),
        (Value::I64(v), SqlType::Double) => Value::F64(v.map(|v| v as f64)),
        (Value::F32(v), SqlType::Double) => Value::F64(v.map(f64::from)),
        (Value::I16(v), SqlType::Numeric) => Value::Decimal(v.map(Into::into)),
        (Value::I32(v), SqlType::Numeric) => Value::Decimal(v.map(Into::into)),
        (Value::I64(v), SqlType::Numeric) => Value::Decimal(v.map(Into::into)),
        (other, _) => other.clone(),
    }
}

/// Named values: the result of [`QuerySet::aggregate`](crate::QuerySet::aggregate)
/// (by `views__sum` or alias) and the rows of [`QuerySet::values`](crate::QuerySet::values)
/// (by field or aggregate name), as Django's dicts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// Shared by every row of one query: no String per row.
    names: Arc<[String]>,
    values: Vec<Value>,
}

/// The result of [`QuerySet::aggregate`](crate::QuerySet::aggregate).
pub type Aggregated = Record;

impl Record {
    pub(crate) fn new(names: Arc<[String]>, values: Vec<Value>) -> Self {
        Record { names, values }
    }

    /// Reads columns `start..` of `row` as `types`, named `names`.
    pub(crate) fn read(
        names: &Arc<[String]>,
        types: &[SqlType],
        row: &Row,
        start: usize,
    ) -> Result<Self> {
        let values = types
            .iter()
            .enumerate()
            .map(|(i, ty)| Ok(Value::read(row, start + i, *ty)?))
            .collect::<Result<_>>()?;
        Ok(Record::new(names.clone(), values))
    }

    /// The raw value called `name`.
    pub fn value(&self, name: &str) -> Option<&Value> {
        let i = self.names.iter().position(|n| n == name)?;
        self.values.get(i)
    }

    /// The value called `name` as `T` (`i64` for counts and integer sums,
    /// `f64` for averages, `Option<..>` where no rows give NULL).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an unknown name or a different type.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T> {
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model: "record",
                field: "value",
                reason,
            })
        };
        let value = self.value(name).ok_or_else(|| {
            bad(format!(
                "no value named `{name}`; there are: {}",
                self.names.join(", ")
            ))
        })?;
        T::decode(value.clone())
            .ok_or_else(|| bad(format!("`{name}` is {value:?}, not a {}", T::expected())))
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}
