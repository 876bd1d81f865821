//! Typed field handles and their lookups.
//!
//! `User::fields()` returns a struct with one [`Field`] per model field;
//! each lookup method builds a [`Q`] checked against the field's type:
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct User {
//! #     #[orm(primary_key)] pub id: i64,
//! #     pub name: String,
//! #     pub email: Option<String>,
//! #     pub karma: i32,
//! # }
//! # async fn run() -> orm_core::Result<()> {
//! let f = User::fields();
//! let found = User::filter(f.name.icontains("gem") & f.karma.gte(10)).await?;
//! // f.karma.gte("x")  -> compile error: `&str` is not a value for an `i32` field
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use crate::meta::FieldMeta;
use crate::model::{HasField, HasRelation, Model, RELATION_FIELD};
use crate::query::expr::Expr;
use crate::query::order::OrderBy;
use crate::query::q::{Assign, Cmp, InArg, InOperand, Like, Node, Op, RelPath, ACROSS_RELATION, Q};
use crate::relation::RelationMeta;
use crate::types::{Arg, FieldType, NullableField, OrderedField, TextField};
use crate::value::Value;

/// What a handle names: a column, or a many-side relation (for `isnull`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Member {
    Column(&'static FieldMeta),
    Relation(&'static RelationMeta),
    /// `pk` of a model with a composite primary key: several columns.
    Key(&'static crate::meta::ModelMeta),
}

/// A handle on field `T` of model `M` (or of a model `M` reaches through
/// relations: `author__name`), with one method per lookup: the lookup's
/// name, except [`eq`](Field::eq) for `exact`, [`in_`](Field::in_) for
/// `in` and [`is_null`](Field::is_null) for `isnull` (what `q!` calls, from
/// the one table of lookups in `orm-names`).
pub struct Field<M, T> {
    pub(crate) member: Member,
    pub(crate) path: RelPath,
    /// An element of an array field (`tags__0`): its 0-based index.
    pub(crate) index: Option<u32>,
    /// The transforms applied, first to last (`created__date__year`): the
    /// handle's type `T` is then the last one's output.
    pub(crate) transforms: Transforms,
    pub(crate) _marker: PhantomData<fn() -> (M, T)>,
}

/// How many transforms one handle chains (`name__trim__lower__length` is
/// three). `q!` refuses a longer chain at compile time; past it a typed
/// handle's further transform replaces its last one.
pub(crate) const MAX_TRANSFORMS: usize = 4;

/// The transforms of a handle, in order: a fixed array, so that handles
/// stay `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Transforms {
    items: [Option<crate::query::q::Transform>; MAX_TRANSFORMS],
    len: u8,
}

impl Transforms {
    /// No transform: the field's value itself.
    pub(crate) const NONE: Transforms = Transforms {
        items: [None; MAX_TRANSFORMS],
        len: 0,
    };

    /// One transform more.
    pub(crate) fn then(mut self, transform: crate::query::q::Transform) -> Self {
        let i = usize::from(self.len).min(MAX_TRANSFORMS - 1);
        self.items[i] = Some(transform);
        self.len = (i + 1) as u8;
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `op` on the value after every transform: the first transform
    /// outermost (it is applied to the column first).
    pub(crate) fn wrap(&self, op: Op) -> Op {
        self.items[..usize::from(self.len)]
            .iter()
            .rev()
            .flatten()
            .fold(op, |op, t| Op::Transformed(*t, Box::new(op)))
    }
}

impl<M, T> Clone for Field<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Field<M, T> {}

impl<M, T> std::fmt::Debug for Field<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("member", &self.member)
            .field("path", &self.path)
            .field("index", &self.index)
            .field("transforms", &self.transforms)
            .finish()
    }
}

/// The member `index` of model `O` (see [`HasField::INDEX`]).
pub(crate) fn member_of<O: Model>(index: usize) -> Member {
    if index == crate::key::COMPOSITE_PK {
        Member::Key(O::META)
    } else if index & RELATION_FIELD != 0 {
        Member::Relation(&O::META.relations[index & !RELATION_FIELD])
    } else {
        Member::Column(&O::META.fields[index])
    }
}

/// The field named `N` of model `M` (how `q!` reaches a field by name).
#[doc(hidden)]
pub fn field_by_name<M: HasField<N>, N>() -> Field<M, M::Type> {
    Field::new(M::INDEX)
}

/// The relation named `N` of model `M` (how `q!` starts `a__b__field`).
#[doc(hidden)]
pub fn relation_by_name<M: HasRelation<N>, N>() -> Rel<M, M::Target> {
    Rel {
        path: RelPath::EMPTY.push(&M::META.relations[M::INDEX]),
        _marker: PhantomData,
    }
}

/// A handle on the model `T` that model `M` reaches through relations.
pub struct Rel<M, T> {
    path: RelPath,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T> std::fmt::Debug for Rel<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rel").finish_non_exhaustive()
    }
}

impl<M, T> Clone for Rel<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, T> Copy for Rel<M, T> {}

impl<M: Model, T: Model> Rel<M, T> {
    /// The field named `N` of the related model.
    #[doc(hidden)]
    pub fn field<N>(self) -> Field<M, <T as HasField<N>>::Type>
    where
        T: HasField<N>,
        <T as HasField<N>>::Type: FieldType,
    {
        Field {
            member: member_of::<T>(<T as HasField<N>>::INDEX),
            path: self.path,
            index: None,
            transforms: Transforms::NONE,
            _marker: PhantomData,
        }
    }

    /// One relation further.
    #[doc(hidden)]
    pub fn relation<N>(self) -> Rel<M, <T as HasRelation<N>>::Target>
    where
        T: HasRelation<N>,
    {
        Rel {
            path: self
                .path
                .push(&T::META.relations[<T as HasRelation<N>>::INDEX]),
            _marker: PhantomData,
        }
    }
}

impl<M: Model, T> Field<M, T> {
    /// The handle of member `index` of `M` (used by the derive).
    #[doc(hidden)]
    pub fn new(index: usize) -> Self {
        Field {
            member: member_of::<M>(index),
            path: RelPath::EMPTY,
            index: None,
            transforms: Transforms::NONE,
            _marker: PhantomData,
        }
    }
}

impl<M: Model, T> Field<M, T> {
    /// A condition on the handle's column (for a many-side relation: the
    /// target's primary key); `pk` of a composite key takes
    /// [`key_condition`](Self::key_condition) instead.
    fn column_q(self, op: Op) -> Q<M> {
        let field = match self.member {
            Member::Column(field) => field,
            Member::Relation(rel) => rel.target.meta().pk_field(),
            Member::Key(meta) => meta.pk_field(),
        };
        Q::from_node(Node::leaf_at(self.path, field, self.at(op)))
    }

    /// `op` on the handle's value: after its transforms, on the element
    /// when the handle is one (`tags__0`).
    fn at(&self, op: Op) -> Op {
        let op = self.transforms.wrap(op);
        match self.index {
            Some(index) => Op::Index(index, Box::new(op)),
            None => op,
        }
    }

    /// `exact`: equal to `value`; `None` (on an `Option` field) means IS
    /// NULL. On `pk` of a composite key, `value` is a tuple:
    /// `("a" = $1 AND "b" = $2)`.
    pub fn eq<V: Arg<T>>(self, value: V) -> Q<M> {
        match self.member {
            Member::Key(meta) => Q::from_node(crate::sql::tree::key_node(meta, value.into_value())),
            _ => self.column_q(Op::Exact(value.into_value())),
        }
    }

    /// `in`: equal to one of `values` (`= ANY($n)`), or to a value of a
    /// one-field [`values`](crate::QuerySet::values) query (`IN (SELECT ..)`).
    /// An empty list matches nothing and sends no query; NULLs in the list
    /// never match. On `pk` of a composite key, `values` are tuples, and
    /// the condition is the `OR` of one key condition per tuple (a
    /// subquery is refused: it selects one column).
    pub fn in_<V: InArg<T>>(self, values: V) -> Q<M> {
        match (self.member, values.into_in()) {
            (Member::Key(meta), InOperand::Values(values)) => {
                Q::from_node(crate::sql::tree::key_in_node(meta, values))
            }
            (Member::Key(meta), InOperand::Query(mut sub)) => {
                // A query set of a model keyed alike: its keys as rows.
                let types = |m: &'static crate::meta::ModelMeta| {
                    m.pk_field_metas().map(|f| f.sql_type).collect::<Vec<_>>()
                };
                if !(sub.whole_key && types(sub.meta) == types(meta)) {
                    sub.error.get_or_insert_with(|| {
                        format!(
                            "`pk__in` on {}, whose primary key has several fields, takes a list \
                             of tuples or a query set of a model with the same key fields, \
                             not a one-field subquery",
                            meta.name
                        )
                    });
                }
                self.column_q(Op::InQuery(sub))
            }
            (_, InOperand::Values(values)) => self.column_q(Op::In(values)),
            (_, InOperand::Query(mut sub)) => {
                if sub.whole_key {
                    sub.error.get_or_insert_with(|| {
                        format!(
                            "a query set of {} is no `__in` operand for one field: its \
                             primary key has several fields; use values(..) of one field",
                            sub.meta.name
                        )
                    });
                }
                self.column_q(Op::InQuery(sub))
            }
        }
    }

    /// `isnull`: IS NULL when `true`, IS NOT NULL when `false`. On a
    /// relation (`profile__isnull = true`): no related row. A composite
    /// primary key is never NULL.
    pub fn is_null(self, is_null: bool) -> Q<M> {
        match self.member {
            Member::Column(field) => Q::from_node(Node::leaf_at(
                self.path,
                field,
                self.at(Op::IsNull(is_null)),
            )),
            Member::Relation(rel) => Q::from_node(Node::leaf_at(
                self.path.push(rel),
                rel.target.meta().pk_field(),
                Op::IsNull(is_null),
            )),
            Member::Key(_) if is_null => Q::none(),
            Member::Key(_) => Q::all(),
        }
    }

    /// The assignment `field = value`, for [`QuerySet::update`](crate::QuerySet::update);
    /// as a filter, `exact`. On `pk` of a composite key, one assignment
    /// per key field (as a filter: the key condition).
    pub fn set<V: Arg<T>>(self, value: V) -> Assign<M>
    where
        T: crate::key::Assignable,
    {
        let value = value.into_value();
        match (self.member, value) {
            (Member::Key(meta), Value::Array(parts)) if parts.len() == meta.pk_fields.len() => {
                let mut sets = meta.pk_fields.iter().zip(parts);
                let mut assign = match sets.next() {
                    Some((&i, v)) => Assign::one(i, &meta.fields[i], v),
                    None => Assign::one(meta.pk, meta.pk_field(), meta.pk_field().sql_type.null()),
                };
                for (&i, v) in sets {
                    assign
                        .items
                        .extend(Assign::<M>::one(i, &meta.fields[i], v).items);
                }
                assign
            }
            (member, value) => {
                let field = match member {
                    Member::Column(field) => field,
                    Member::Relation(rel) => rel.target.meta().pk_field(),
                    Member::Key(meta) => meta.pk_field(),
                };
                // An element of an array (`tags__0`) is not a column.
                let index = match member {
                    Member::Column(field)
                        if self.path.is_empty()
                            && self.index.is_none()
                            && self.transforms.is_empty() =>
                    {
                        field.position
                    }
                    _ => ACROSS_RELATION,
                };
                Assign::one(index, field, value)
            }
        }
    }
}

impl<M: Model, T: FieldType> Field<M, T> {
    /// The column's metadata (for a many-side relation: the target's primary key).
    pub fn meta(&self) -> &'static FieldMeta {
        match self.member {
            Member::Column(field) => field,
            Member::Relation(rel) => rel.target.meta().pk_field(),
            // Only a tuple-typed handle names a composite key, and this
            // impl is for field types; keep it total.
            Member::Key(meta) => meta.pk_field(),
        }
    }

    pub(crate) fn q(self, op: Op) -> Q<M> {
        Q::from_node(Node::leaf_at(self.path, self.meta(), self.at(op)))
    }

    fn like<V: Arg<String>>(self, at: Like, ci: bool, value: V) -> Q<M> {
        match value.into_value() {
            crate::Value::Text(Some(text)) => self.q(Op::Like { at, ci, text }),
            // `Arg<String>` only yields text; keep the tree total anyway.
            _ => Q::none(),
        }
    }

    /// `iexact`: equal ignoring case (`UPPER(col) = UPPER(value)`).
    pub fn iexact<V: Arg<String>>(self, value: V) -> Q<M>
    where
        T: TextField,
    {
        self.q(Op::IExact(value.into_value()))
    }

    /// `iexact = None` in `q!`: IS NULL, as in Django.
    #[doc(hidden)]
    pub fn iexact_null(self) -> Q<M>
    where
        T: TextField + NullableField,
    {
        self.is_null(true)
    }

    /// `icontains`: as [`contains`](Field::contains), ignoring case.
    pub fn icontains<V: Arg<String>>(self, value: V) -> Q<M>
    where
        T: TextField,
    {
        self.like(Like::Contains, true, value)
    }

    /// `istartswith`: as [`startswith`](Field::startswith), ignoring case.
    pub fn istartswith<V: Arg<String>>(self, value: V) -> Q<M>
    where
        T: TextField,
    {
        self.like(Like::StartsWith, true, value)
    }

    /// `iendswith`: as [`endswith`](Field::endswith), ignoring case.
    pub fn iendswith<V: Arg<String>>(self, value: V) -> Q<M>
    where
        T: TextField,
    {
        self.like(Like::EndsWith, true, value)
    }

    /// `search`: full-text search of the text (Django's `search` lookup):
    /// `to_tsvector(COALESCE(col, '')) @@ plainto_tsquery($1)`. The value
    /// is a text (a plain query) or a
    /// [`SearchQuery`](fn@crate::search::SearchQuery), whose configuration
    /// the column's vector takes too:
    /// `f.body.search(SearchQuery("cheeses").config("english"))`.
    pub fn search<V: Into<crate::search::SearchQuery>>(self, query: V) -> Q<M>
    where
        T: TextField,
    {
        self.q(Op::Search(Box::new(query.into())))
    }

    /// `regex`: PostgreSQL's `~`; the pattern is PostgreSQL's regex dialect.
    pub fn regex<V: Arg<String>>(self, pattern: V) -> Q<M>
    where
        T: TextField,
    {
        self.regex_op(false, pattern)
    }

    /// `iregex`: PostgreSQL's `~*` (case-insensitive regex).
    pub fn iregex<V: Arg<String>>(self, pattern: V) -> Q<M>
    where
        T: TextField,
    {
        self.regex_op(true, pattern)
    }

    fn regex_op<V: Arg<String>>(self, ci: bool, pattern: V) -> Q<M> {
        match pattern.into_value() {
            crate::Value::Text(Some(pattern)) => self.q(Op::Regex { ci, pattern }),
            _ => Q::none(),
        }
    }

    /// `gt`: greater than `value`.
    pub fn gt<V: Arg<T::Base>>(self, value: V) -> Q<M>
    where
        T: OrderedField,
    {
        self.q(Op::Cmp(Cmp::Gt, value.into_value()))
    }

    /// `gte`: greater than or equal to `value`.
    pub fn gte<V: Arg<T::Base>>(self, value: V) -> Q<M>
    where
        T: OrderedField,
    {
        self.q(Op::Cmp(Cmp::Gte, value.into_value()))
    }

    /// `lt`: less than `value`.
    pub fn lt<V: Arg<T::Base>>(self, value: V) -> Q<M>
    where
        T: OrderedField,
    {
        self.q(Op::Cmp(Cmp::Lt, value.into_value()))
    }

    /// `lte`: less than or equal to `value`.
    pub fn lte<V: Arg<T::Base>>(self, value: V) -> Q<M>
    where
        T: OrderedField,
    {
        self.q(Op::Cmp(Cmp::Lte, value.into_value()))
    }

    /// `range`: between `low` and `high`, both included (`BETWEEN`).
    pub fn range<V: Arg<T::Base>>(self, (low, high): (V, V)) -> Q<M>
    where
        T: OrderedField,
    {
        self.q(Op::Range(low.into_value(), high.into_value()))
    }

    /// The field's position in `M`'s fields, or [`ACROSS_RELATION`] for a
    /// field reached through relations or an array's element (which
    /// `update()` rejects).
    fn position(&self) -> usize {
        match self.member {
            Member::Column(field) if self.path.is_empty() && self.index.is_none() => field.position,
            _ => ACROSS_RELATION,
        }
    }

    /// `field = expr` with an `F` expression: `f.views.eq_expr(F("likes"))`
    /// (`q!(views = F("likes"))` in a filter).
    pub fn eq_expr(self, expr: impl Into<Expr>) -> Q<M> {
        self.q(Op::CmpExpr {
            cmp: None,
            expr: expr.into(),
        })
    }

    /// `field > expr`: `q!(views__gt = F("author__karma"))`.
    pub fn gt_expr(self, expr: impl Into<Expr>) -> Q<M> {
        self.cmp_expr(Cmp::Gt, expr)
    }

    /// `field >= expr`.
    pub fn gte_expr(self, expr: impl Into<Expr>) -> Q<M> {
        self.cmp_expr(Cmp::Gte, expr)
    }

    /// `field < expr`.
    pub fn lt_expr(self, expr: impl Into<Expr>) -> Q<M> {
        self.cmp_expr(Cmp::Lt, expr)
    }

    /// `field <= expr`.
    pub fn lte_expr(self, expr: impl Into<Expr>) -> Q<M> {
        self.cmp_expr(Cmp::Lte, expr)
    }

    fn cmp_expr(self, cmp: Cmp, expr: impl Into<Expr>) -> Q<M> {
        self.q(Op::CmpExpr {
            cmp: Some(cmp),
            expr: expr.into(),
        })
    }

    /// The assignment `field = expr`, for updates: `q!(balance = F("balance") + 100)`.
    pub fn set_expr(self, expr: impl Into<Expr>) -> Assign<M>
    where
        T: Column,
    {
        let mut assign = Assign::one(self.position(), self.meta(), T::SQL_TYPE.null());
        if let Some(set) = assign.items.first_mut() {
            set.expr = Some(expr.into());
        }
        assign
    }

    /// The assignment `field = NULL` (`q!(field = None)`); as a filter, IS NULL.
    pub fn set_null(self) -> Assign<M>
    where
        T: NullableField,
    {
        Assign::one(self.position(), self.meta(), T::SQL_TYPE.null())
    }

    /// Ascending order on this field, for [`QuerySet::order_by`](crate::QuerySet::order_by).
    pub fn asc(self) -> OrderBy
    where
        T: Column,
    {
        OrderBy::field(self.meta(), false)
    }

    /// Descending order on this field.
    pub fn desc(self) -> OrderBy
    where
        T: Column,
    {
        OrderBy::field(self.meta(), true)
    }
}

use crate::types::Column;

/// Field types that lead to another model: the relation fields.
pub trait RelationType: FieldType {
    /// The model on the other side.
    type Target: Model;
}
impl<T: crate::model::SingleKey> RelationType for crate::ForeignKey<T> {
    type Target = T;
}
impl<T: crate::model::SingleKey> RelationType for Option<crate::ForeignKey<T>> {
    type Target = T;
}
impl<T: crate::model::SingleKey> RelationType for crate::ManyToMany<T> {
    type Target = T;
}
impl<T: crate::model::SingleKey> RelationType for crate::Reverse<T> {
    type Target = T;
}
impl<T: crate::model::SingleKey> RelationType for crate::ReverseOne<T> {
    type Target = T;
}

impl<M: Model, T: RelationType> Field<M, T> {
    /// A condition on the related model, written with its typed fields:
    /// `Post::fields().author.has(|a| a.name.icontains("gem"))`,
    /// `User::fields().posts.has(|p| p.title.startswith("Rust") & p.published.eq(true))`.
    /// As in one `filter()` call, the conditions must hold for the same
    /// related row.
    pub fn has<F>(self, condition: F) -> Q<M>
    where
        F: FnOnce(<T::Target as Model>::Fields) -> Q<T::Target>,
    {
        let step = match self.member {
            Member::Relation(rel) => Some(rel),
            Member::Key(_) => None,
            Member::Column(field) => {
                let owner = self.path.last().map_or(M::META, |r| r.target.meta());
                owner.relation_of_field(field.position)
            }
        };
        let Some(step) = step else {
            return Q::none();
        };
        let mut node = condition(<T::Target as Model>::fields()).node.behind(step);
        for earlier in self.path.steps().collect::<Vec<_>>().into_iter().rev() {
            node = node.behind(earlier);
        }
        Q::from_node(node)
    }
}

/// Field types `contains` applies to, with the value of type `V` it
/// takes: text fields (a substring, `LIKE '%value%'`) and array fields
/// (every element of an array value, `@>`).
#[diagnostic::on_unimplemented(
    message = "`contains` does not take a `{V}` on a `{Self}` field",
    label = "`contains` on a field that is neither text nor an array, or a value of the wrong type",
    note = "`contains` takes text on a String field and an array of elements (`[\"a\", \"b\"]`) on a Vec<T> field"
)]
pub trait ContainsField<V>: FieldType {
    /// The condition on `field`.
    #[doc(hidden)]
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M>;
}

impl<V: Arg<String>> ContainsField<V> for String {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        like(field, value)
    }
}
impl<V: Arg<String>> ContainsField<V> for Option<String> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        like(field, value)
    }
}
impl<T: crate::types::ArrayItem, V: Arg<Vec<T>>> ContainsField<V> for Vec<T> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ArrayContains(value.into_value()))
    }
}
impl<T: crate::types::ArrayItem, V: Arg<Vec<T>>> ContainsField<V> for Option<Vec<T>> {
    fn contains_q<M: Model>(field: Field<M, Self>, value: V) -> Q<M> {
        field.q(Op::ArrayContains(value.into_value()))
    }
}

fn like<M: Model, T: FieldType, V: Arg<String>>(field: Field<M, T>, value: V) -> Q<M> {
    match value.into_value() {
        crate::Value::Text(Some(text)) => field.q(Op::Like {
            at: Like::Contains,
            ci: false,
            text,
        }),
        // `Arg<String>` only yields text; keep the tree total anyway.
        _ => Q::none(),
    }
}

impl<M: Model, T: FieldType> Field<M, T> {
    /// `contains`: on a text field, `LIKE '%value%'` with `%`, `_` and `\`
    /// in the value matched literally; on an array field, holds every
    /// element of the array `value` (`@>`: `f.tags.contains(["a", "b"])`).
    pub fn contains<V>(self, value: V) -> Q<M>
    where
        T: ContainsField<V>,
    {
        T::contains_q(self, value)
    }
}

#[cfg(test)]
mod tests {
    use orm_names::Lookup;

    use crate::prelude::*;

    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "users", crate = "crate")]
    struct User {
        #[orm(primary_key)]
        id: i64,
        name: String,
        tags: Vec<String>,
        span: crate::Range<i32>,
        data: serde_json::Value,
    }

    /// Calls the handle method `$method` (and `$expr` with an `F()`
    /// value), after checking that they are the methods the table names
    /// for `$lookup`: the ones `q!` calls.
    macro_rules! call {
        ($lookup:expr, $handle:expr, $method:ident($arg:expr) $(, $expr:ident)?) => {{
            let lookup: Lookup = $lookup;
            assert_eq!(lookup.method(), stringify!($method), "{lookup}");
            let expr: Option<&str> = None $(.or(Some(stringify!($expr))))?;
            assert_eq!(lookup.expr_method(), expr, "{lookup}");
            $(let _: Q<User> = $handle.$expr(F("name"));)?
            $handle.$method($arg)
        }};
    }

    #[test]
    fn every_lookup_of_the_table_has_its_handle_methods() {
        let name = User::fields().name;
        let tags = User::fields().tags;
        let span = User::fields().span;
        let data = User::fields().data;
        for &lookup in Lookup::ALL {
            // One arm per lookup: a new row of the table asks for its
            // method here.
            let _: Q<User> = match lookup {
                Lookup::Exact => call!(lookup, name, eq("a"), eq_expr),
                Lookup::IExact => call!(lookup, name, iexact("a")),
                Lookup::Contains => call!(lookup, name, contains("a")),
                Lookup::ContainedBy => call!(lookup, tags, contained_by(["a"])),
                Lookup::Overlap => call!(lookup, tags, overlap(["a"])),
                Lookup::IContains => call!(lookup, name, icontains("a")),
                Lookup::StartsWith => call!(lookup, name, startswith("a")),
                Lookup::IStartsWith => call!(lookup, name, istartswith("a")),
                Lookup::EndsWith => call!(lookup, name, endswith("a")),
                Lookup::IEndsWith => call!(lookup, name, iendswith("a")),
                Lookup::In => call!(lookup, name, in_(["a", "b"])),
                Lookup::Gt => call!(lookup, name, gt("a"), gt_expr),
                Lookup::Gte => call!(lookup, name, gte("a"), gte_expr),
                Lookup::Lt => call!(lookup, name, lt("a"), lt_expr),
                Lookup::Lte => call!(lookup, name, lte("a"), lte_expr),
                Lookup::Range => call!(lookup, name, range(("a", "b"))),
                Lookup::IsNull => call!(lookup, name, is_null(true)),
                Lookup::Regex => call!(lookup, name, regex("^a")),
                Lookup::IRegex => call!(lookup, name, iregex("^a")),
                Lookup::FullyLt => call!(lookup, span, fully_lt(1..2)),
                Lookup::FullyGt => call!(lookup, span, fully_gt(1..2)),
                Lookup::NotLt => call!(lookup, span, not_lt(1..2)),
                Lookup::NotGt => call!(lookup, span, not_gt(1..2)),
                Lookup::AdjacentTo => call!(lookup, span, adjacent_to(1..2)),
                Lookup::IsEmpty => call!(lookup, span, isempty(true)),
                Lookup::LowerInc => call!(lookup, span, lower_inc(true)),
                Lookup::LowerInf => call!(lookup, span, lower_inf(true)),
                Lookup::UpperInc => call!(lookup, span, upper_inc(true)),
                Lookup::UpperInf => call!(lookup, span, upper_inf(true)),
                Lookup::HasKey => call!(lookup, data, has_key("a")),
                Lookup::HasKeys => call!(lookup, data, has_keys(["a"])),
                Lookup::HasAnyKeys => call!(lookup, data, has_any_keys(["a"])),
                Lookup::Search => call!(lookup, name, search("a")),
            };
        }
    }
}
