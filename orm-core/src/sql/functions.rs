//! Database functions, conditional expressions and windows inside an
//! [`Expr`] (Django's `django.db.models.functions`, `Case`, `When`,
//! `Window`; the data is in `tree.rs`): what each takes, the type of its
//! value, and its SQL.
//!
//! Users build them with the constructors in [`crate::functions`]; they
//! render wherever an expression does (`annotate_expr`, `update`, a
//! filter's right-hand side, `order_by`).

use crate::error::{Error, Result};
use crate::meta::ModelMeta;
use crate::sql::clauses::push_direction;
use crate::sql::condition::{push_node, Scope};
use crate::sql::expr::value_type;
pub use crate::sql::tree::{Case, Func, When, Window};
use crate::sql::tree::{Expr, Function};
pub(crate) use crate::sql::tree::{Frame, FuncKind, Part, WindowFunc};
use crate::sql::SqlWriter;
use crate::types::SqlType;

impl Part {
    /// The part named `name` (Django's `lookup_name`s and `kind`s).
    pub(crate) fn from_name(name: &str) -> Option<Part> {
        Some(match name {
            "year" => Part::Year,
            "iso_year" => Part::IsoYear,
            "quarter" => Part::Quarter,
            "month" => Part::Month,
            "week" => Part::Week,
            "week_day" => Part::WeekDay,
            "iso_week_day" => Part::IsoWeekDay,
            "day" => Part::Day,
            "hour" => Part::Hour,
            "minute" => Part::Minute,
            "second" => Part::Second,
            "date" => Part::Date,
            "time" => Part::Time,
            _ => return None,
        })
    }

    /// The names `Extract` takes, for messages.
    pub(crate) const EXTRACT: &'static str = "year, iso_year, quarter, month, week, week_day, \
                                              iso_week_day, day, hour, minute, second";
    /// The names `Trunc` takes, for messages.
    pub(crate) const TRUNC: &'static str =
        "year, quarter, month, week, day, hour, minute, second, date, time";

    pub(crate) fn extracts(self) -> bool {
        !matches!(self, Part::Date | Part::Time)
    }

    pub(crate) fn truncates(self) -> bool {
        !matches!(self, Part::IsoYear | Part::WeekDay | Part::IsoWeekDay)
    }

    /// Whether a value of `ty` has this part.
    fn of(self, ty: SqlType) -> bool {
        let date = matches!(
            self,
            Part::Year
                | Part::IsoYear
                | Part::Quarter
                | Part::Month
                | Part::Week
                | Part::WeekDay
                | Part::IsoWeekDay
                | Part::Day
        );
        let time = matches!(self, Part::Hour | Part::Minute | Part::Second);
        match ty {
            SqlType::Timestamp | SqlType::TimestampTz => true,
            SqlType::Date => date,
            SqlType::Time => time,
            _ => false,
        }
    }

    /// The field of `EXTRACT(<field> FROM ..)` / `date_trunc('<field>', ..)`.
    fn sql(self) -> &'static str {
        match self {
            Part::Year => "YEAR",
            Part::IsoYear => "ISOYEAR",
            Part::Quarter => "QUARTER",
            Part::Month => "MONTH",
            Part::Week => "WEEK",
            Part::WeekDay => "DOW",
            Part::IsoWeekDay => "ISODOW",
            Part::Day => "DAY",
            Part::Hour => "HOUR",
            Part::Minute => "MINUTE",
            Part::Second => "SECOND",
            Part::Date | Part::Time => "DAY",
        }
    }

    fn trunc_name(self) -> &'static str {
        match self {
            Part::Year => "'year'",
            Part::Quarter => "'quarter'",
            Part::Month => "'month'",
            Part::Week => "'week'",
            Part::Day | Part::Date => "'day'",
            Part::Hour => "'hour'",
            Part::Minute => "'minute'",
            Part::Second | Part::Time => "'second'",
            Part::IsoYear | Part::WeekDay | Part::IsoWeekDay => "'day'",
        }
    }
}

impl FuncKind {
    fn name(self) -> &'static str {
        match self {
            FuncKind::Lower => "Lower",
            FuncKind::Upper => "Upper",
            FuncKind::Length => "Length",
            FuncKind::Trim => "Trim",
            FuncKind::LTrim => "LTrim",
            FuncKind::RTrim => "RTrim",
            FuncKind::Concat => "Concat",
            FuncKind::Replace => "Replace",
            FuncKind::StrIndex => "StrIndex",
            FuncKind::Substr(..) => "Substr",
            FuncKind::Coalesce => "Coalesce",
            FuncKind::Greatest => "Greatest",
            FuncKind::Least => "Least",
            FuncKind::NullIf => "NullIf",
            FuncKind::Cast(_) => "Cast",
            FuncKind::Now => "Now",
            FuncKind::Extract(_) => "Extract",
            FuncKind::Trunc(_) => "Trunc",
            FuncKind::Round(_) => "Round",
            FuncKind::Abs => "Abs",
            FuncKind::Mod => "Mod",
            FuncKind::Power => "Power",
        }
    }
}

impl Case {
    /// The value when no branch's condition holds (Django's `default=`).
    #[must_use]
    pub fn default(mut self, value: impl Into<Expr>) -> Case {
        self.default = Some(value.into());
        self
    }
}

impl From<Case> for Expr {
    fn from(case: Case) -> Expr {
        Expr::Case(Box::new(case))
    }
}

fn invalid(meta: &ModelMeta, reason: String) -> Error {
    Error::from(crate::error::QueryError {
        model: meta.name,
        reason,
    })
}

fn numeric(ty: SqlType) -> bool {
    matches!(
        ty,
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt | SqlType::Real | SqlType::Double
    )
}

fn text(ty: SqlType) -> bool {
    matches!(ty, SqlType::Text | SqlType::Enum(_) | SqlType::CiText)
}

impl Func {
    /// The number of arguments the function takes, as a range.
    fn arity(&self) -> (usize, usize) {
        match self.kind {
            FuncKind::Now => (0, 0),
            FuncKind::Concat | FuncKind::Coalesce | FuncKind::Greatest | FuncKind::Least => {
                (2, usize::MAX)
            }
            FuncKind::Replace => (2, 3),
            FuncKind::NullIf | FuncKind::StrIndex | FuncKind::Mod | FuncKind::Power => (2, 2),
            _ => (1, 1),
        }
    }

    /// Checks the arguments' number and types, and returns the type of
    /// the function's value. `arg` gives an argument's type (`None`: not
    /// known here, an `OuterRef`).
    pub(crate) fn result_type(
        &self,
        meta: &'static ModelMeta,
        arg: &dyn Fn(&Expr) -> Result<Option<SqlType>>,
    ) -> Result<Option<SqlType>> {
        let name = self.kind.name();
        if let Some(error) = &self.error {
            return Err(invalid(meta, error.clone()));
        }
        let (min, max) = self.arity();
        let n = self.args.len();
        if n < min || n > max {
            let wants = match (min, max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            };
            return Err(invalid(
                meta,
                format!("{name}() takes {wants} expressions, not {n}"),
            ));
        }
        let types: Vec<Option<SqlType>> = self.args.iter().map(arg).collect::<Result<_>>()?;
        let first = types.first().copied().flatten();
        let wrong = |what: &str, ty: SqlType| {
            invalid(meta, format!("{name}() takes {what}, not {}", ty.name()))
        };
        let need = |ok: fn(SqlType) -> bool, what: &str| -> Result<()> {
            match types.iter().flatten().find(|ty| !ok(**ty)) {
                Some(ty) => Err(wrong(what, *ty)),
                None => Ok(()),
            }
        };
        Ok(match self.kind {
            FuncKind::Lower
            | FuncKind::Upper
            | FuncKind::Trim
            | FuncKind::LTrim
            | FuncKind::RTrim
            | FuncKind::Replace
            | FuncKind::Substr(..) => {
                need(text, "text")?;
                Some(SqlType::Text)
            }
            FuncKind::Length | FuncKind::StrIndex => {
                need(text, "text")?;
                Some(SqlType::Integer)
            }
            FuncKind::Concat => Some(SqlType::Text),
            FuncKind::Coalesce | FuncKind::Greatest | FuncKind::Least | FuncKind::NullIf => {
                // The first known type; PostgreSQL refuses mixed ones.
                let known = types.iter().flatten().copied().next();
                if let Some(ty) = known {
                    for other in types.iter().flatten() {
                        let same = other.name() == ty.name()
                            || (numeric(*other) && numeric(ty))
                            || (text(*other) && text(ty));
                        if !same {
                            return Err(invalid(
                                meta,
                                format!(
                                    "{name}() takes expressions of one type, not {} and {}",
                                    ty.name(),
                                    other.name()
                                ),
                            ));
                        }
                    }
                }
                known
            }
            FuncKind::Cast(ty) => Some(ty),
            FuncKind::Now => Some(SqlType::TimestampTz),
            FuncKind::Extract(part) => {
                if let Some(ty) = first {
                    if !part.of(ty) {
                        return Err(wrong("a date, time or date-time with that part", ty));
                    }
                }
                Some(SqlType::Integer)
            }
            FuncKind::Trunc(part) => match (part, first) {
                (Part::Date, Some(SqlType::Timestamp | SqlType::TimestampTz)) => {
                    Some(SqlType::Date)
                }
                (Part::Time, Some(SqlType::Timestamp | SqlType::TimestampTz)) => {
                    Some(SqlType::Time)
                }
                (Part::Date | Part::Time, Some(ty)) => return Err(wrong("a date-time", ty)),
                (_, Some(ty)) if !part.of(ty) => {
                    return Err(wrong("a date, time or date-time with that part", ty));
                }
                (_, ty) => ty,
            },
            FuncKind::Round(_) | FuncKind::Abs => {
                need(numeric, "a number")?;
                first
            }
            FuncKind::Mod => {
                need(numeric, "numbers")?;
                if types
                    .iter()
                    .flatten()
                    .any(|t| matches!(t, SqlType::Real | SqlType::Double))
                {
                    Some(SqlType::Double)
                } else {
                    Some(SqlType::BigInt)
                }
            }
            FuncKind::Power => {
                need(numeric, "numbers")?;
                Some(SqlType::Double)
            }
        })
    }

    /// Renders the function; `arg_type` is each argument's checked type.
    pub(crate) fn push_sql(
        &self,
        w: &mut SqlWriter,
        scope: Scope<'_>,
        arg_type: &dyn Fn(&Expr) -> Option<SqlType>,
    ) {
        let arg = |w: &mut SqlWriter, e: &Expr| push_arg(w, scope, e);
        let args = |w: &mut SqlWriter, sep: &'static str| {
            w.push_list(&self.args, sep, |w, e| push_arg(w, scope, e));
        };
        let call = |w: &mut SqlWriter, name: &'static str| {
            w.push_sql(name);
            w.push_sql("(");
            args(w, ", ");
            w.push_sql(")");
        };
        let first = self.args.first();
        match self.kind {
            FuncKind::Lower => call(w, "LOWER"),
            FuncKind::Upper => call(w, "UPPER"),
            FuncKind::Length => call(w, "LENGTH"),
            FuncKind::Trim => call(w, "BTRIM"),
            FuncKind::LTrim => call(w, "LTRIM"),
            FuncKind::RTrim => call(w, "RTRIM"),
            FuncKind::Concat => {
                // Django: NULLs are empty text (PostgreSQL's CONCAT skips them).
                w.push_sql("CONCAT(");
                w.push_list(&self.args, ", ", |w, e| {
                    push_arg(w, scope, e);
                    w.push_sql("::text");
                });
                w.push_sql(")");
            }
            FuncKind::Replace => {
                // Django's default replacement is the empty text.
                w.push_sql("REPLACE(");
                args(w, ", ");
                if self.args.len() == 2 {
                    w.push_sql(", ''");
                }
                w.push_sql(")");
            }
            FuncKind::StrIndex => call(w, "STRPOS"),
            FuncKind::Substr(pos, len) => {
                w.push_sql("SUBSTRING(");
                args(w, ", ");
                w.push_sql(", ");
                w.push_int(pos);
                if let Some(len) = len {
                    w.push_sql(", ");
                    w.push_int(len);
                }
                w.push_sql(")");
            }
            FuncKind::Coalesce => call(w, "COALESCE"),
            FuncKind::Greatest => call(w, "GREATEST"),
            FuncKind::Least => call(w, "LEAST"),
            FuncKind::NullIf => call(w, "NULLIF"),
            FuncKind::Cast(ty) => {
                w.push_sql("CAST(");
                args(w, ", ");
                w.push_sql(" AS ");
                w.push_text(&ty.ddl(None));
                w.push_sql(")");
            }
            FuncKind::Now => w.push_sql("STATEMENT_TIMESTAMP()"),
            FuncKind::Extract(part) => {
                let second = part == Part::Second;
                w.push_sql(if second {
                    "(FLOOR(EXTRACT("
                } else {
                    "(EXTRACT("
                });
                w.push_sql(part.sql());
                w.push_sql(" FROM ");
                if let Some(e) = first {
                    push_in_zone(w, scope, e, arg_type(e));
                }
                w.push_sql(if second { "))" } else { ")" });
                if part == Part::WeekDay {
                    // Django's week_day: 1 is Sunday.
                    w.push_sql(" + 1");
                }
                w.push_sql(")::integer");
            }
            FuncKind::Trunc(part) => {
                let ty = first.and_then(arg_type);
                match part {
                    Part::Date | Part::Time => {
                        w.push_sql("(");
                        if let Some(e) = first {
                            push_in_zone(w, scope, e, ty);
                        }
                        w.push_sql(if part == Part::Date {
                            ")::date"
                        } else {
                            ")::time"
                        });
                    }
                    _ => {
                        let instant = ty == Some(SqlType::TimestampTz);
                        if instant {
                            w.push_sql("(");
                        }
                        w.push_sql("DATE_TRUNC(");
                        w.push_sql(part.trunc_name());
                        w.push_sql(", ");
                        if let Some(e) = first {
                            push_in_zone(w, scope, e, ty);
                        }
                        w.push_sql(")");
                        match ty {
                            // Back to an instant, in the zone it was cut in
                            // (`instant`: parenthesized, as a cast may follow).
                            Some(SqlType::TimestampTz) => {
                                w.push_sql(" AT TIME ZONE ");
                                push_zone(w);
                                w.push_sql(")");
                            }
                            Some(SqlType::Date) => w.push_sql("::date"),
                            Some(SqlType::Time) => w.push_sql("::time"),
                            _ => {}
                        }
                    }
                }
            }
            FuncKind::Round(places) => {
                let ty = first.and_then(arg_type);
                w.push_sql("ROUND((");
                if let Some(e) = first {
                    arg(w, e);
                }
                w.push_sql(")::numeric, ");
                w.push_int(i64::from(places));
                w.push_sql(")::");
                w.push_text(&ty.unwrap_or(SqlType::Double).ddl(None));
            }
            FuncKind::Abs => call(w, "ABS"),
            FuncKind::Mod => {
                let float = self
                    .args
                    .iter()
                    .any(|e| matches!(arg_type(e), Some(SqlType::Real | SqlType::Double)));
                if float {
                    w.push_sql("MOD(");
                    w.push_list(&self.args, ", ", |w, e| {
                        w.push_sql("(");
                        push_arg(w, scope, e);
                        w.push_sql(")::numeric");
                    });
                    w.push_sql(")::double precision");
                } else {
                    w.push_sql("MOD(");
                    w.push_list(&self.args, ", ", |w, e| {
                        push_arg(w, scope, e);
                        w.push_sql("::bigint");
                    });
                    w.push_sql(")");
                }
            }
            FuncKind::Power => {
                w.push_sql("POWER(");
                w.push_list(&self.args, ", ", |w, e| {
                    push_arg(w, scope, e);
                    w.push_sql("::double precision");
                });
                w.push_sql(")");
            }
        }
    }
}

/// An argument: a value says its type (PostgreSQL cannot infer a
/// parameter's type inside `CONCAT`, `COALESCE(.., ..)` of parameters, ...).
fn push_arg(w: &mut SqlWriter, scope: Scope<'_>, e: &Expr) {
    match e {
        Expr::Value(v) => {
            w.push_bind(v.clone());
            if let Some(ty) = value_type(v) {
                w.push_sql("::");
                w.push_text(&ty.ddl(None));
            }
        }
        other => other.push_sql(w, scope),
    }
}

/// A date-time argument of `Extract`/`Trunc`, in the active time zone
/// ([`crate::timezone::current`], read when the query is rendered: when
/// it runs) when it is an instant (`timestamptz`), as Django's: its date
/// and time parts are that zone's.
fn push_in_zone(w: &mut SqlWriter, scope: Scope<'_>, e: &Expr, ty: Option<SqlType>) {
    if ty == Some(SqlType::TimestampTz) {
        w.push_sql("(");
        push_arg(w, scope, e);
        w.push_sql(" AT TIME ZONE ");
        push_zone(w);
        w.push_sql(")");
    } else {
        push_arg(w, scope, e);
    }
}

/// The active time zone's name, a bound value.
fn push_zone(w: &mut SqlWriter) {
    w.push_bind(crate::value::Value::Text(Some(crate::timezone::current())));
}

impl Case {
    /// Checks each branch (its condition written for `meta`'s model) and
    /// returns the type of the value: the first known one of the
    /// branches' values and the default.
    pub(crate) fn result_type(
        &self,
        meta: &'static ModelMeta,
        arg: &dyn Fn(&Expr) -> Result<Option<SqlType>>,
    ) -> Result<Option<SqlType>> {
        if self.whens.is_empty() {
            return Err(invalid(meta, "Case() needs at least one When()".into()));
        }
        let mut known = None;
        for when in &self.whens {
            if when.model != meta.name {
                return Err(invalid(
                    meta,
                    format!(
                        "When() holds a condition on {}, not on {}",
                        when.model, meta.name
                    ),
                ));
            }
            if let Some(error) = &when.error {
                return Err(invalid(meta, error.clone()));
            }
            known = known.or(arg(&when.then)?);
        }
        if let Some(default) = &self.default {
            known = known.or(arg(default)?);
        }
        Ok(known)
    }

    /// Renders `CASE WHEN <cond> THEN <value> .. ELSE <default> END`.
    pub(crate) fn push_sql(&self, w: &mut SqlWriter, scope: Scope<'_>) {
        let (alias, meta) = scope.row;
        let inner = Scope {
            alias,
            meta,
            depth: scope.depth + 1,
            same_row: true,
            outer: scope.outer,
            row: scope.row,
            joined: &[],
            reached: &[],
        };
        w.push_sql("CASE");
        for when in &self.whens {
            w.push_sql(" WHEN ");
            let cond = when.cond.simplify();
            push_node(w, inner, &cond, false);
            w.push_sql(" THEN ");
            push_arg(w, scope, &when.then);
        }
        if let Some(default) = &self.default {
            w.push_sql(" ELSE ");
            push_arg(w, scope, default);
        }
        w.push_sql(" END");
    }
}

impl From<Window> for Expr {
    fn from(window: Window) -> Expr {
        Expr::Window(Box::new(window))
    }
}

impl Window {
    fn exprs(&self) -> impl Iterator<Item = &Expr> {
        let func: Vec<&Expr> = match &self.func {
            WindowFunc::Lag(e, _, d) | WindowFunc::Lead(e, _, d) => {
                std::iter::once(e).chain(d.as_ref()).collect()
            }
            WindowFunc::FirstValue(e) | WindowFunc::LastValue(e) | WindowFunc::NthValue(e, _) => {
                vec![e]
            }
            WindowFunc::Aggregate(_, e) => e.iter().collect(),
            _ => Vec::new(),
        };
        func.into_iter()
            .chain(self.partition.iter())
            .chain(self.order.iter().map(|(e, ..)| e))
    }

    /// True when a value of the window is text with a NUL character.
    pub(crate) fn has_nul(&self) -> bool {
        self.exprs().any(Expr::has_nul)
    }

    /// Checks every expression of the window and returns the type of its
    /// value.
    pub(crate) fn result_type(
        &self,
        meta: &'static ModelMeta,
        arg: &dyn Fn(&Expr) -> Result<Option<SqlType>>,
    ) -> Result<Option<SqlType>> {
        if let Some(error) = &self.error {
            return Err(invalid(meta, error.clone()));
        }
        for e in self
            .partition
            .iter()
            .chain(self.order.iter().map(|(e, ..)| e))
        {
            arg(e)?;
        }
        let of = |e: &Expr| arg(e);
        Ok(match &self.func {
            WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank => {
                Some(SqlType::BigInt)
            }
            WindowFunc::Ntile(_) => Some(SqlType::Integer),
            WindowFunc::PercentRank | WindowFunc::CumeDist => Some(SqlType::Double),
            WindowFunc::Lag(e, _, default) | WindowFunc::Lead(e, _, default) => {
                let ty = of(e)?;
                if let Some(d) = default {
                    of(d)?;
                }
                ty
            }
            WindowFunc::FirstValue(e) | WindowFunc::LastValue(e) | WindowFunc::NthValue(e, _) => {
                of(e)?
            }
            WindowFunc::Aggregate(Function::Count, _) => Some(SqlType::BigInt),
            WindowFunc::Aggregate(f, Some(e)) => {
                let ty = of(e)?;
                match (f, ty) {
                    (Function::Min | Function::Max, ty) => ty,
                    (_, Some(ty)) if !numeric(ty) => {
                        return Err(invalid(
                            meta,
                            format!(
                                "{}() over a window takes a number, not {}",
                                f.title(),
                                ty.name()
                            ),
                        ))
                    }
                    (Function::Sum, Some(SqlType::Real | SqlType::Double)) => Some(SqlType::Double),
                    (Function::Sum, _) => Some(SqlType::BigInt),
                    _ => Some(SqlType::Double),
                }
            }
            WindowFunc::Aggregate(f, None) => {
                return Err(invalid(meta, format!("{}() needs a field", f.title())))
            }
        })
    }

    /// Renders `<function> OVER (PARTITION BY .. ORDER BY .. ROWS ..)`,
    /// cast to `ty` (the value's type, as the function's own may be
    /// another: `SUM` of a `bigint` is `numeric`).
    pub(crate) fn push_sql(&self, w: &mut SqlWriter, scope: Scope<'_>, ty: Option<SqlType>) {
        let arg = |w: &mut SqlWriter, e: &Expr| push_arg(w, scope, e);
        w.push_sql("(");
        match &self.func {
            WindowFunc::RowNumber => w.push_sql("ROW_NUMBER()"),
            WindowFunc::Rank => w.push_sql("RANK()"),
            WindowFunc::DenseRank => w.push_sql("DENSE_RANK()"),
            WindowFunc::PercentRank => w.push_sql("PERCENT_RANK()"),
            WindowFunc::CumeDist => w.push_sql("CUME_DIST()"),
            WindowFunc::Ntile(n) => {
                w.push_sql("NTILE(");
                w.push_int(*n);
                w.push_sql(")");
            }
            WindowFunc::Lag(e, offset, default) | WindowFunc::Lead(e, offset, default) => {
                w.push_sql(if matches!(self.func, WindowFunc::Lag(..)) {
                    "LAG("
                } else {
                    "LEAD("
                });
                arg(w, e);
                w.push_sql(", ");
                w.push_int(*offset);
                if let Some(d) = default {
                    w.push_sql(", ");
                    arg(w, d);
                }
                w.push_sql(")");
            }
            WindowFunc::FirstValue(e) => {
                w.push_sql("FIRST_VALUE(");
                arg(w, e);
                w.push_sql(")");
            }
            WindowFunc::LastValue(e) => {
                w.push_sql("LAST_VALUE(");
                arg(w, e);
                w.push_sql(")");
            }
            WindowFunc::NthValue(e, n) => {
                w.push_sql("NTH_VALUE(");
                arg(w, e);
                w.push_sql(", ");
                w.push_int(*n);
                w.push_sql(")");
            }
            WindowFunc::Aggregate(Function::Count, None) => w.push_sql("COUNT(*)"),
            WindowFunc::Aggregate(f, e) => {
                w.push_sql(f.sql());
                w.push_sql("(");
                if let Some(e) = e {
                    arg(w, e);
                }
                w.push_sql(")");
            }
        }
        w.push_sql(" OVER (");
        let mut space = false;
        if !self.partition.is_empty() {
            w.push_sql("PARTITION BY ");
            w.push_list(&self.partition, ", ", |w, e| arg(w, e));
            space = true;
        }
        if !self.order.is_empty() {
            w.push_sql(if space { " ORDER BY " } else { "ORDER BY " });
            w.push_list(&self.order, ", ", |w, (e, desc, nulls)| {
                arg(w, e);
                push_direction(w, *desc, *nulls);
            });
            space = true;
        }
        if let Some(frame) = self.frame {
            if space {
                w.push_sql(" ");
            }
            w.push_sql(if frame.rows {
                "ROWS BETWEEN "
            } else {
                "RANGE BETWEEN "
            });
            push_bound(w, frame.start, " PRECEDING");
            w.push_sql(" AND ");
            push_bound(w, frame.end, " FOLLOWING");
        }
        w.push_sql("))");
        if let Some(ty) = ty {
            w.push_sql("::");
            w.push_text(&ty.ddl(None));
        }
    }
}

/// A frame bound; `unbounded` says which side `None` is.
fn push_bound(w: &mut SqlWriter, bound: Option<i64>, unbounded: &'static str) {
    match bound {
        None => {
            w.push_sql("UNBOUNDED");
            w.push_sql(unbounded);
        }
        Some(0) => w.push_sql("CURRENT ROW"),
        Some(n) => {
            w.push_int(n.unsigned_abs().min(i64::MAX as u64) as i64);
            w.push_sql(if n < 0 { " PRECEDING" } else { " FOLLOWING" });
        }
    }
}
