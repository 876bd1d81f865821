//! Database functions and conditional expressions, as Django's
//! `django.db.models.functions`, `Value`, `Case` and `When`.
//!
//! Each builds an [`Expr`], usable wherever an expression is: an
//! annotation ([`QuerySet::annotate_expr`](crate::QuerySet::annotate_expr)),
//! an update (`q!(name = Upper(F("name")))`), the right-hand side of a
//! filter (`q!(updated_at__lt = Now())`) and an ordering
//! (`Lower("name").asc()`). As in Django, a string argument names a field
//! (`Lower("name")` is `Lower(F("name"))`); a text value is
//! [`Value("..")`](Value). Argument types are checked when the query runs:
//! `Lower` of a number is [`Error::InvalidQuery`](crate::Error::InvalidQuery),
//! not a database error.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::functions::{Case, Coalesce, Concat, Length, Lower, Now, Upper, Value, When};
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct User {
//! #     #[orm(primary_key)] pub id: i64,
//! #     pub name: String,
//! #     pub nickname: Option<String>,
//! #     pub karma: i32,
//! #     pub seen: chrono::DateTime<chrono::Utc>,
//! # }
//! # async fn run() -> orm_core::Result<()> {
//! let rows = User::all()
//!     .annotate_expr("shown", Coalesce(["nickname", "name"]))
//!     .annotate_expr("label", Concat([Upper("name").into(), Value(" #"), F("id")]))
//!     .annotate_expr("size", Length("name"))
//!     .annotate_expr(
//!         "level",
//!         Case([
//!             When::<User>(q!(karma__gte = 100), Value("high")),
//!             When::<User>(q!(karma__gte = 10), Value("mid")),
//!         ])
//!         .default(Value("low")),
//!     )
//!     .order_by(["size"])
//!     .await?;
//! let level: String = rows[0].get("level")?;
//! User::filter(q!(karma__lt = 0)).update(q!(name = Lower(F("name")), seen = Now())).await?;
//! let by_name = User::all().order_by([Lower("name").asc()]).await?;
//! # Ok(()) }
//! ```

#![allow(non_snake_case)]

use crate::model::Model;
use crate::query::q::IntoQ;
use crate::query::ValuesQuery;
use crate::sql::expr::Expr;
use crate::sql::functions::{Frame, FuncKind, Part, WindowFunc};
use crate::types::SqlType;

pub use crate::query::expr::OuterRef;
pub use crate::sql::functions::{Case, Func, When, Window};

fn func(kind: FuncKind, args: Vec<Expr>) -> Expr {
    Expr::from(Func {
        kind,
        args,
        error: None,
    })
}

fn many<I: IntoIterator<Item = E>, E: Into<Expr>>(items: I) -> Vec<Expr> {
    items.into_iter().map(Into::into).collect()
}

/// A value in an expression (Django's `Value("x")`): `Concat([F("name"),
/// Value("!")])`. Bound as a parameter, never written into the SQL.
pub fn Value(value: impl Into<crate::Value>) -> Expr {
    Expr::Value(value.into())
}

/// `LOWER(text)`.
pub fn Lower(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::Lower, vec![expr.into()])
}

/// `UPPER(text)`.
pub fn Upper(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::Upper, vec![expr.into()])
}

/// The number of characters of a text (`LENGTH`); NULL for NULL.
pub fn Length(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::Length, vec![expr.into()])
}

/// The text without leading and trailing spaces (`BTRIM`).
pub fn Trim(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::Trim, vec![expr.into()])
}

/// The text without leading spaces.
pub fn LTrim(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::LTrim, vec![expr.into()])
}

/// The text without trailing spaces.
pub fn RTrim(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::RTrim, vec![expr.into()])
}

/// The texts of at least two expressions joined (`CONCAT`); a NULL counts
/// as empty text, as in Django.
pub fn Concat<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    func(FuncKind::Concat, many(exprs))
}

/// The text with every `from` replaced by `to` (Django's
/// `Replace(expr, text, replacement)`).
pub fn Replace(expr: impl Into<Expr>, from: impl Into<Expr>, to: impl Into<Expr>) -> Expr {
    func(FuncKind::Replace, vec![expr.into(), from.into(), to.into()])
}

/// The 1-based position of `sub` in the text, 0 when absent (`STRPOS`).
pub fn StrIndex(expr: impl Into<Expr>, sub: impl Into<Expr>) -> Expr {
    func(FuncKind::StrIndex, vec![expr.into(), sub.into()])
}

/// The part of the text from 1-based `pos`, `len` characters long (all
/// the rest for `None`): Django's `Substr(expr, pos, length)`.
pub fn Substr(expr: impl Into<Expr>, pos: i64, len: Option<i64>) -> Expr {
    let mut out = Func {
        kind: FuncKind::Substr(pos, len),
        args: vec![expr.into()],
        error: None,
    };
    if pos < 1 {
        out.error = Some(format!("Substr(): the position is 1-based, not {pos}"));
    } else if len.is_some_and(|n| n < 0) {
        out.error = Some("Substr(): the length cannot be negative".into());
    }
    Expr::from(out)
}

/// The first of at least two expressions that is not NULL.
pub fn Coalesce<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    func(FuncKind::Coalesce, many(exprs))
}

/// The greatest of at least two expressions (NULLs ignored, as
/// PostgreSQL's `GREATEST`).
pub fn Greatest<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    func(FuncKind::Greatest, many(exprs))
}

/// The least of at least two expressions (NULLs ignored).
pub fn Least<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    func(FuncKind::Least, many(exprs))
}

/// NULL when the two are equal, else the first.
pub fn NullIf(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    func(FuncKind::NullIf, vec![a.into(), b.into()])
}

/// The value converted to `ty` (`CAST(x AS ty)`).
pub fn Cast(expr: impl Into<Expr>, ty: SqlType) -> Expr {
    func(FuncKind::Cast(ty), vec![expr.into()])
}

/// The time the statement started (`STATEMENT_TIMESTAMP()`, as Django's
/// `Now()` on PostgreSQL): the same for every row of a statement.
pub fn Now() -> Expr {
    func(FuncKind::Now, Vec::new())
}

/// A part of a date, time or date-time as an integer, as Django's
/// `Extract(expr, kind)`: `year`, `iso_year`, `quarter`, `month`, `week`,
/// `week_day` (1 is Sunday), `iso_week_day` (1 is Monday), `day`, `hour`,
/// `minute`, `second`. An instant's parts are those of the active time
/// zone ([`crate::timezone`]; UTC by default), as Django's.
pub fn Extract(expr: impl Into<Expr>, kind: &str) -> Expr {
    let part = Part::from_name(kind).filter(|p| p.extracts());
    Expr::from(Func {
        kind: FuncKind::Extract(part.unwrap_or(Part::Year)),
        args: vec![expr.into()],
        error: part.is_none().then(|| {
            format!(
                "Extract(): unknown part {:?}; expected one of: {}",
                crate::meta::shown(kind),
                Part::EXTRACT
            )
        }),
    })
}

/// A date, time or date-time cut to `kind`, as Django's `Trunc(expr,
/// kind)`: `year`, `quarter`, `month`, `week` (its Monday), `day`, `hour`,
/// `minute`, `second`, or `date` / `time` (the date or the time of a
/// date-time). An instant is cut in the active time zone
/// ([`crate::timezone`]; UTC by default) and stays an instant.
pub fn Trunc(expr: impl Into<Expr>, kind: &str) -> Expr {
    let part = Part::from_name(kind).filter(|p| p.truncates());
    Expr::from(Func {
        kind: FuncKind::Trunc(part.unwrap_or(Part::Day)),
        args: vec![expr.into()],
        error: part.is_none().then(|| {
            format!(
                "Trunc(): unknown kind {:?}; expected one of: {}",
                crate::meta::shown(kind),
                Part::TRUNC
            )
        }),
    })
}

macro_rules! shorthands {
    ($($(#[doc = $doc:literal])* $name:ident => $of:ident($kind:literal);)*) => {$(
        $(#[doc = $doc])*
        pub fn $name(expr: impl Into<Expr>) -> Expr {
            $of(expr, $kind)
        }
    )*};
}

shorthands! {
    /// `Extract(expr, "year")`.
    ExtractYear => Extract("year");
    /// `Extract(expr, "iso_year")`.
    ExtractIsoYear => Extract("iso_year");
    /// `Extract(expr, "quarter")`.
    ExtractQuarter => Extract("quarter");
    /// `Extract(expr, "month")`.
    ExtractMonth => Extract("month");
    /// `Extract(expr, "week")`.
    ExtractWeek => Extract("week");
    /// `Extract(expr, "week_day")`: 1 is Sunday.
    ExtractWeekDay => Extract("week_day");
    /// `Extract(expr, "iso_week_day")`: 1 is Monday.
    ExtractIsoWeekDay => Extract("iso_week_day");
    /// `Extract(expr, "day")`.
    ExtractDay => Extract("day");
    /// `Extract(expr, "hour")`.
    ExtractHour => Extract("hour");
    /// `Extract(expr, "minute")`.
    ExtractMinute => Extract("minute");
    /// `Extract(expr, "second")`.
    ExtractSecond => Extract("second");
    /// `Trunc(expr, "year")`.
    TruncYear => Trunc("year");
    /// `Trunc(expr, "quarter")`.
    TruncQuarter => Trunc("quarter");
    /// `Trunc(expr, "month")`.
    TruncMonth => Trunc("month");
    /// `Trunc(expr, "week")`.
    TruncWeek => Trunc("week");
    /// `Trunc(expr, "day")`.
    TruncDay => Trunc("day");
    /// `Trunc(expr, "date")`: the date of a date-time.
    TruncDate => Trunc("date");
    /// `Trunc(expr, "time")`: the time of a date-time.
    TruncTime => Trunc("time");
    /// `Trunc(expr, "hour")`.
    TruncHour => Trunc("hour");
    /// `Trunc(expr, "minute")`.
    TruncMinute => Trunc("minute");
    /// `Trunc(expr, "second")`.
    TruncSecond => Trunc("second");
}

/// The number rounded to `places` decimal places (Django's
/// `Round(expr, precision)`), of the number's own type.
pub fn Round(expr: impl Into<Expr>, places: i32) -> Expr {
    func(FuncKind::Round(places), vec![expr.into()])
}

/// The absolute value.
pub fn Abs(expr: impl Into<Expr>) -> Expr {
    func(FuncKind::Abs, vec![expr.into()])
}

/// The remainder of `a / b` (`MOD`).
pub fn Mod(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    func(FuncKind::Mod, vec![a.into(), b.into()])
}

/// `a` to the power `b`, a float (`POWER`).
pub fn Power(a: impl Into<Expr>, b: impl Into<Expr>) -> Expr {
    func(FuncKind::Power, vec![a.into(), b.into()])
}

/// A branch of [`Case()`]: when `condition` (on the queried model, written
/// with `q!` or the field handles) holds, the value `then`.
///
/// `q!` learns its model from where the condition goes; here, name it:
/// `When::<User>(q!(karma__gte = 100), Value("high"))` (a condition built
/// from the field handles, `User::fields().karma.gte(100)`, needs no
/// name).
pub fn When<M: Model>(condition: impl IntoQ<M>, then: impl Into<Expr>) -> When {
    let cond = condition.into_q().node;
    let error = cond
        .check_relations()
        .and_then(|()| cond.check_exprs(M::META))
        .and_then(|()| crate::query::q::check_nul(M::META, &cond))
        .err()
        .map(|e| e.to_string());
    When {
        model: M::META.name,
        cond,
        then: then.into(),
        error,
    }
}

/// `CASE WHEN .. THEN .. ELSE .. END`, as Django's `Case(When(..), ..,
/// default=..)`: the value of the first branch whose condition holds, else
/// [`default`](Case::default) (NULL without one).
pub fn Case(whens: impl IntoIterator<Item = When>) -> Case {
    Case {
        whens: whens.into_iter().collect(),
        default: None,
    }
}

/// The value of a one-field, one-row query, as Django's
/// `Subquery(qs.values("field")[:1])`: an annotation or update value taken
/// from another query, correlated with [`OuterRef`]
/// (the row the expression is computed for). Slice it to one row
/// (`.limit(1)`), as in Django: several rows are PostgreSQL's error; none
/// is NULL.
///
/// ```no_run
/// # use orm_core::prelude::*;
/// use orm_core::functions::{OuterRef, Subquery};
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, pub author: ForeignKey<User>, pub title: String }
/// # async fn run() -> orm_core::Result<()> {
/// let newest = Post::filter(q!(author = OuterRef("id"))).order_by(["-id"]).limit(1).values("title");
/// let users = User::all().annotate_expr("newest_post", Subquery(newest)).await?;
/// let title: Option<String> = users[0].get("newest_post")?;
/// # Ok(()) }
/// ```
pub fn Subquery<T: Model>(query: ValuesQuery<T>) -> Expr {
    let mut sub = query.into_subquery();
    if sub.error.is_none() {
        if let Err(e) = crate::query::q::check_nul(T::META, &sub.filter) {
            sub.error = Some(e.to_string());
        }
    }
    Expr::Subquery(sub)
}

/// What a [`Window()`] computes: a window function ([`RowNumber`],
/// [`Rank`], [`Lag`], ...) or an aggregate over the window's rows
/// (`Sum("views")`, `Count("*")`, on the model's own fields).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFunction {
    func: Result<WindowFunc, String>,
}

impl From<crate::query::Aggregate> for WindowFunction {
    fn from(agg: crate::query::Aggregate) -> Self {
        use crate::sql::aggregate::Function;
        let name = agg.function.title();
        let func = if agg.distinct {
            Err(format!("{name}() over a window cannot be distinct (PostgreSQL has no DISTINCT window aggregates)"))
        } else if agg.filter.is_some() || agg.default.is_some() || !agg.ordering.is_empty() {
            Err(format!(
                "{name}() over a window takes no filter, default or ordering"
            ))
        } else if !matches!(
            agg.function,
            Function::Count
                | Function::Sum
                | Function::Avg
                | Function::Min
                | Function::Max
                | Function::StdDev { .. }
                | Function::Variance { .. }
        ) {
            Err(format!("{name}() is not supported over a window"))
        } else if agg.field.contains("__") {
            Err(format!(
                "{name}(\"{}\") over a window: a window reads the model's own fields",
                crate::meta::shown(&agg.field)
            ))
        } else if agg.function == Function::Count && agg.field == "*" {
            Ok(WindowFunc::Aggregate(Function::Count, None))
        } else {
            Ok(WindowFunc::Aggregate(
                agg.function,
                Some(Expr::Field(agg.field)),
            ))
        };
        WindowFunction { func }
    }
}

fn window_fn(func: WindowFunc) -> WindowFunction {
    WindowFunction { func: Ok(func) }
}

/// The row's number in its partition, from 1 (`ROW_NUMBER()`).
pub fn RowNumber() -> WindowFunction {
    window_fn(WindowFunc::RowNumber)
}

/// The row's rank in its partition, with gaps after ties (`RANK()`).
pub fn Rank() -> WindowFunction {
    window_fn(WindowFunc::Rank)
}

/// The row's rank in its partition, without gaps (`DENSE_RANK()`).
pub fn DenseRank() -> WindowFunction {
    window_fn(WindowFunc::DenseRank)
}

/// The row's relative rank, 0 to 1 (`PERCENT_RANK()`).
pub fn PercentRank() -> WindowFunction {
    window_fn(WindowFunc::PercentRank)
}

/// The share of rows up to this one's peers, 0 to 1 (`CUME_DIST()`).
pub fn CumeDist() -> WindowFunction {
    window_fn(WindowFunc::CumeDist)
}

/// Which of `buckets` nearly equal groups the row falls in, from 1
/// (`NTILE(n)`).
pub fn Ntile(buckets: i64) -> WindowFunction {
    WindowFunction {
        func: if buckets > 0 {
            Ok(WindowFunc::Ntile(buckets))
        } else {
            Err(format!(
                "Ntile(): the number of buckets must be positive, not {buckets}"
            ))
        },
    }
}

/// The value `offset` rows before this one in the partition, else
/// `default` (NULL without one): Django's `Lag(expression, offset,
/// default)`.
pub fn Lag(expr: impl Into<Expr>, offset: i64, default: Option<Expr>) -> WindowFunction {
    offset_fn(expr.into(), offset, default, false)
}

/// The value `offset` rows after this one in the partition, else
/// `default`: Django's `Lead(expression, offset, default)`.
pub fn Lead(expr: impl Into<Expr>, offset: i64, default: Option<Expr>) -> WindowFunction {
    offset_fn(expr.into(), offset, default, true)
}

fn offset_fn(expr: Expr, offset: i64, default: Option<Expr>, lead: bool) -> WindowFunction {
    WindowFunction {
        func: if offset < 0 {
            Err(format!("the offset cannot be negative, not {offset}"))
        } else if lead {
            Ok(WindowFunc::Lead(expr, offset, default))
        } else {
            Ok(WindowFunc::Lag(expr, offset, default))
        },
    }
}

/// The value at the first row of the window frame (`FIRST_VALUE`).
pub fn FirstValue(expr: impl Into<Expr>) -> WindowFunction {
    window_fn(WindowFunc::FirstValue(expr.into()))
}

/// The value at the last row of the window frame (`LAST_VALUE`; with an
/// ordering the default frame ends at the current row's peers, as in SQL).
pub fn LastValue(expr: impl Into<Expr>) -> WindowFunction {
    window_fn(WindowFunc::LastValue(expr.into()))
}

/// The value at the `nth` row (from 1) of the window frame (`NTH_VALUE`).
pub fn NthValue(expr: impl Into<Expr>, nth: i64) -> WindowFunction {
    WindowFunction {
        func: if nth > 0 {
            Ok(WindowFunc::NthValue(expr.into(), nth))
        } else {
            Err(format!("NthValue(): the row is counted from 1, not {nth}"))
        },
    }
}

/// A window function or aggregate computed for each row over the rows of
/// its partition, as Django's `Window(expression, partition_by, order_by,
/// frame)`: an annotation (`annotate_expr("rank", Window(Rank())
/// .partition_by(["author"]).order_by(["-views"]))`) that can be filtered
/// on, as Django 4.2 allows (the query is then wrapped: PostgreSQL computes
/// windows after `WHERE`).
///
/// ```no_run
/// # use orm_core::prelude::*;
/// use orm_core::functions::{DenseRank, Window};
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post { #[orm(primary_key)] pub id: i64, pub author_id: i64, pub views: i64 }
/// # async fn run() -> orm_core::Result<()> {
/// // Each author's two most viewed posts.
/// let top = Post::all()
///     .annotate_expr("rank", Window(DenseRank()).partition_by(["author_id"]).order_by(["-views"]))
///     .filter("rank__lte", 2i64)
///     .await?;
/// // A running total.
/// let running = Post::all()
///     .annotate_expr("total", Window(Sum("views")).order_by(["id"]).rows(None, Some(0)))
///     .await?;
/// # Ok(()) }
/// ```
pub fn Window(function: impl Into<WindowFunction>) -> Window {
    let (func, error) = match function.into().func {
        Ok(func) => (func, None),
        Err(error) => (WindowFunc::RowNumber, Some(error)),
    };
    Window {
        func,
        partition: Vec::new(),
        order: Vec::new(),
        frame: None,
        error,
    }
}

impl Window {
    /// The partitions: rows with equal values of these expressions (a
    /// name is a field, as in Django) form one.
    #[must_use]
    pub fn partition_by<I, E>(mut self, exprs: I) -> Window
    where
        I: IntoIterator<Item = E>,
        E: Into<Expr>,
    {
        self.partition = exprs.into_iter().map(Into::into).collect();
        self
    }

    /// The order of the rows within a partition: names (`"-views"`),
    /// `F(..).desc()` or expressions, as [`QuerySet::order_by`](crate::QuerySet::order_by)
    /// takes them (on the model's own fields).
    #[must_use]
    pub fn order_by<I, O>(mut self, terms: I) -> Window
    where
        I: IntoIterator<Item = O>,
        O: Into<crate::query::OrderBy>,
    {
        self.order.clear();
        for term in terms {
            match term.into().into_expr() {
                Ok(term) => self.order.push(term),
                Err(why) => {
                    self.error.get_or_insert(why);
                }
            }
        }
        self
    }

    /// The frame in rows around the current one, as Django's
    /// `RowRange(start, end)`: `None` is unbounded, 0 the current row, a
    /// negative number rows before, a positive one rows after
    /// (`rows(None, Some(0))`: from the partition's first row to this one).
    #[must_use]
    pub fn rows(self, start: Option<i64>, end: Option<i64>) -> Window {
        self.frame(true, start, end)
    }

    /// As [`rows`](Window::rows), in values of the ordering (Django's
    /// `ValueRange`; PostgreSQL takes offsets there only with one ordering
    /// term of a number or date type).
    #[must_use]
    pub fn range(self, start: Option<i64>, end: Option<i64>) -> Window {
        self.frame(false, start, end)
    }

    fn frame(mut self, rows: bool, start: Option<i64>, end: Option<i64>) -> Window {
        if let (Some(a), Some(b)) = (start, end) {
            if a > b {
                self.error.get_or_insert(format!(
                    "a window frame from {a} to {b} ends before it starts"
                ));
            }
        }
        self.frame = Some(Frame { rows, start, end });
        self
    }
}
