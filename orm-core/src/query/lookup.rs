//! The runtime form of a lookup, for filters built from user input (the
//! query string of a web API), checked against the model's metadata.

use crate::error::{Error, Result};
use crate::model::{FieldMeta, Model};
use crate::query::q::{Cmp, Like, Node, Op, RelPath, MAX_DEPTH, Q};
use crate::types::SqlType;
use crate::value::Value;

/// Builds a [`Q`] from a Django-style key (`"karma__gte"`) and a value known
/// only at run time.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User {
/// #     #[orm(primary_key)] pub id: i64,
/// #     pub name: String,
/// #     pub email: Option<String>,
/// #     pub karma: i32,
/// # }
/// # async fn run() -> orm_core::Result<()> {
/// // GET /users?karma__gte=10&name__icontains=gem
/// let query_pairs = [("karma__gte", "10"), ("name__icontains", "gem")];
/// let mut q = Q::all();
/// for (key, value) in query_pairs {
///     q = q & Lookup::parse::<User>(key, value)?;
/// }
/// let users = User::filter(q).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Lookup;

/// Every lookup name, as accepted by `q!` and [`Lookup`].
pub const LOOKUPS: &[&str] = &[
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
    "range",
    "isnull",
    "regex",
    "iregex",
];

const TEXT_ONLY: &[&str] = &[
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "regex",
    "iregex",
];
const ORDERED_ONLY: &[&str] = &["gt", "gte", "lt", "lte", "range"];

fn valid_lookups(field: &FieldMeta) -> Vec<String> {
    LOOKUPS
        .iter()
        .filter(|l| field.sql_type == SqlType::Text || !TEXT_ONLY.contains(l))
        .filter(|l| field.sql_type.is_ordered() || !ORDERED_ONLY.contains(l))
        .map(|l| (*l).to_owned())
        .collect()
}

impl Lookup {
    /// Parses `key` (`field` or `field__lookup`) and the text form of the
    /// value: numbers, `true`/`false`, ISO dates, RFC 3339 timestamps, UUIDs,
    /// JSON; comma-separated for `in` and `range`.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] naming the model, the bad field or lookup and
    /// the valid ones; [`Error::InvalidValue`] for a value of the wrong form.
    pub fn parse<M: Model>(key: &str, value: &str) -> Result<Q<M>> {
        let (path, field, lookup) = Self::resolve::<M>(key)?;
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model: M::META.name,
                field: field.name,
                reason,
            })
        };
        let one = |text: &str| field.sql_type.parse(text).map_err(bad);
        let op = match lookup {
            "isnull" => Op::IsNull(match SqlType::Bool.parse(value).map_err(bad)? {
                Value::Bool(Some(b)) => b,
                _ => true,
            }),
            "in" => {
                let items = if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(',').map(one).collect::<Result<Vec<_>>>()?
                };
                Op::In(items)
            }
            "range" => {
                let parts: Vec<&str> = value.split(',').collect();
                let [low, high] = parts.as_slice() else {
                    return Err(bad(format!(
                        "range takes two comma-separated values, got `{value}`"
                    )));
                };
                Op::Range(one(low)?, one(high)?)
            }
            _ => return Self::build(M::META.name, path, field, lookup, one(value)?),
        };
        Ok(Q::from_node(Node::leaf_at(path, field, op)))
    }

    /// As [`parse`](Lookup::parse), with an already typed value (a
    /// [`Value::Array`] for `in`, a two-element array for `range`, a
    /// [`Value::Bool`] for `isnull`; a NULL for `exact` means IS NULL).
    ///
    /// # Errors
    /// As [`parse`](Lookup::parse); [`Error::InvalidValue`] when the value's
    /// type is not the field's.
    pub fn value<M: Model>(key: &str, value: Value) -> Result<Q<M>> {
        let (path, field, lookup) = Self::resolve::<M>(key)?;
        let bad = |reason: String| {
            Error::from(crate::error::ValueError {
                model: M::META.name,
                field: field.name,
                reason,
            })
        };
        let check = |v: Value| {
            if field.sql_type.matches(&v) {
                Ok(v)
            } else {
                Err(bad(format!(
                    "expected a value of type {}, got {v:?}",
                    field.sql_type.name()
                )))
            }
        };
        let op = match (lookup, value) {
            ("isnull", Value::Bool(Some(b))) => Op::IsNull(b),
            ("isnull", v) => return Err(bad(format!("isnull takes a boolean, got {v:?}"))),
            ("in", Value::Array(items)) => {
                Op::In(items.into_iter().map(check).collect::<Result<_>>()?)
            }
            ("range", Value::Array(items)) if items.len() == 2 => {
                let mut it = items.into_iter().map(check);
                match (it.next(), it.next()) {
                    (Some(low), Some(high)) => Op::Range(low?, high?),
                    _ => return Err(bad("range takes two values".into())),
                }
            }
            ("in" | "range", v) => {
                return Err(bad(format!("{lookup} takes an array value, got {v:?}")))
            }
            (_, v) => return Self::build(M::META.name, path, field, lookup, check(v)?),
        };
        Ok(Q::from_node(Node::leaf_at(path, field, op)))
    }

    /// `a__b__field__lookup`: the relations crossed, the field, the lookup.
    /// A relation as the last name (`profile__isnull`) means its related row.
    fn resolve<M: Model>(key: &str) -> Result<(RelPath, &'static FieldMeta, &str)> {
        let segments: Vec<&str> = key.split("__").collect();
        let (names, lookup) = match segments.split_last() {
            Some((last, rest)) if !rest.is_empty() && LOOKUPS.contains(last) => (rest, *last),
            _ => (&segments[..], "exact"),
        };
        let mut meta = M::META;
        let mut path = RelPath::EMPTY;
        let (last, relations) = names.split_last().unwrap_or((&"", &[]));
        for name in relations {
            if path.steps().count() == MAX_DEPTH {
                return Err(Error::from(crate::error::LookupError {
                    model: M::META.name,
                    what: "lookup",
                    name: key.to_owned(),
                    valid: vec![format!("at most {MAX_DEPTH} relations")],
                }));
            }
            let Some(rel) = meta.relation(name) else {
                // `karma__like`: a field with an unknown lookup, not a path.
                if let (Some(field), [_]) = (meta.field(name), &names[path.steps().count() + 1..]) {
                    return Err(Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "lookup",
                        name: key.to_owned(),
                        valid: valid_lookups(field),
                    }));
                }
                return Err(Error::from(crate::error::LookupError {
                    model: meta.name,
                    what: "relation",
                    name: (*name).to_owned(),
                    valid: meta.relations.iter().map(|r| r.name.to_owned()).collect(),
                }));
            };
            path = path.push(rel);
            meta = rel.target.meta();
        }
        let field = match meta.field(last) {
            Some(field) => field,
            None => match meta.relation(last) {
                // `rel__isnull`: whether a related row exists.
                Some(rel) if lookup == "isnull" => {
                    return Ok((path.push(rel), rel.target.meta().pk_field(), lookup));
                }
                _ => {
                    return Err(Error::from(crate::error::LookupError {
                        model: meta.name,
                        what: "field",
                        name: (*last).to_owned(),
                        valid: meta.field_names(),
                    }))
                }
            },
        };
        let valid = valid_lookups(field);
        if !valid.iter().any(|l| l == lookup) {
            return Err(Error::from(crate::error::LookupError {
                model: meta.name,
                what: "lookup",
                name: format!("{last}__{lookup}"),
                valid,
            }));
        }
        Ok((path, field, lookup))
    }

    /// A single-value lookup; `lookup` is valid for `field`.
    fn build<M>(
        model: &'static str,
        path: RelPath,
        field: &'static FieldMeta,
        lookup: &str,
        v: Value,
    ) -> Result<Q<M>> {
        let text = |v: Value| match v {
            Value::Text(Some(s)) => s,
            other => other.to_string(),
        };
        if v.is_null() && lookup != "exact" && lookup != "iexact" {
            return Err(Error::from(crate::error::ValueError {
                model,
                field: field.name,
                reason: format!("cannot use NULL with `{lookup}`"),
            }));
        }
        let like = |at, ci, v| Op::Like {
            at,
            ci,
            text: text(v),
        };
        let op = match lookup {
            "exact" => Op::Exact(v),
            "iexact" => Op::IExact(v),
            "contains" => like(Like::Contains, false, v),
            "icontains" => like(Like::Contains, true, v),
            "startswith" => like(Like::StartsWith, false, v),
            "istartswith" => like(Like::StartsWith, true, v),
            "endswith" => like(Like::EndsWith, false, v),
            "iendswith" => like(Like::EndsWith, true, v),
            "gt" => Op::Cmp(Cmp::Gt, v),
            "gte" => Op::Cmp(Cmp::Gte, v),
            "lt" => Op::Cmp(Cmp::Lt, v),
            "lte" => Op::Cmp(Cmp::Lte, v),
            "regex" => Op::Regex {
                ci: false,
                pattern: text(v),
            },
            _ => Op::Regex {
                ci: true,
                pattern: text(v),
            },
        };
        Ok(Q::from_node(Node::leaf_at(path, field, op)))
    }
}
