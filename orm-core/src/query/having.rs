//! [`HavingQ`]: conditions on aggregates and annotations by name, in
//! Django's runtime form (`HQ("n__gte", 3) | HQ("n__isnull", true)`, as
//! `Q(n__gte=3) | Q(n__isnull=True)` after `annotate`), for
//! [`AnnotatedQuery::filter_q`](crate::query::AnnotatedQuery::filter_q) and
//! [`ValuesQuery::having_q`](crate::query::ValuesQuery::having_q).

use std::ops::{BitAnd, BitOr, Not};

use crate::error::{Error, Result};
use crate::query::lookup::shown;
use crate::sql::having::{OutputNode, OutputOp};
use crate::sql::tree::Like;
use crate::types::SqlType;
use crate::value::Value;

/// A condition on annotations (or, after `values(..).annotate(..)`, on
/// aggregates: `HAVING`), named at run time as Django names them:
/// `HQ("n__gte", 3i64)`, combined with `&`, `|` and `!` (Django's `Q`
/// objects in a `filter()` after `annotate()`).
///
/// Lookups: `exact` (also a bare name; `None` is `IS NULL`), `gt`, `gte`,
/// `lt`, `lte`, `in` (an array: `[1i64, 2]`; empty matches nothing),
/// `range` (an array of two), `isnull` (a bool), and on text annotations
/// (`StringAgg`, `Min`/`Max` of text) `iexact`, `contains`, `icontains`,
/// `startswith`, `istartswith`, `endswith`, `iendswith` (with `%`, `_` and
/// `\` matched literally, as on fields), `regex` and `iregex`.
///
/// As in Django, `!HQ("n__gte", 3i64)` does not match a NULL annotation
/// (SQL's `NOT (NULL >= 3)` is not true); add `| HQ("n__isnull", true)` to
/// keep those rows.
///
/// An unknown annotation name or lookup, or a value of the wrong kind, is
/// reported (listing the valid names) when the query runs, before anything
/// is sent.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # use orm_core::query::HQ;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String, pub posts: Reverse<Post> }
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, #[orm(related_name = "posts")] pub author: ForeignKey<Author>, pub views: i64 }
/// # async fn run() -> orm_core::Result<()> {
/// let quiet = Author::all()
///     .annotate([Count("posts").alias("n"), Sum("posts__views").alias("views")])
///     .filter_q(HQ("n__lt", 2i64) | !(HQ("views__gte", 100i64) | HQ("views__isnull", true)))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HavingQ {
    tree: Tree,
}

#[derive(Debug, Clone, PartialEq)]
enum Tree {
    All,
    Leaf(String, Value),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
    /// A `SearchVector` annotation matching a query.
    Search(String, crate::search::SearchQuery),
}

/// One condition on an annotation or aggregate by name: `HQ("n__gte",
/// 3i64)`; see [`HavingQ`].
#[allow(non_snake_case)]
pub fn HQ(key: &str, value: impl Into<Value>) -> HavingQ {
    HavingQ {
        tree: Tree::Leaf(key.to_owned(), value.into()),
    }
}

impl HavingQ {
    /// A condition every row matches (Django's empty `Q()`): the neutral
    /// start for conditions built in a loop.
    pub fn all() -> Self {
        HavingQ { tree: Tree::All }
    }

    /// The rows whose `SearchVector` annotation `name` matches `query`, as
    /// Django's `annotate(search=SearchVector(..)).filter(search=SearchQuery(..))`:
    /// `<vector> @@ <query>`. (`HQ(name, "text")` on such an annotation is
    /// a plain query of the text, as Django's.)
    pub fn search(name: &str, query: impl Into<crate::search::SearchQuery>) -> Self {
        HavingQ {
            tree: Tree::Search(name.to_owned(), query.into()),
        }
    }

    /// Resolves every name against `outputs` (name, type, target) into a
    /// tree of conditions; `what` names them in errors ("annotation").
    pub(crate) fn resolve<T: Copy>(
        &self,
        model: &'static str,
        what: &'static str,
        outputs: &[(String, SqlType, T)],
    ) -> Result<OutputNode<T>> {
        resolve(&self.tree, model, what, outputs)
    }
}

fn resolve<T: Copy>(
    tree: &Tree,
    model: &'static str,
    what: &'static str,
    outputs: &[(String, SqlType, T)],
) -> Result<OutputNode<T>> {
    Ok(match tree {
        Tree::All => OutputNode::All,
        Tree::Search(name, query) => {
            let Some((_, ty, target)) = outputs.iter().find(|(n, ..)| n == name) else {
                return Err(Error::from(crate::error::LookupError {
                    model,
                    what,
                    name: shown(name),
                    valid: outputs.iter().map(|(n, ..)| n.clone()).collect(),
                }));
            };
            if *ty != SqlType::TsVector {
                return Err(Error::from(crate::error::ValueError {
                    model,
                    field: "annotation",
                    reason: format!(
                        "HavingQ::search needs a SearchVector annotation, and `{}` is {}",
                        shown(name),
                        ty.name()
                    ),
                }));
            }
            if let Some(reason) = query.problem() {
                return Err(Error::from(crate::error::QueryError {
                    model,
                    reason: reason.to_owned(),
                }));
            }
            OutputNode::Leaf(*target, OutputOp::Search(Box::new(query.clone())))
        }
        Tree::Leaf(key, value)
            if outputs
                .iter()
                .any(|(n, ty, _)| n == key && *ty == SqlType::TsVector) =>
        {
            // Django's SearchVectorExact: a text is a plain query.
            match value {
                Value::Text(Some(text)) => resolve(
                    &Tree::Search(key.clone(), crate::search::SearchQuery(text.as_str())),
                    model,
                    what,
                    outputs,
                )?,
                _ => {
                    return Err(Error::from(crate::error::ValueError {
                        model,
                        field: "annotation",
                        reason: format!(
                            "`{}` is a SearchVector annotation: filter it with a text or \
                             HavingQ::search(name, SearchQuery(..))",
                            shown(key)
                        ),
                    }))
                }
            }
        }
        Tree::Leaf(key, value) => {
            let (name, op) = output_condition(model, key, value)?;
            let Some((_, ty, target)) = outputs.iter().find(|(n, ..)| n == name) else {
                return Err(Error::from(crate::error::LookupError {
                    model,
                    what,
                    name: shown(name),
                    valid: outputs.iter().map(|(n, ..)| n.clone()).collect(),
                }));
            };
            match op {
                None => OutputNode::Nothing,
                Some(op) => {
                    let text_only = matches!(
                        op,
                        OutputOp::Like { .. } | OutputOp::IExact(_) | OutputOp::Regex { .. }
                    );
                    if text_only && !ty.is_text() {
                        return Err(Error::from(crate::error::ValueError {
                            model,
                            field: "annotation",
                            reason: format!(
                                "`{}` is a text lookup, and `{name}` is not text ({})",
                                shown(key),
                                ty.name()
                            ),
                        }));
                    }
                    OutputNode::Leaf(*target, op)
                }
            }
        }
        Tree::And(items) => items.iter().try_fold(OutputNode::All, |acc, item| {
            Ok::<_, Error>(acc.and(resolve(item, model, what, outputs)?))
        })?,
        Tree::Or(items) => items.iter().try_fold(OutputNode::Nothing, |acc, item| {
            Ok::<_, Error>(acc.or(resolve(item, model, what, outputs)?))
        })?,
        Tree::Not(inner) => resolve(inner, model, what, outputs)?.negate(),
    })
}

impl BitAnd for HavingQ {
    type Output = HavingQ;
    fn bitand(self, rhs: HavingQ) -> HavingQ {
        let tree = match (self.tree, rhs.tree) {
            (Tree::All, t) | (t, Tree::All) => t,
            (Tree::And(mut a), Tree::And(b)) => {
                a.extend(b);
                Tree::And(a)
            }
            (Tree::And(mut a), t) => {
                a.push(t);
                Tree::And(a)
            }
            (a, b) => Tree::And(vec![a, b]),
        };
        HavingQ { tree }
    }
}

impl BitOr for HavingQ {
    type Output = HavingQ;
    fn bitor(self, rhs: HavingQ) -> HavingQ {
        let tree = match (self.tree, rhs.tree) {
            (Tree::All, _) | (_, Tree::All) => Tree::All,
            (Tree::Or(mut a), Tree::Or(b)) => {
                a.extend(b);
                Tree::Or(a)
            }
            (Tree::Or(mut a), t) => {
                a.push(t);
                Tree::Or(a)
            }
            (a, b) => Tree::Or(vec![a, b]),
        };
        HavingQ { tree }
    }
}

impl Not for HavingQ {
    type Output = HavingQ;
    fn not(self) -> HavingQ {
        HavingQ {
            tree: Tree::Not(Box::new(self.tree)),
        }
    }
}

/// A condition on an aggregate or annotation from a key and a value, as
/// Django's lookups on them (see [`HavingQ`]): the name and the condition,
/// `None` when an empty `in` matches nothing.
pub(crate) fn output_condition<'k>(
    model: &'static str,
    key: &'k str,
    value: &Value,
) -> Result<(&'k str, Option<OutputOp>)> {
    let bad = |lookup: &str, wants: &str| {
        Error::from(crate::error::ValueError {
            model,
            field: "annotation",
            reason: format!("`{}` takes {wants}, got {value}", shown(lookup)),
        })
    };
    let text = || match value {
        Value::Text(Some(text)) => Ok(text.clone()),
        _ => Err(bad(key, "a text value")),
    };
    for (suffix, op) in [
        ("__gte", " >= "),
        ("__gt", " > "),
        ("__lte", " <= "),
        ("__lt", " < "),
    ] {
        if let Some(name) = key.strip_suffix(suffix) {
            if value.is_null() {
                return Err(bad(key, "a value, not NULL"));
            }
            return Ok((name, Some(OutputOp::Cmp(op, value.clone()))));
        }
    }
    for (suffix, at, ci) in [
        ("__contains", Like::Contains, false),
        ("__icontains", Like::Contains, true),
        ("__startswith", Like::StartsWith, false),
        ("__istartswith", Like::StartsWith, true),
        ("__endswith", Like::EndsWith, false),
        ("__iendswith", Like::EndsWith, true),
    ] {
        if let Some(name) = key.strip_suffix(suffix) {
            let text = text()?;
            return Ok((name, Some(OutputOp::Like { at, ci, text })));
        }
    }
    for (suffix, ci) in [("__regex", false), ("__iregex", true)] {
        if let Some(name) = key.strip_suffix(suffix) {
            let pattern = text()?;
            return Ok((name, Some(OutputOp::Regex { ci, pattern })));
        }
    }
    if let Some(name) = key.strip_suffix("__iexact") {
        return match value {
            v if v.is_null() => Ok((name, Some(OutputOp::IsNull(true)))),
            Value::Text(Some(_)) => Ok((name, Some(OutputOp::IExact(value.clone())))),
            _ => Err(bad(key, "a text value")),
        };
    }
    if let Some(name) = key.strip_suffix("__isnull") {
        return match value {
            Value::Bool(Some(b)) => Ok((name, Some(OutputOp::IsNull(*b)))),
            _ => Err(bad(key, "true or false")),
        };
    }
    if let Some(name) = key.strip_suffix("__in") {
        return match value {
            Value::Array(items) if items.iter().all(|v| v.is_null()) => Ok((name, None)),
            Value::Array(items) => Ok((
                name,
                Some(OutputOp::In(Value::Array(
                    items.iter().filter(|v| !v.is_null()).cloned().collect(),
                ))),
            )),
            _ => Err(bad(key, "an array of values")),
        };
    }
    if let Some(name) = key.strip_suffix("__range") {
        return match value {
            Value::Array(items) if items.len() == 2 && !items.iter().any(Value::is_null) => Ok((
                name,
                Some(OutputOp::Range(items[0].clone(), items[1].clone())),
            )),
            _ => Err(bad(key, "an array of two values")),
        };
    }
    let name = key.strip_suffix("__exact").unwrap_or(key);
    // `n = None` is `IS NULL`, as Django's `exact` with None.
    if value.is_null() {
        return Ok((name, Some(OutputOp::IsNull(true))));
    }
    Ok((name, Some(OutputOp::Cmp(" = ", value.clone()))))
}

#[cfg(test)]
mod tests {
    use super::output_condition;
    use crate::sql::having::OutputOp;
    use crate::value::Value;

    #[test]
    fn conditions_on_aggregates_take_every_lookup() {
        let cond = |key: &str, value: Value| {
            output_condition("User", key, &value).map(|(n, op)| (n.to_owned(), op))
        };
        assert!(matches!(
            cond("n__isnull", Value::Bool(Some(true))),
            Ok((n, Some(OutputOp::IsNull(true)))) if n == "n"
        ));
        assert!(matches!(
            cond("n__in", [1i64, 2].into()),
            Ok((n, Some(OutputOp::In(Value::Array(v))))) if n == "n" && v.len() == 2
        ));
        assert!(matches!(
            cond("n__range", [1i64, 5].into()),
            Ok((
                _,
                Some(OutputOp::Range(Value::I64(Some(1)), Value::I64(Some(5))))
            ))
        ));
        assert!(matches!(cond("n__in", Value::Array(vec![])), Ok((_, None))));
        assert!(
            matches!(cond("n", 3i64.into()), Ok((n, Some(OutputOp::Cmp(" = ", _)))) if n == "n")
        );
        assert!(
            matches!(cond("n__exact", Value::I64(None)), Ok((n, Some(OutputOp::IsNull(true)))) if n == "n")
        );
        assert!(matches!(
            cond("t__icontains", "a%".into()),
            Ok((n, Some(OutputOp::Like { ci: true, .. }))) if n == "t"
        ));
        assert!(matches!(
            cond("t__iregex", "^a".into()),
            Ok((n, Some(OutputOp::Regex { ci: true, .. }))) if n == "t"
        ));
        for (key, value) in [
            ("n__isnull", Value::I64(Some(1))),
            ("n__in", Value::I64(Some(1))),
            ("n__range", [1i64].into()),
            (
                "n__range",
                Value::Array(vec![Value::I64(Some(1)), Value::I64(None)]),
            ),
            ("n__gte", Value::I64(None)),
            ("t__contains", Value::I64(Some(1))),
            ("t__iexact", Value::I64(Some(1))),
        ] {
            assert!(
                matches!(cond(key, value), Err(crate::Error::InvalidValue(_))),
                "{key}"
            );
        }
    }
}
