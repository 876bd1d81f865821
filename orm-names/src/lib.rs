//! The names and naming rules that `q!` and `#[derive(Model)]` (in
//! `orm-derive`, at compile time) and the runtime (`orm-core`) must agree
//! on, each in one place:
//!
//! - [`Lookup`]: the lookups of a filter key (`field__lookup`), one row
//!   per lookup with its name and what both sides need to know about it
//!   (its field-handle method, the value it takes, the fields it applies
//!   to); [`Lookup::split`] reads a key.
//! - [`Transform`]: the date and time transforms (`created__year`,
//!   `created__date`), one row each with its name, its handle method, the
//!   fields it applies to and the value it yields; the lookups of the
//!   value it yields follow it, and so may another transform
//!   (`created__date__year`).
//! - [`snake_case`]: a model's default table name, and the link columns
//!   of a many-to-many table.
//!
//! An internal crate of the ORM: use it through `orm-core`.

#![forbid(unsafe_code)]

use std::fmt;

/// What a lookup's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// One value of the field's type: `karma__gte = 10`.
    One,
    /// One text, a regular expression the server runs: a runtime filter
    /// bounds its length apart from other values.
    Pattern,
    /// A list of values of the field's type: `id__in = [1, 2]`
    /// (comma-separated in a runtime filter).
    List,
    /// Two values of the field's type, the low and high bounds:
    /// `karma__range = (1, 9)` (`1,9` in a runtime filter).
    Pair,
    /// A bool: `email__isnull = true`.
    Bool,
}

/// Which fields a lookup applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// Every field (and, for `isnull`, a relation: whether a related row
    /// exists).
    Any,
    /// Text fields only.
    Text,
    /// Fields of a type with an order (not booleans, bytes, JSON, enums or
    /// arrays).
    Ordered,
    /// Array fields (`Vec<T>`, PostgreSQL `T[]`).
    Array,
    /// Text fields (a substring) and array fields (every element of the
    /// value in the array): `contains`; on a JSON field, containment of
    /// JSON (`@>`).
    TextOrArray,
    /// Range fields (`Range<T>`, PostgreSQL's range types); see also
    /// [`RANGE_LOOKUPS`], the lookups of the table a range field takes.
    Range,
    /// JSON fields (`jsonb`, Django's `JSONField`), and a key of one:
    /// `has_key`, `has_keys`, `has_any_keys`.
    Json,
}

/// `null` in the table's "None" column: the lookup takes `None`.
macro_rules! takes_null {
    (null) => {
        true
    };
    (-) => {
        false
    };
}

/// A method name in the table, or `-` for none.
macro_rules! method {
    (-) => {
        None
    };
    ($method:ident) => {
        Some(stringify!($method))
    };
}

/// The table: one row per lookup. Generates [`Lookup`] and its accessors,
/// so that a row is all there is to add (the compiler then asks for the
/// lookup in every `match` on it: its runtime condition, its rendering,
/// its handle method).
macro_rules! lookups {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $name:literal, $method:ident, $operand:ident, $fields:ident,
            $null:tt, $expr:tt;
    )*) => {
        /// A lookup of a filter key: `icontains` in `name__icontains`.
        ///
        /// Read by `q!` (which turns it into a call on the typed field
        /// handle) and by `orm-core`'s runtime `Lookup::parse` (which checks
        /// it against the field's type); [`Lookup::ALL`] lists them in the
        /// order error messages do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Lookup {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Lookup {
            /// Every lookup, in the order of the table (the order error
            /// messages list them in).
            pub const ALL: &'static [Lookup] = &[$(Lookup::$variant),*];

            /// The name in a key: `icontains`, `in`, `isnull`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Lookup::$variant => $name,)*
                }
            }

            /// The method of a typed field handle (`User::fields().name`)
            /// that builds this lookup's condition, and that `q!` calls:
            /// `eq` for `exact`, `in_` for `in`, `is_null` for `isnull`, else
            /// the name.
            pub const fn method(self) -> &'static str {
                match self {
                    $(Lookup::$variant => stringify!($method),)*
                }
            }

            /// What the lookup's value is.
            pub const fn operand(self) -> Operand {
                match self {
                    $(Lookup::$variant => Operand::$operand,)*
                }
            }

            /// Which fields the lookup applies to.
            pub const fn applies_to(self) -> FieldKind {
                match self {
                    $(Lookup::$variant => FieldKind::$fields,)*
                }
            }

            /// True when the value may be `None` (a NULL), which means IS
            /// NULL, as in Django: `exact` and `iexact`. Other lookups refuse
            /// it.
            pub const fn takes_null(self) -> bool {
                match self {
                    $(Lookup::$variant => takes_null!($null),)*
                }
            }

            /// The field-handle method `q!` calls when the value is an `F()`
            /// expression (`q!(views__gt = F("likes"))`): `gt_expr` for
            /// `gt`. `None`: the lookup does not take one.
            pub const fn expr_method(self) -> Option<&'static str> {
                match self {
                    $(Lookup::$variant => method!($expr),)*
                }
            }
        }
    };
}

lookups! {
    // variant    = name,          handle method, operand, fields,  None, with F();
    /// Equal to the value (`=`); `None` means IS NULL.
    Exact         = "exact",       eq,            One,     Any,     null, eq_expr;
    /// Equal ignoring case; `None` means IS NULL.
    IExact        = "iexact",      iexact,        One,     Text,    null, -;
    /// Contains the text (`LIKE '%text%'`); on an array field, holds every
    /// element of the value (`@>`).
    Contains      = "contains",    contains,      One,     TextOrArray, -, -;
    /// Contains the text, ignoring case.
    IContains     = "icontains",   icontains,     One,     Text,    -,    -;
    /// Starts with the text (`LIKE 'text%'`).
    StartsWith    = "startswith",  startswith,    One,     Text,    -,    -;
    /// Starts with the text, ignoring case.
    IStartsWith   = "istartswith", istartswith,   One,     Text,    -,    -;
    /// Ends with the text (`LIKE '%text'`).
    EndsWith      = "endswith",    endswith,      One,     Text,    -,    -;
    /// Ends with the text, ignoring case.
    IEndsWith     = "iendswith",   iendswith,     One,     Text,    -,    -;
    /// Equal to one of the values.
    In            = "in",          in_,           List,    Any,     -,    -;
    /// Greater than the value.
    Gt            = "gt",          gt,            One,     Ordered, -,    gt_expr;
    /// Greater than or equal to the value.
    Gte           = "gte",         gte,           One,     Ordered, -,    gte_expr;
    /// Less than the value.
    Lt            = "lt",          lt,            One,     Ordered, -,    lt_expr;
    /// Less than or equal to the value.
    Lte           = "lte",         lte,           One,     Ordered, -,    lte_expr;
    /// Between the two values, both included (`BETWEEN`).
    Range         = "range",       range,         Pair,    Ordered, -,    -;
    /// IS NULL when `true`, IS NOT NULL when `false`.
    IsNull        = "isnull",      is_null,       Bool,    Any,     -,    -;
    /// Matches the regular expression (PostgreSQL's `~`).
    Regex         = "regex",       regex,         Pattern, Text,    -,    -;
    /// Matches the regular expression, ignoring case (`~*`).
    IRegex        = "iregex",      iregex,        Pattern, Text,    -,    -;
    /// An array field whose elements are all in the value (`<@`).
    ContainedBy   = "contained_by", contained_by, One,     Array,   -,    -;
    /// An array field sharing an element with the value (`&&`).
    Overlap       = "overlap",     overlap,       One,     Array,   -,    -;
    /// A range field entirely before the value (`<<`).
    FullyLt       = "fully_lt",    fully_lt,      One,     Range,   -,    -;
    /// A range field entirely after the value (`>>`).
    FullyGt       = "fully_gt",    fully_gt,      One,     Range,   -,    -;
    /// A range field not extending to the left of the value (`&>`).
    NotLt         = "not_lt",      not_lt,        One,     Range,   -,    -;
    /// A range field not extending to the right of the value (`&<`).
    NotGt         = "not_gt",      not_gt,        One,     Range,   -,    -;
    /// A range field adjacent to the value (`-|-`).
    AdjacentTo    = "adjacent_to", adjacent_to,   One,     Range,   -,    -;
    /// A range field that is (not) empty.
    IsEmpty       = "isempty",     isempty,       Bool,    Range,   -,    -;
    /// A range field whose lower bound is (not) included.
    LowerInc      = "lower_inc",   lower_inc,     Bool,    Range,   -,    -;
    /// A range field without (with) a lower bound.
    LowerInf      = "lower_inf",   lower_inf,     Bool,    Range,   -,    -;
    /// A range field whose upper bound is (not) included.
    UpperInc      = "upper_inc",   upper_inc,     Bool,    Range,   -,    -;
    /// A range field without (with) an upper bound.
    UpperInf      = "upper_inf",   upper_inf,     Bool,    Range,   -,    -;
    /// A JSON object holding the key (`?`).
    HasKey        = "has_key",     has_key,       One,     Json,    -,    -;
    /// A JSON object holding every key of the list (`?&`).
    HasKeys       = "has_keys",    has_keys,      List,    Json,    -,    -;
    /// A JSON object holding at least one key of the list (`?|`).
    HasAnyKeys    = "has_any_keys", has_any_keys, List,    Json,    -,    -;
    /// Full-text search of a text field (`to_tsvector(COALESCE(col, ''))
    /// @@ plainto_tsquery($1)`); the value is a text or a `SearchQuery`.
    Search        = "search",      search,        One,     Text,    -,    -;
}

/// The lookups of a range field (Django's `RangeField`): `exact`, `in`,
/// `isnull`, the range forms of `contains` (an element or a range, `@>`),
/// `contained_by` (`<@`) and `overlap` (`&&`), `startswith` / `endswith`
/// (the lower / upper bound equals an element), and the range-only rows
/// ([`FieldKind::Range`]).
pub const RANGE_LOOKUPS: &[Lookup] = &[
    Lookup::Exact,
    Lookup::In,
    Lookup::IsNull,
    Lookup::Contains,
    Lookup::ContainedBy,
    Lookup::Overlap,
    Lookup::StartsWith,
    Lookup::EndsWith,
    Lookup::FullyLt,
    Lookup::FullyGt,
    Lookup::NotLt,
    Lookup::NotGt,
    Lookup::AdjacentTo,
    Lookup::IsEmpty,
    Lookup::LowerInc,
    Lookup::LowerInf,
    Lookup::UpperInc,
    Lookup::UpperInf,
];

/// The names that, after a range field and before a lookup, are its
/// bounds (Django's `RangeStartsWith` / `RangeEndsWith` transforms):
/// `span__startswith__gte = 3` compares the lower bound, `endswith` the
/// upper one. The same names at the end of a key are the lookups
/// `startswith` / `endswith` (equal to the bound).
pub const RANGE_ENDS: &[&str] = &["startswith", "endswith"];

impl Lookup {
    /// The lookup named `name`; `None` for a name that is not one.
    pub fn from_name(name: &str) -> Option<Lookup> {
        Lookup::ALL.iter().copied().find(|l| l.name() == name)
    }

    /// Reads a key as `q!` and the runtime do: the last `__`-separated name
    /// is the lookup when it is one. `author__name__icontains` is
    /// (`author__name`, `Some(IContains)`); `author__name` and `icontains`
    /// (no `__`) are themselves with `None`. The names before the lookup
    /// may be empty (`__exact` is an empty name and `Some(Exact)`): the
    /// caller refuses them.
    pub fn split(key: &str) -> (&str, Option<Lookup>) {
        match key.rsplit_once("__") {
            Some((names, last)) => match Lookup::from_name(last) {
                Some(lookup) => (names, Some(lookup)),
                None => (key, None),
            },
            None => (key, None),
        }
    }
}

impl fmt::Display for Lookup {
    /// The lookup's [`name`](Lookup::name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The expression constructors of `orm_core::functions` (and `F`,
/// `OuterRef`): a `q!` value that calls one is an expression over the row
/// (`q!(seen = Now())`, `q!(name = Lower(F("name")))`), not a value.
pub const EXPRESSIONS: &[&str] = &[
    "F",
    "OuterRef",
    "Value",
    "Lower",
    "Upper",
    "Length",
    "Trim",
    "LTrim",
    "RTrim",
    "Concat",
    "Replace",
    "StrIndex",
    "Substr",
    "Coalesce",
    "Greatest",
    "Least",
    "NullIf",
    "Cast",
    "Now",
    "Extract",
    "ExtractYear",
    "ExtractIsoYear",
    "ExtractQuarter",
    "ExtractMonth",
    "ExtractWeek",
    "ExtractWeekDay",
    "ExtractIsoWeekDay",
    "ExtractDay",
    "ExtractHour",
    "ExtractMinute",
    "ExtractSecond",
    "Trunc",
    "TruncYear",
    "TruncQuarter",
    "TruncMonth",
    "TruncWeek",
    "TruncDay",
    "TruncDate",
    "TruncTime",
    "TruncHour",
    "TruncMinute",
    "TruncSecond",
    "Round",
    "Abs",
    "Mod",
    "Power",
    "Case",
    "Subquery",
    // Not `SearchQuery`: like Django's (a `Value`), it is the value of a
    // `search` lookup, not an expression over the row.
    "SearchVector",
    "SearchRank",
    "SearchHeadline",
];

/// Which field types a [`Transform`] applies to (as Django's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformOn {
    /// Dates and date-times: `date`, `timestamp`, `timestamptz`.
    Date,
    /// Date-times only: `timestamp`, `timestamptz`.
    DateTime,
    /// Times and date-times: `time`, `timestamp`, `timestamptz`.
    Time,
    /// Arrays (`T[]`).
    Array,
    /// Text (`text`, `varchar`): Django's text functions registered as
    /// transforms (`name__lower__startswith`).
    Text,
}

/// What a [`Transform`] yields: the type of the value its lookups compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformOutput {
    /// An integer (`i32`): `created__year = 2024`.
    Int,
    /// A date (`NaiveDate`): `created__date = day`.
    Date,
    /// A time of day (`NaiveTime`): `created__time__lt = noon`.
    Time,
    /// Text (`String`): `name__lower__startswith = "a"`.
    Text,
}

/// The table of transforms: one row each. Generates [`Transform`] and its
/// accessors.
macro_rules! transforms {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $name:literal, $method:ident, $output:ident, $on:ident;
    )*) => {
        /// A transform of a filter key: `year` in `created__year__gte`
        /// (dates and times), `len` in `tags__len` (arrays). The field's value is transformed (in the
        /// active time zone for a `timestamptz`) before the lookup
        /// compares it; the lookups of the value it yields follow it, or
        /// another transform of that value (`created__date__year`).
        ///
        /// Read by `q!` (a name of this table after a field is a
        /// transform unless the field is a relation) and by `orm-core`'s
        /// runtime `Lookup::parse`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Transform {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Transform {
            /// Every transform, in the order of the table.
            pub const ALL: &'static [Transform] = &[$(Transform::$variant),*];

            /// The name in a key: `year`, `iso_week_day`, `date`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Transform::$variant => $name,)*
                }
            }

            /// The method of a typed field handle that applies it (and
            /// that `q!` relies on): the name.
            pub const fn method(self) -> &'static str {
                match self {
                    $(Transform::$variant => stringify!($method),)*
                }
            }

            /// What it yields.
            pub const fn output(self) -> TransformOutput {
                match self {
                    $(Transform::$variant => TransformOutput::$output,)*
                }
            }

            /// Which fields it applies to.
            pub const fn applies_to(self) -> TransformOn {
                match self {
                    $(Transform::$variant => TransformOn::$on,)*
                }
            }
        }
    };
}

transforms! {
    // variant  = name,           method,       output, fields;
    /// The calendar year; `year` lookups are ranges on the column.
    Year       = "year",         year,         Int,    Date;
    /// The ISO 8601 week-numbering year (weeks start on Monday; week 1
    /// holds the year's first Thursday); its lookups are ranges too.
    IsoYear    = "iso_year",     iso_year,     Int,    Date;
    /// The month, 1 to 12.
    Month      = "month",        month,        Int,    Date;
    /// The day of the month, 1 to 31.
    Day        = "day",          day,          Int,    Date;
    /// The ISO 8601 week number, 1 to 53.
    Week       = "week",         week,         Int,    Date;
    /// The day of the week, 1 = Sunday to 7 = Saturday (as Django).
    WeekDay    = "week_day",     week_day,     Int,    Date;
    /// The ISO day of the week, 1 = Monday to 7 = Sunday.
    IsoWeekDay = "iso_week_day", iso_week_day, Int,    Date;
    /// The quarter of the year, 1 to 4.
    Quarter    = "quarter",      quarter,      Int,    Date;
    /// The date (of a date-time).
    Date       = "date",         date,         Date,   DateTime;
    /// The time of day (of a date-time).
    Time       = "time",         time,         Time,   DateTime;
    /// The hour, 0 to 23.
    Hour       = "hour",         hour,         Int,    Time;
    /// The minute, 0 to 59.
    Minute     = "minute",       minute,       Int,    Time;
    /// The second, 0 to 59 (fractions cut off, as Django).
    Second     = "second",       second,       Int,    Time;
    /// The number of elements of an array (0 for an empty one, NULL for a
    /// NULL array, as Django's `ArrayLenTransform`).
    Len        = "len",          len,          Int,    Array;
    /// The text in lower case (Django's `Lower`, `lookup_name = "lower"`).
    Lower      = "lower",        lower,        Text,   Text;
    /// The text in upper case (Django's `Upper`).
    Upper      = "upper",        upper,        Text,   Text;
    /// The number of characters (Django's `Length`, `LENGTH`).
    Length     = "length",       length,       Int,    Text;
    /// The text without leading and trailing spaces (Django's `Trim`).
    Trim       = "trim",         trim,         Text,   Text;
    /// The text without leading spaces (Django's `LTrim`).
    LTrim      = "ltrim",        ltrim,        Text,   Text;
    /// The text without trailing spaces (Django's `RTrim`).
    RTrim      = "rtrim",        rtrim,        Text,   Text;
}

impl Transform {
    /// The transform named `name`; `None` for a name that is not one.
    pub fn from_name(name: &str) -> Option<Transform> {
        Transform::ALL.iter().copied().find(|t| t.name() == name)
    }
}

impl fmt::Display for Transform {
    /// The transform's [`name`](Transform::name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A PostgreSQL name the DDL writes as it is (an operator class, a text
/// search configuration): `[a-z_][a-z0-9_]*` of at most 63 bytes,
/// optionally `schema.`-qualified. The derive checks it at compile time
/// and the runtime before writing one, with this one rule.
pub fn is_plain_name(s: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    match s.split_once('.') {
        Some((a, b)) => part(a) && part(b),
        None => part(s),
    }
}

/// `UserProfile` -> `user_profile`, `HTTPRequest` -> `http_request`,
/// `Post2Tag` -> `post2_tag`: a model's default table name (the derive) and
/// the base of its many-to-many link columns (the runtime), which must
/// agree.
///
/// An underscore goes before an uppercase letter that follows a lowercase
/// letter or a digit, or that starts a word after an acronym (an uppercase
/// letter between an uppercase and a lowercase one); every letter is then
/// lowercased.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{snake_case, FieldKind, Lookup, Operand, Transform, TransformOn, TransformOutput};

    #[test]
    fn every_name_round_trips() {
        for &lookup in Lookup::ALL {
            assert_eq!(Lookup::from_name(lookup.name()), Some(lookup));
            assert_eq!(lookup.to_string(), lookup.name());
        }
        for name in ["", "Exact", "icontainz", "in_", "is_null", "eq", "__"] {
            assert_eq!(Lookup::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn the_table_has_no_duplicates() {
        let lookups: HashSet<Lookup> = Lookup::ALL.iter().copied().collect();
        let names: HashSet<&str> = Lookup::ALL.iter().map(|l| l.name()).collect();
        let methods: HashSet<&str> = Lookup::ALL.iter().map(|l| l.method()).collect();
        assert_eq!(lookups.len(), Lookup::ALL.len());
        assert_eq!(names.len(), Lookup::ALL.len());
        assert_eq!(methods.len(), Lookup::ALL.len());
        let exprs: Vec<&str> = Lookup::ALL.iter().filter_map(|l| l.expr_method()).collect();
        assert_eq!(exprs.iter().collect::<HashSet<_>>().len(), exprs.len());
    }

    #[test]
    fn names_fit_in_a_key() {
        // A name that held `__` would split a key in two (so would one
        // that starts or ends with `_`); an uppercase one would never
        // match what users type.
        for lookup in Lookup::ALL {
            let name = lookup.name();
            assert!(!name.is_empty() && !name.contains("__"), "{name}");
            assert!(!name.starts_with('_') && !name.ends_with('_'), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn the_rows_are_consistent() {
        for &lookup in Lookup::ALL {
            let single = lookup.operand() == Operand::One;
            // Only a single value can be NULL or an F() expression.
            assert!(single || !lookup.takes_null(), "{lookup}");
            assert!(single || lookup.expr_method().is_none(), "{lookup}");
            // A pattern is text.
            if lookup.operand() == Operand::Pattern {
                assert_eq!(lookup.applies_to(), FieldKind::Text, "{lookup}");
            }
        }
        assert_eq!(Lookup::Exact.method(), "eq");
        assert_eq!(Lookup::In.method(), "in_");
        assert_eq!(Lookup::IsNull.method(), "is_null");
        assert_eq!(Lookup::Gte.expr_method(), Some("gte_expr"));
    }

    #[test]
    fn split_reads_the_last_name_as_a_lookup_when_it_is_one() {
        use Lookup::*;
        let cases: &[(&str, (&str, Option<Lookup>))] = &[
            ("name", ("name", None)),
            ("name__icontains", ("name", Some(IContains))),
            ("author__name__in", ("author__name", Some(In))),
            ("author__name", ("author__name", None)),
            ("name__icontainz", ("name__icontainz", None)),
            ("exact", ("exact", None)),
            ("__exact", ("", Some(Exact))),
            ("name__", ("name__", None)),
            ("a____isnull", ("a__", Some(IsNull))),
            ("", ("", None)),
        ];
        for (key, split) in cases {
            assert_eq!(Lookup::split(key), *split, "{key}");
        }
    }

    #[test]
    fn snake_case_of_struct_names() {
        // The derive's cases (default table names) ...
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Post2Tag"), "post2_tag");
        // ... and the runtime's (many-to-many link columns).
        assert_eq!(snake_case("Post"), "post");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        // Edges.
        assert_eq!(snake_case(""), "");
        assert_eq!(snake_case("A"), "a");
        assert_eq!(snake_case("ABC"), "abc");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("Ünïcode"), "ünïcode");
        assert_eq!(snake_case("MyAPI"), "my_api");
        assert_eq!(snake_case("Tag2"), "tag2");
    }

    #[test]
    fn transform_names_round_trip_and_stay_apart_from_lookups() {
        for &t in Transform::ALL {
            assert_eq!(Transform::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
            assert_eq!(t.method(), t.name());
            // A transform named like a lookup would make `created__x`
            // mean two things; `__` inside a name would split a key.
            assert_eq!(Lookup::from_name(t.name()), None, "{t}");
            assert!(!t.name().contains("__"), "{t}");
            assert!(
                t.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{t}"
            );
        }
        let names: HashSet<&str> = Transform::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Transform::ALL.len());
        assert_eq!(Transform::from_name("years"), None);
        assert_eq!(Transform::from_name(""), None);
    }

    #[test]
    fn plain_names_are_lower_case_identifiers_with_one_schema_at_most() {
        use super::is_plain_name;
        for ok in ["english", "pg_catalog.simple", "_x1", "gin_trgm_ops"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "English",
            "1x",
            "a.b.c",
            "a-b",
            "x'; --",
            "a.",
            ".a",
            long.as_str(),
        ] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }

    #[test]
    fn transform_rows_follow_django() {
        use Transform::*;
        // Django registers the date parts on DateField and DateTimeField,
        // `date`/`time` on DateTimeField only, the time parts on
        // TimeField and DateTimeField.
        for t in [
            Year, IsoYear, Month, Day, Week, WeekDay, IsoWeekDay, Quarter,
        ] {
            assert_eq!(t.applies_to(), TransformOn::Date, "{t}");
            assert_eq!(t.output(), TransformOutput::Int, "{t}");
        }
        for t in [Hour, Minute, Second] {
            assert_eq!(t.applies_to(), TransformOn::Time, "{t}");
            assert_eq!(t.output(), TransformOutput::Int, "{t}");
        }
        assert_eq!(Date.applies_to(), TransformOn::DateTime);
        assert_eq!(Date.output(), TransformOutput::Date);
        assert_eq!(Time.applies_to(), TransformOn::DateTime);
        assert_eq!(Time.output(), TransformOutput::Time);
        // Django's ArrayField registers `len` (an integer).
        assert_eq!(Len.applies_to(), TransformOn::Array);
        assert_eq!(Len.output(), TransformOutput::Int);
        // Django's text functions, each named by its `lookup_name` when
        // registered as a transform; `Length` yields an integer.
        for t in [Lower, Upper, Trim, LTrim, RTrim] {
            assert_eq!(t.applies_to(), TransformOn::Text, "{t}");
            assert_eq!(t.output(), TransformOutput::Text, "{t}");
        }
        assert_eq!(Length.applies_to(), TransformOn::Text);
        assert_eq!(Length.output(), TransformOutput::Int);
    }

    #[test]
    fn range_rows_follow_django() {
        // Django's RangeField registers these lookups (and `startswith` /
        // `endswith` as transforms, whose names are lookups here too).
        for lookup in super::RANGE_LOOKUPS {
            assert!(
                matches!(
                    lookup.applies_to(),
                    FieldKind::Range
                        | FieldKind::Any
                        | FieldKind::Text
                        | FieldKind::Array
                        | FieldKind::TextOrArray
                ),
                "{lookup}"
            );
        }
        for lookup in Lookup::ALL {
            if lookup.applies_to() == FieldKind::Range {
                assert!(super::RANGE_LOOKUPS.contains(lookup), "{lookup}");
            }
        }
        for name in super::RANGE_ENDS {
            assert!(Lookup::from_name(name).is_some(), "{name}");
        }
    }
}
