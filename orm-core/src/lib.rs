//! An Active Record ORM for PostgreSQL, with Django-style queries checked at
//! compile time.
//!
//! # Quick start
//!
//! ```
//! use orm_core::prelude::*;
//! use chrono::{DateTime, Utc};
//!
//! #[derive(Model, Debug, Clone, Default, PartialEq)]
//! #[orm(table = "users")]
//! pub struct User {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(max_length = 30, unique)]
//!     pub name: String,
//!     pub email: Option<String>,
//!     #[orm(default = 0, index)]
//!     pub karma: i32,
//!     #[orm(auto_now_add)]
//!     pub created_at: DateTime<Utc>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> orm_core::Result<()> {
//! # orm_core::set_default(orm_core::testing::test_db().await?);
//! // orm_core::connect("postgres://postgres@localhost/app").await?;
//! orm_core::generate_schemas().await?;
//!
//! let mut ada = User { name: "Ada".into(), ..Default::default() };
//! ada.save().await?;                      // INSERT; fills id and created_at
//! ada.karma += 1;
//! ada.save().await?;                      // UPDATE ... WHERE "id" = $n
//!
//! let top: Vec<User> = User::filter(q!(name__icontains = "a", karma__gte = 1))
//!     .exclude(q!(email__isnull = true))
//!     .order_by(["-karma", "name"])
//!     .limit(10)
//!     .await?;
//! assert!(top.is_empty()); // Ada has no email
//! assert_eq!(User::filter(q!(email = None)).count().await?, 1);
//! # Ok(()) }
//! ```
//!
//! # Models
//!
//! `#[derive(Model)]` maps a struct with named fields to a table and
//! implements [`Model`]; see [the derive's documentation](macro@Model) for
//! every `#[orm(..)]` attribute. Field types: `bool`, `i16`, `i32`, `i64`,
//! `f32`, `f64`, `String`, `Vec<u8>`, chrono's `NaiveDate`, `NaiveTime`,
//! `NaiveDateTime`, `DateTime<Utc>`, `uuid::Uuid`, `serde_json::Value`, enums
//! with `#[derive(DbEnum)]` (stored as text), and `Option<T>` of each for a
//! nullable column.
//!
//! # Filtering
//!
//! [`q!`] takes Django's `field__lookup = value` form; a comma means AND.
//! Fields, lookups and value types are checked at compile time. `Q` values
//! combine with `&`, `|` and `!`:
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
//! User::filter(q!(karma__in = [1, 2, 3]) | !q!(name__startswith = "A")).count().await?;
//!
//! // The same conditions with typed field handles:
//! let f = User::fields();
//! User::filter(f.karma.in_([1, 2, 3]) | !f.name.startswith("A")).count().await?;
//! # Ok(()) }
//! ```
//!
//! Lookups: `exact` (the default), `iexact`, `contains`, `icontains`,
//! `startswith`, `istartswith`, `endswith`, `iendswith`, `in`, `gt`, `gte`,
//! `lt`, `lte`, `range`, `isnull`, `regex`, `iregex`. They follow Django's
//! semantics: `= None` is `IS NULL`, `exclude` keeps rows whose column is
//! NULL, an empty `in` matches nothing without sending a query, and `LIKE`
//! patterns match `%`, `_` and `\` literally. For filters known only at run
//! time (a web API's query string), use [`Lookup::parse`], or, for input
//! from users, [`Lookup::parse_with`] and a [`query::LookupPolicy`] that
//! lists the fields and lookups they may use and bounds their values.
//!
//! A [`query::FilterSet`] turns a web request's raw query string into
//! filters, an ordering and a search, from an allow-list (django-filter,
//! DRF's `OrderingFilter` and `SearchFilter`), every bad parameter
//! reported at once.
//!
//! Pages: [`QuerySet::paginate`] is Django's `Paginator` (with the
//! planner's estimate of the count for large tables), and
//! [`QuerySet::keyset_page`] pages by cursor, stable under inserts
//! ([`QuerySet::keyset_last_page`], [`QuerySet::keyset_cursor`] for the
//! ends and for switching from an `OFFSET` page).
//!
//! Query sets over the same model combine as Django's:
//! [`QuerySet::union`], [`QuerySet::union_all`], [`QuerySet::intersection`]
//! and [`QuerySet::difference`], each part keeping its own filter,
//! ordering and slice, the whole taking `order_by`, `limit`, `count`, ...
//!
//! # Dates and times
//!
//! Django's date and time transforms: `year`, `iso_year`, `month`,
//! `day`, `week`, `week_day` (1 = Sunday), `iso_week_day` (1 = Monday),
//! `quarter` on date and date-time fields; `date` and `time` on date-times;
//! `hour`, `minute`, `second` on time and date-time fields. The integer
//! ones yield an `i32`, `date` a `NaiveDate`, `time` a `NaiveTime`, and
//! every lookup of that type follows (`exact`, `gt`, `in` also with a
//! subquery, `range`, `isnull`, `F()` comparisons; `= None` is `isnull`,
//! as in Django), or a transform of that type: `created__date__year`,
//! `created__time__hour__gte`. Django's text functions are transforms of
//! text fields the same way (Django's `Lower`, `Upper`, `Length`, `Trim`,
//! `LTrim`, `RTrim` registered as lookups): `name__lower__startswith`,
//! `name__length__gt`. A transform a value's type lacks, or a lookup it
//! does not take, does not compile; at most four transforms chain. The
//! typed handles have the same transforms as methods ([`Transformed`]:
//! `f.created.date().year()`, `f.name.lower()`).
//!
//! A `DateTime<Utc>` (`timestamptz`) column is read in the **active time
//! zone** ([`timezone`]): UTC unless [`timezone::set_default`] changed it, or
//! the zone of the innermost [`timezone::override_zone`] scope, a
//! task-local setting that each future of a `tokio::join!` keeps for
//! itself. Naive columns are used as they are. `year` and `iso_year` with
//! `exact`/`gt`/`gte`/`lt`/`lte` are ranges on the column itself (the
//! local start of the year, converted by PostgreSQL), so an index on it
//! still serves. [`QuerySet::dates`] and [`QuerySet::datetimes`] cut in the
//! active zone too.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use orm_core::timezone;
//! # use chrono::{DateTime, NaiveDate, Utc};
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub created: DateTime<Utc> }
//! # async fn run() -> orm_core::Result<()> {
//! let recent = Post::filter(q!(created__year__gte = 2020, created__week_day__in = [1, 7])).await?;
//! let f = Post::fields();
//! let march = Post::filter(f.created.month().eq(3)).await?;
//! // 2021-12-31 23:30 in New York is 2022-01-01 in UTC: this finds it.
//! let eve = NaiveDate::from_ymd_opt(2021, 12, 31).unwrap();
//! let that_day =
//!     timezone::override_zone("America/New_York", Post::filter(q!(created__date = eve))).await??;
//! // Chained: the year of the date in the active zone.
//! let in_2022 = Post::filter(q!(created__date__year = 2022)).await?;
//! // Runtime keys take the same spellings.
//! let q = Lookup::parse::<Post>("created__quarter__in", "1,2")?;
//! # Ok(()) }
//! ```
//!
//! After a relation a name is a field of the related model: with
//! `event: ForeignKey<Event>` and a field `Event::date`, `event__date` is
//! that field and `event__date__year` its year.
//!
//! # Composite primary keys
//!
//! Mark several fields `#[orm(primary_key)]` and they are one key, in
//! declaration order, as Django 5.2's `CompositePrimaryKey`: the table gets
//! `CONSTRAINT "<table>_pkey" PRIMARY KEY ("a", "b")` (from
//! `generate_schemas` and `makemigrations` alike), [`Model::Pk`] is the
//! tuple of the key fields' types, and `pk` compares with a tuple:
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! #[derive(Model, Debug, Clone, Default)]
//! struct Release {
//!     #[orm(primary_key)]
//!     version: i32,
//!     #[orm(primary_key)]
//!     name: String,
//!     notes: String,
//! }
//! # async fn run() -> orm_core::Result<()> {
//! let mut r = Release::get(q!(pk = (1, "A"))).await?;   // "version" = $1 AND "name" = $2
//! let some = Release::filter(q!(pk__in = [(1, "A"), (2, "B")])).await?;
//! r.notes = "fixed".into();
//! r.save().await?;   // UPDATE by the whole key; INSERT when no row was updated
//! r.delete().await?; // DELETE by the whole key
//! # Ok(()) }
//! ```
//!
//! Key fields can be foreign keys, so a many-to-many link table can be a
//! model keyed by its two foreign keys, next to the
//! [`ManyToMany`] that names it with `through = ".."` (the table is made
//! once). As in Django 5.2, no [`ForeignKey`], [`OneToOne`],
//! [`ManyToMany`] or [`Reverse`] may point to a model with a composite key
//! (a compile error), and a `ManyToMany` cannot start from one.
//! `bulk_update` matches each row by its whole key, and `pk__in` takes a
//! query set of a model keyed alike (`("a", "b") IN (SELECT "a", "b" ..)`,
//! as Django 5.2's tuple lookups). Not supported on such a model: the
//! run-time [`Lookup::parse`] of `pk` (an unknown field: name the key
//! fields instead).
//!
//!
//! # PostgreSQL types
//!
//! **Arrays** (Django's `ArrayField`): a `Vec<T>` field is a PostgreSQL
//! `T[]` column (`Vec<String>` is `text[]`, `Option<Vec<i32>>` a nullable
//! `integer[]`, `Vec<Option<i64>>` a `bigint[]` whose elements may be
//! NULL) for every field type `T` but `u8`: `Vec<u8>` stays `bytea`.
//! Arrays do not nest. Their lookups are Django's:
//!
//! - `contains` (`@>`: holds every element of the value), `contained_by`
//!   (`<@`), `overlap` (`&&`), `exact`, `isnull`; the value is an array
//!   (`["a", "b"]`, a `Vec` or a slice) of the element type;
//! - `len`, an integer transform (0 for an empty array, NULL for a NULL
//!   one, as Django's `ArrayLenTransform`): `tags__len__gte = 2`;
//! - an index, counted from 0 as in Django (`tags__0 = "rust"`, rendered
//!   `("tags")[1]`), with the element type's lookups and transforms
//!   (`tags__0__icontains`, `days__0__year`); past the end it is NULL.
//!
//! The runtime form reads an array value as comma-separated items
//! (Django's `SimpleArrayField`): `Lookup::parse::<Post>("tags__overlap",
//! "rust,sql")`. `bulk_create` of a model with an array field inserts its
//! rows one by one in a transaction (PostgreSQL's `UNNEST` cannot carry
//! arrays of different lengths); `bulk_update` of an array field is an
//! error (save each object).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub tags: Vec<String>, pub scores: Option<Vec<i32>> }
//! # async fn run() -> orm_core::Result<()> {
//! let rust = Post::filter(q!(tags__contains = ["rust"], scores__len__gte = 1)).await?;
//! let first = Post::filter(q!(tags__0 = "rust", scores__overlap = [4, 5])).await?;
//! let f = Post::fields();
//! let some = Post::filter(f.tags.contained_by(["rust", "sql"]) & f.scores.index(0).gt(3)).await?;
//! # Ok(()) }
//! ```
//!
//! **Ranges** (Django's `IntegerRangeField`, `BigIntegerRangeField`,
//! `DateRangeField`, `DateTimeRangeField`): a [`Range<T>`](Range) field is
//! a PostgreSQL range column: `Range<i32>` is `int4range`, `Range<i64>`
//! `int8range`, `Range<NaiveDate>` `daterange`, `Range<NaiveDateTime>`
//! `tsrange`, `Range<DateTime<Utc>>` `tstzrange` (`Option<Range<T>>`
//! nullable). `Range::new(1, 10)` is `[1,10)` as Django's
//! `NumericRange(1, 10)`; `Range::closed`, `Range::empty`, and Rust's
//! `1..10`, `1..=10`, `5..`, `..5`, `..=5` and `..` convert. The server
//! normalizes discrete ranges: `[1,10]` reads back as `[1,11)`. The
//! lookups are Django's: `contains` (an element or a range, `@>`),
//! `contained_by` (`<@`, also on integer, date and timestamp fields),
//! `overlap` (`&&`), `fully_lt` (`<<`), `fully_gt` (`>>`), `not_lt`
//! (`&>`), `not_gt` (`&<`), `adjacent_to` (`-|-`), `isempty`,
//! `lower_inc`, `lower_inf`, `upper_inc`, `upper_inf`, and `startswith` /
//! `endswith` (the lower / upper bound, alone or before a lookup:
//! `span__startswith__gte = 3`). The runtime form reads PostgreSQL's
//! literal: `[1,10)`, `(,5]`, `empty`.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::Range;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Event { #[orm(primary_key)] pub id: i64, pub span: Range<i32> }
//! # async fn run() -> orm_core::Result<()> {
//! let e = Event::create(Event { span: Range::closed(1, 10), ..Default::default() }).await?;
//! assert_eq!(Event::get(q!(id = e.id)).await?.span, Range::new(1, 11));
//! let hits = Event::filter(q!(span__contains = 5, span__startswith__gte = 1)).await?;
//! let f = Event::fields();
//! let later = Event::filter(f.span.fully_gt(0..1) & f.span.isempty(false)).await?;
//! let from_url = Event::filter(Lookup::parse::<Event>("span__overlap", "[8,12)")?).await?;
//! # Ok(()) }
//! ```
//!
//! **JSON** (Django's `JSONField`): a `serde_json::Value` field is a
//! `jsonb` column. As in Django on PostgreSQL, a name after a JSON field
//! is a key (`data__owner`), a path (`data__owner__name`, one `text[]`
//! parameter for `#>`) or, when it is digits, an array index
//! (`data__items__0`); keys are bound parameters. After a key, `exact`,
//! `in`, `gt`/`gte`/`lt`/`lte`, `range`, `contains` and `contained_by`
//! compare `jsonb` values (`5` is not `"5"`), the text lookups (`iexact`,
//! `icontains`, `startswith`, `regex`, ...) the text form (`->>`).
//! `has_key`, `has_keys` and `has_any_keys` are `?`, `?&` and `?|`;
//! `contains` on a JSON field or key is containment (`@>`). `data__owner =
//! None` matches a JSON `null` at the key and `data__owner__isnull = true`
//! a missing key; on the field itself `data = None` is the JSON `null` and
//! `data__isnull = true` SQL NULL. A key spelled like a lookup
//! (`data__contains`) needs the typed handle: `f.data.key("contains")`.
//! See [`JsonPath`]; the runtime form decodes a value as JSON where it is
//! JSON, else takes it as a JSON string (`data__owner__name=Bob`).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use serde_json::json;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Dog { #[orm(primary_key)] pub id: i64, pub data: serde_json::Value }
//! # async fn run() -> orm_core::Result<()> {
//! let bobs = Dog::filter(q!(data__owner__name = "Bob", data__has_key = "breed")).await?;
//! let f = Dog::fields();
//! let pugs = Dog::filter(f.data.contains(json!({"breed": "pug"})) & f.data.key("age").gte(3)).await?;
//! let same = Dog::filter(Lookup::parse::<Dog>("data__owner__name__icontains", "bo")?).await?;
//! # Ok(()) }
//! ```
//!
//! **Full-text search** (Django's `django.contrib.postgres.search`, see
//! [`search`]): the `search` lookup on text fields (`q!(body__search =
//! "cheese")`: `to_tsvector(COALESCE("body", '')) @@ plainto_tsquery($1)`),
//! `SearchVector` of fields (also across foreign keys) with a
//! configuration and weights, `SearchQuery` (plain, phrase, raw,
//! websearch; `&`, `|`, `!`), `SearchRank` and `SearchHeadline` as
//! annotations, and `HavingQ::search` on a vector annotation. Indexes
//! take Django's options: `#[orm(index(tags, using = "gin"))]` (`gin`,
//! `gist`, `brin`, `hash`, `btree`), `opclasses = ["text_pattern_ops"]`,
//! and an index on a vector, `index(search_vector(title, body), config =
//! "english", using = "gin")`, the expression the queries write, so the
//! planner uses it.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::query::HavingQ;
//! use orm_core::search::{SearchQuery, SearchRank, SearchVector};
//! #[derive(Model, Debug, Clone, Default)]
//! #[orm(index(search_vector(title, body), config = "english", using = "gin"))]
//! pub struct Entry { #[orm(primary_key)] pub id: i64, pub title: String, pub body: String }
//! # async fn run() -> orm_core::Result<()> {
//! let cheesy = Entry::filter(q!(body__search = SearchQuery("cheeses").config("english"))).await?;
//! let vector = SearchVector(["title", "body"]).config("english");
//! let query = SearchQuery("cheese").config("english");
//! let ranked = Entry::all()
//!     .annotate_expr("search", vector.clone())
//!     .annotate_expr("rank", SearchRank(vector, query.clone()))
//!     .filter_q(HavingQ::search("search", query))
//!     .order_by(["-rank"])
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! **Decimals, addresses, case-insensitive text** (Django's `DecimalField`,
//! `GenericIPAddressField`, `CICharField`):
//!
//! - a [`Decimal`] field (`rust_decimal`'s, re-exported) is `numeric`;
//!   `#[orm(max_digits = 10, decimal_places = 2)]` makes it `numeric(10,2)`
//!   (both or neither: without them the column is PostgreSQL's
//!   unconstrained `numeric`, which Django does not offer). A value with
//!   more digits or places than declared is refused before the server with
//!   Django's `DecimalValidator` messages ("Ensure that there are no more
//!   than 2 decimal places."; trailing zeros count, as in Django), never
//!   rounded by it. Ordered lookups apply; `Sum`, `Avg`, `StdDev` and
//!   `Variance` of a decimal are decimals (as Django); `F("price") * 2`
//!   is a decimal, and mixing it with a float needs a `Cast` (Django's
//!   "mixed types"). Changing the precision is a type change in
//!   `makemigrations`. `rust_decimal` holds 28 significant digits: a
//!   stored value with more fails to decode, naming the column.
//! - a `std::net::IpAddr` field is `inet` (IPv4 and IPv6), with `exact`,
//!   `in`, `isnull` and the ordered lookups (PostgreSQL orders IPv4 before
//!   IPv6); the runtime form parses the address text and names a bad one.
//! - `#[orm(citext)]` on a `String` or `Option<String>` field makes it
//!   `citext`: `exact`, `in` and `unique` compare case-insensitively by the
//!   type itself (`'A'` and `'a'` collide on a unique key), the text
//!   lookups apply, the case is stored as written. `makemigrations` and
//!   `generate_schemas` run `CREATE EXTENSION IF NOT EXISTS "citext"`
//!   first (Django's `CITextExtension`; reverting that migration drops it,
//!   as Django's). `max_length` is checked before writes only (`citext` has
//!   no length).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::Decimal;
//! use std::net::IpAddr;
//!
//! #[derive(Model, Debug, Clone)]
//! pub struct Order {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(max_digits = 10, decimal_places = 2)]
//!     pub total: Decimal,
//!     #[orm(citext, unique)]
//!     pub email: String,
//!     pub client_ip: Option<IpAddr>,
//! }
//! # async fn run() -> orm_core::Result<()> {
//! let big = Order::filter(q!(total__gte = Decimal::new(10000, 2))).await?;
//! // citext: matches "Ada@Example.com" too.
//! let ada = Order::filter(q!(email = "ada@example.com")).await?;
//! let local: IpAddr = "127.0.0.1".parse().unwrap();
//! let here = Order::filter(q!(client_ip = Some(local))).await?;
//! let sum = Order::all().aggregate([Sum("total")]).await?;
//! let total: Option<Decimal> = sum.get("total__sum")?;
//! // From a query string: Lookup::parse::<Order>("client_ip__in", "::1,10.0.0.1")
//! # Ok(()) }
//! ```
//!
//! **Durations** (Django's `DurationField`): an [`Interval`] field is
//! `interval`. chrono's `TimeDelta` cannot be a field type (neither it nor
//! `ToSql` is this crate's), and it would lose what PostgreSQL keeps apart:
//! an [`Interval`] holds PostgreSQL's three parts (months, days,
//! microseconds; `1 mon` is not `30 days` when added to a date), sent and
//! read in the binary form as they are. `Interval::from_days(1)`,
//! `from_hours`, `from_months`, ... build one; `TryFrom` converts with
//! `TimeDelta` (months by psycopg's rule, what Django reads: a year of
//! 365 days, a month of 30). Ordered lookups compare as PostgreSQL does,
//! a month as 30 days and a day as 24 hours (`took = 30 days` matches `1
//! mon`); `Sum` and `Avg` of an interval are intervals; `F("ends") -
//! F("starts")` on timestamps is an interval (Django's
//! `TemporalSubtraction`; PostgreSQL turns whole 24 hours into days), and
//! `F("starts") + Interval::from_hours(1)` a timestamp. The runtime form
//! reads PostgreSQL's text (`1 day 02:03:04`, `-1 days +02:00:00`, `2
//! hours`), Django's `duration_string` (`1 02:03:04`) and ISO 8601
//! (`P1DT2H`); `HH:MM` alone is refused as ambiguous. With the `serde`
//! feature an interval is Django's `duration_string`. A numeric range,
//! `Range<Decimal>`, is `numrange` (Django's `DecimalRangeField`), and
//! `contained_by` applies to decimal fields.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::{Decimal, Interval, Range};
//! # use chrono::{DateTime, Utc};
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Job {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub took: Interval,
//!     pub starts: DateTime<Utc>,
//!     pub ends: Option<DateTime<Utc>>,
//!     pub fee: Option<Range<Decimal>>,
//! }
//! # async fn run() -> orm_core::Result<()> {
//! let slow = Job::filter(q!(took__gt = Interval::from_hours(2))).await?;
//! let late = Job::filter(q!(took__lt = F("ends") - F("starts"))).await?;
//! let stats = Job::all().aggregate([Sum("took"), Avg("took")]).await?;
//! let total: Option<Interval> = stats.get("took__sum")?;
//! let cheap = Job::filter(q!(fee__contains = Decimal::new(250, 2))).await?;
//! let from_url = Job::filter(Lookup::parse::<Job>("took__gte", "1 day 02:00:00")?).await?;
//! # Ok(()) }
//! ```
//!
//! # Relations
//!
//! [`ForeignKey<T>`](ForeignKey) (a column `<field>_id`), [`OneToOne<T>`](OneToOne)
//! (a unique key), [`ManyToMany<T>`](ManyToMany) (a link table) and, on the
//! other model, [`Reverse<T>`](Reverse) for the other side (see [`relation`]).
//! Lookups cross relations in every direction (`author__name__icontains`,
//! `posts__tags__name`, `profile__isnull`) and are checked at compile time.
//! They run as correlated `EXISTS` subqueries, following Django: inside one
//! `filter()` the conditions on a multi-valued relation hold for the same
//! related row, chained `filter()` calls may match different rows, and
//! `exclude(q!(a, b))` (and `filter(!q!(a, b))`, as Django's `~Q`) gives
//! each condition its own `NOT EXISTS`.
//!
//! **A difference from Django, on purpose:** an `EXISTS` never repeats a
//! row of the outer query, so `User::filter(q!(posts__views__gt = 100))`
//! returns each user once and [`QuerySet::count`] counts users, where
//! Django's join returns a user once per matching post unless `.distinct()`
//! is added. Our answer is Django's `.distinct()` answer: which rows match
//! is the same, only the repeats are gone. The same holds for
//! [`QuerySet::aggregate`] and [`QuerySet::annotate`] across relations.
//!
//! ## Aggregates
//!
//! [`QuerySet::aggregate`], [`QuerySet::annotate`] and `values(..).annotate(..)`
//! take Django's aggregates ([`query::Count`], `Sum`, `Avg`, `Min`, `Max`,
//! `StdDev`, `Variance`, `BoolAnd`, `BoolOr`, and `django.contrib.postgres`'
//! [`query::StringAgg`], [`query::ArrayAgg`], [`query::JSONBAgg`]) with
//! Django's options: `.distinct()` (where Django allows it), `.default(v)`,
//! `.ordering([..])` for the collecting ones, and `.filter(q)`, Django's
//! `filter=Q(..)`, written as a condition on the queried model and rendered
//! as `FILTER (WHERE ..)`. Conditions on annotations combine with `&`, `|`
//! and `!` in Django's runtime form ([`query::HQ`]):
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use orm_core::query::{ArrayAgg, StringAgg, HQ};
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String, pub posts: Reverse<Post> }
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, #[orm(related_name = "posts")] pub author: ForeignKey<Author>, pub title: String, pub published: bool }
//! # async fn run() -> orm_core::Result<()> {
//! let authors = Author::all()
//!     .annotate([
//!         Count("posts").filter::<Author>(q!(posts__published = true)).alias("published"),
//!         StringAgg("posts__title", ", ").ordering(["-posts__title"]).alias("titles"),
//!         ArrayAgg("posts__id").alias("ids"),
//!     ])
//!     .filter_q(HQ("published__gte", 1i64) | HQ("titles__isnull", true))
//!     .await?;
//! let published: i64 = authors[0].get("published")?;          // 0, not missing
//! let titles: Option<String> = authors[0].get("titles")?;     // None over no posts
//! let ids: Option<Vec<i64>> = authors[0].get("ids")?;
//! # Ok(()) }
//! ```
//!
//! Each annotation across a relation is its own subquery (two counts never
//! inflate each other); a filter's lookups along the aggregate's relations
//! name the rows it reads, and lookups reaching further are `EXISTS` from
//! them (Django joins those too, repeating rows: our answer is its
//! `distinct=True` one).
//!
//! [`QuerySet::select_related`] loads foreign keys with joins (`INNER` for a
//! non-null key, `LEFT` for a nullable one) in the
//! same query; [`QuerySet::prefetch_related`] loads reverse keys,
//! many-to-many and foreign keys with one query per level (`= ANY($1)`).
//! [`QuerySet::delete_report`] says what a delete cascaded to
//! ([`QuerySet::delete_preview`] counts it beforehand, with the rows set to
//! NULL and those that would refuse, deleting nothing), and
//! [`QuerySet::annotate`] counts or sums related rows per row, each with its
//! own subquery (so two counts never inflate each other as Django's joins do).
//!
//! # Ordering and values across relations
//!
//! [`QuerySet::order_by`] takes field names (`"-karma"`), paths across
//! relations (`"author__name"`, `"-author__profile__website"`), typed terms,
//! and expressions (`(F("likes") + F("views")).desc()`), each with
//! [`nulls_first`](query::OrderBy::nulls_first) /
//! [`nulls_last`](query::OrderBy::nulls_last); [`QuerySet::reverse`],
//! `first()` and `last()` flip all of them. A path is a `LEFT JOIN` (one per
//! path, shared with `values` and with `select_related`'s join of the same
//! relation), so a post without an author is kept and sorts last ascending,
//! as in Django. A bare forward relation (`"author"`) orders by its key
//! column: Django would use the related model's `Meta.ordering`, which
//! models here do not have.
//!
//! [`QuerySet::values`], [`QuerySet::values_list`] and
//! [`QuerySet::values_list_flat`] name columns across every relation as
//! Django does, rows named as asked (`"author__name"`): a relation to many
//! rows gives one row per related row, and a row with NULLs where there is
//! none (`tags__name` of a post without tags); `values("author__name")`
//! with `annotate([Count("id")])` groups by the related column. Filters stay
//! `EXISTS` subqueries: they pick rows, never repeat them.
//!
//! **A difference from Django, on purpose:** model rows are never ordered
//! across a relation to many rows. `Post::all().order_by(["tags__name"])`
//! is an [`Error::InvalidQuery`] saying what to write instead, where Django
//! joins and returns a post once per tag; order by an aggregate of it:
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String }
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Tag { #[orm(primary_key)] pub id: i64, pub name: String }
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post {
//! #     #[orm(primary_key)] pub id: i64,
//! #     pub author: Option<ForeignKey<Author>>,
//! #     pub title: String, pub likes: i64, pub views: i64,
//! #     pub tags: ManyToMany<Tag>,
//! # }
//! # async fn run() -> orm_core::Result<()> {
//! // LEFT JOIN "author" AS "r_author" .. ORDER BY "r_author"."name" ASC, "post"."title" DESC
//! let posts = Post::all().order_by(["author__name", "-title"]).await?;
//! let hot = Post::all()
//!     .order_by([(F("likes") + F("views")).desc().nulls_last()])
//!     .await?;
//! // One row per tag, and one with NULL for a post without tags.
//! let rows = Post::all().values(["title", "tags__name"]).order_by(["tags__name"]).await?;
//! let tag: Option<String> = rows[0].get("tags__name")?;
//! let per_author = Post::all()
//!     .values("author__name")
//!     .annotate([Count("id")])
//!     .order_by([F("id__count").desc()])
//!     .await?;
//! let pairs: Vec<(String, Option<String>)> =
//!     Post::all().values_list(("title", "author__name")).await?;
//! // Instead of order_by(["tags__name"]) on model rows:
//! let by_first_tag = Post::all()
//!     .annotate([Min("tags__name")])
//!     .order_by([F("tags__name__min").asc().nulls_last()])
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Expressions, functions and windows
//!
//! [`F`](query::F) names a field of the row (arithmetic with `+ - * /`); the
//! [`functions`] module has Django's database functions (`Lower`, `Upper`,
//! `Length`, `Concat`, `Coalesce`, `Greatest`, `Least`, `NullIf`, `Substr`,
//! `Replace`, `StrIndex`, `Trim`, `Cast`, `Now`, `Extract*`, `Trunc*`,
//! `Round`, `Abs`, `Mod`, `Power`), `Value`, `Case`/`When`, `Subquery`
//! with `OuterRef`, and `Window` with `RowNumber`, `Rank`, `DenseRank`,
//! `Lag`, `Lead`, `FirstValue`, ... or an aggregate over a window. An
//! expression goes wherever Django takes one: `annotate_expr`, an
//! `update`'s value, a filter's value, `order_by`; a filter on a window
//! annotation filters the annotated rows, as Django 4.2. Argument types
//! are checked before anything is sent (`Lower` of a number is an error,
//! not a database error), and `Extract`/`Trunc` read an instant in the
//! active time zone ([`timezone`]).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! use orm_core::functions::{Case, Lower, Now, OuterRef, Rank, Subquery, Value, When, Window};
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String, pub karma: i32,
//! #     pub seen: chrono::DateTime<chrono::Utc> }
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub author: ForeignKey<User>, pub title: String }
//! # async fn run() -> orm_core::Result<()> {
//! let newest = Post::filter(q!(author = OuterRef("id"))).order_by(["-id"]).limit(1).values("title");
//! let users = User::all()
//!     .annotate_expr("newest", Subquery(newest))
//!     .annotate_expr("level", Case([When::<User>(q!(karma__gte = 100), Value("high"))]).default(Value("low")))
//!     .annotate_expr("rank", Window(Rank()).order_by(["-karma"]))
//!     .filter("rank__lte", 10i64)
//!     .order_by([Lower("name").asc()])
//!     .await?;
//! User::filter(q!(karma__lt = 0)).update(q!(seen = Now())).await?;
//! # Ok(()) }
//! ```
//!
//! # Saving and updating
//!
//! [`ActiveRecord::save`] inserts while an integer primary key is 0 and updates
//! otherwise; [`ActiveRecord::create`], [`ActiveRecord::bulk_create`],
//! [`ActiveRecord::get_or_create`] and [`ActiveRecord::update_or_create`] work as in
//! Django. [`ActiveRecord::bulk_insert`] loads many rows with one binary `COPY`
//! when their generated keys are not needed. [`QuerySet::update`] takes assignments written with `q!` and `=`
//! only: `User::filter(q!(karma__lt = 0)).update(q!(karma = 0))`.
//!
//! # Transactions
//!
//! [`transaction()`](fn@transaction) runs a block on one connection: every ORM call inside
//! it, in the functions it calls and in the futures it joins, takes part.
//! It commits on `Ok` and rolls back on `Err`, on panic, and when the
//! future is dropped half-way; nested blocks are savepoints.
//! [`Db::begin`] is the explicit form (`.using(&tx)`, `tx.commit()`), and
//! [`QuerySet::select_for_update`] locks rows (`nowait`, `skip_locked`,
//! `lock_of`).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Account { #[orm(primary_key)] pub id: i64, pub balance: i64 }
//! # async fn run() -> orm_core::Result<()> {
//! orm_core::transaction(|| async {
//!     let mut from = Account::select_for_update().get(q!(id = 1)).await?;
//!     let mut to = Account::select_for_update().get(q!(id = 2)).await?;
//!     from.balance -= 100;
//!     to.balance += 100;
//!     from.save().await?;
//!     to.save().await?;
//!     Ok(())
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # Connections
//!
//! [`connect`] sets the global default database. [`scope`] routes every ORM
//! call inside a block (and in the functions it calls) to another [`Db`],
//! and [`QuerySet::using`] picks one for a single query. Pools are
//! deadpool pools of tokio-postgres connections; statements are prepared
//! once per connection and reused. With the `testing` feature,
//! `testing::test_db` gives each test a fresh database on a throwaway server.
//!
//! Several databases: [`register`] a [`Db`] under a name and get it back
//! with [`database`] (`.using(&orm_core::database("analytics")?)`).
//!
//! # Connection poolers (pgbouncer)
//!
//! Behind a pooler in transaction mode (pgbouncer `pool_mode = transaction`)
//! a named prepared statement does not outlive its transaction: use
//! [`StatementMode::Unnamed`], by [`DbBuilder::statement_mode`] or the URL
//! parameter `statement_mode=unnamed`. Every statement is then sent unnamed
//! with its parameter types (one round trip, planned for its values each
//! time); each SQL text is described once per [`Db`], inside a transaction
//! of its own. Streams, cursors, `bulk_insert`'s `COPY` and transactions
//! work as usual. pgbouncer passes no startup options, so
//! [`DbBuilder::statement_timeout`] is refused there: set it for the role
//! on the server. Each new connection learns the database's non-built-in
//! types (`citext`, ...) once, inside one transaction, so no type lookup
//! depends on a server connection surviving. Migrations work through the
//! pooler too: each migration's transaction takes a transaction-scoped
//! advisory lock (`pg_advisory_xact_lock`) and reads what is applied again
//! under it, so concurrent `migrate` runs apply each migration once
//! (`CREATE INDEX CONCURRENTLY` needs an `-- atomic: false` migration,
//! which holds a session lock: run that `migrate` against the server
//! directly).
//!
//! ```no_run
//! # async fn run() -> orm_core::Result<()> {
//! use orm_core::{Db, StatementMode};
//! let db = Db::connect("postgres://app@pgbouncer:6432/app?statement_mode=unnamed").await?;
//! assert_eq!(db.statement_mode(), StatementMode::Unnamed);
//! // the same:
//! let db = Db::builder("postgres://app@pgbouncer:6432/app")
//!     .statement_mode(StatementMode::Unnamed)
//!     .connect()
//!     .await?;
//! orm_core::set_default(db);
//! # Ok(()) }
//! ```
//!
//! # Read replicas
//!
//! A [`Db`] declared with hot standbys ([`DbBuilder::replica`]) sends the
//! ORM's reads outside transactions (query sets, `get`, counts, `exists`,
//! aggregates, `values`, prefetches, streams and `iterator()`,
//! [`raw_read`]) to a healthy replica, round-robin, and everything else to
//! the primary: writes, transaction blocks (so `select_for_update`),
//! scripts, `COPY`, `iterator()` with `prefetch_related` (a cursor),
//! migrations, `get_or_create`, plain [`raw()`](fn@raw). `.using(&db.primary())` and
//! `.using(&db.replica())` choose. Inside [`read_your_writes`] a read goes
//! to a replica only if it has replayed the WAL past the scope's last
//! committed write (`pg_last_wal_replay_lsn()` against the primary's WAL
//! position taken after the write, pipelined behind it on its connection),
//! else to the primary: exact, no time window. A replica that fails or lags more than
//! [`max_replica_lag`](DbBuilder::max_replica_lag) is skipped (a `tracing`
//! warning, target `orm_core::replica`) and checked again after a backoff;
//! a read whose replica went away runs again on another node (a
//! stream's, only before its first row). Writes are never retried. [`Db::replica_stats`] counts
//! where reads went.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Post { #[orm(primary_key)] pub id: i64, pub title: String }
//! # async fn run() -> orm_core::Result<()> {
//! let db = Db::builder("postgres://app@primary/app")
//!     .replica("postgres://app@standby/app")
//!     .max_replica_lag(std::time::Duration::from_secs(5))
//!     .connect()
//!     .await?;
//! orm_core::set_default(db);
//! let post = orm_core::read_your_writes(async {
//!     let post = Post::create(Post { title: "Hi".into(), ..Default::default() }).await?;
//!     Post::get(q!(id = post.id)).await // sees it: a caught-up replica, or the primary
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # Schema and migrations
//!
//! [`generate_schemas`] creates the tables of every model linked into the
//! binary: for tests and scripts that start from an empty database. For a
//! database whose data must survive model changes, use [`migrate`]:
//! `makemigrations` writes reviewable SQL files (`migrations/NNNN_name.sql`)
//! from the difference between the models and the last migration, and
//! `migrate` applies them in transactions, recorded with checksums. A
//! `manage` binary calling [`cli::main`] gives Django's commands. A binary
//! links only the crates it names: when the models live in the app's
//! library crate, `src/bin/manage.rs` says `use my_app as _;` (with no
//! model linked, `makemigrations` and [`generate_schemas`] fail and say
//! so):
//!
//! ```no_run
//! # async fn run() -> orm_core::Result<()> {
//! use orm_core::migrate::{MakeOptions, Migrator};
//! let migrator = Migrator::new("migrations");
//! migrator.make(&MakeOptions { name: Some("add_karma".into()), ..Default::default() })?;
//! migrator.migrate(None, false).await?; // pending ones; `Some("0001")` moves back
//! # Ok(()) }
//! ```
//!
//! # JSON (the `serde` feature)
//!
//! With `features = ["serde"]`, models derive serde's `Serialize` and
//! `Deserialize` with their relation fields (the module `orm_core::serde`
//! has the details and every shape):
//!
//! - a foreign key or one-to-one is its key, `"author": 4`, as Django REST
//!   Framework's `ModelSerializer` writes it (the field's name, not
//!   `author_id`); with
//!   `#[serde(serialize_with = "orm_core::serde::nested")]` it is the
//!   author's object when it was loaded (`select_related`,
//!   `prefetch_related`), else the key;
//! - a many-to-many or reverse field is the list of related objects when
//!   prefetched, `null` when not; `#[serde(skip_serializing_if =
//!   "orm_core::serde::not_loaded")]` leaves the key out instead;
//! - read back, a foreign key takes its key (or an object holding it), and
//!   reverse and many-to-many fields are not loaded (they are not columns);
//! - `Value`, the rows of `values()`, `annotate()` (the model's fields and
//!   the annotations in one object) and `only()`/`defer()` (without the
//!   unread fields) serialize as objects of their names.
//!
//! `orm_core::serde::from_json` reads a request body as `save()` would
//! check it: every field's error at once in one [`Error::Validation`]
//! (missing, wrong type, `max_length`, `validate = ..`, NUL characters),
//! never a panic. Unknown keys are ignored, as DRF does, unless the model
//! says `#[serde(deny_unknown_fields)]`.
//!
//! ```
//! use orm_core::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
//! pub struct Author {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     pub name: String,
//!     #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
//!     pub books: Reverse<Book>,
//! }
//!
//! #[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
//! pub struct Book {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(related_name = "books")]
//!     #[serde(serialize_with = "orm_core::serde::nested")]
//!     pub author: ForeignKey<Author>,
//!     #[orm(max_length = 20)]
//!     pub title: String,
//! }
//!
//! let book = Book { id: 1, author: ForeignKey::from_key(4), title: "Dune".into() };
//! assert_eq!(serde_json::to_string(&book).unwrap(), r#"{"id":1,"author":4,"title":"Dune"}"#);
//!
//! let err = orm_core::serde::from_json::<Book>(r#"{"author": "x", "title": "a title much too long"}"#)
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "Book.author: invalid type: string \"x\", expected i64; \
//!      title: at most 20 characters allowed (max_length), it has 21"
//! );
//!
//! # async fn run() -> orm_core::Result<()> {
//! // {"id":1,"author":{"id":4,"name":"Ann"},"title":"Dune"}
//! let books = Book::all().select_related(["author"]).await?;
//! let body = serde_json::to_string(&books).unwrap();
//! // {"id":4,"name":"Ann","books":[{"id":1,"author":4,"title":"Dune"}]}
//! let authors = Author::all().prefetch_related(["books"]).await?;
//! let mut book: Book = orm_core::serde::from_json(r#"{"author": 4, "title": "Emma"}"#)?;
//! book.save().await?; // an INSERT: the body had no id
//! # Ok(()) }
//! ```
//!
//! # Soft delete
//!
//! `#[orm(soft_delete)]` on a model with a `deleted_at: Option<DateTime<Utc>>`
//! field (or `#[orm(soft_delete = "removed_at")]` naming another; anything
//! else is a compile error at the attribute or the field's type) makes
//! `delete()` mark rows instead of removing them, as django-safedelete's
//! `SOFT_DELETE_CASCADE` policy does:
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # use chrono::{DateTime, Utc};
//! #[derive(Model, Debug, Clone, Default)]
//! #[orm(soft_delete)]
//! pub struct Note {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(unique)]
//!     pub title: String,
//!     pub deleted_at: Option<DateTime<Utc>>,
//! }
//! # async fn run(note: Note) -> orm_core::Result<()> {
//! note.delete().await?;                    // UPDATE "note" SET "deleted_at" = now() WHERE ..
//! Note::all().count().await?;              // .. WHERE "note"."deleted_at" IS NULL
//! Note::all().with_deleted().count().await?;
//! Note::all().only_deleted().restore().await?; // SET "deleted_at" = NULL
//! Note::filter(q!(title = "old")).hard_delete().await?; // DELETE
//! # Ok(()) }
//! ```
//!
//! - `obj.delete()` and [`QuerySet::delete`] mark the live rows (one
//!   `UPDATE`) and return how many they marked; `hard_delete()` deletes;
//!   `restore()` clears the mark. The object's own `deleted_at` is not
//!   changed (`refresh_from_db()` reads it, marked rows too).
//! - The default queries leave marked rows out: `filter`, `get` (a marked
//!   row is [`Error::DoesNotExist`]), `count`, `exists`, `aggregate`,
//!   `values`, `iterator`, `update`, `delete_report`/`delete_preview`.
//!   [`QuerySet::with_deleted`] includes them, [`QuerySet::only_deleted`]
//!   shows only them (Django managers' `all_objects`/`deleted_objects`).
//! - Across relations a marked row is as if gone: a lookup
//!   (`filter(q!(author__name = ..))`, `exclude(q!(books__title = ..))`)
//!   does not match through it, `annotate`/`aggregate` do not count it,
//!   reverse and many-to-many prefetches and managers (`author.books()`)
//!   do not load it, and a `values()` or `order_by` path reads NULL. The
//!   key column itself is still set: `author = 3` and `author__isnull`
//!   compare it. (django-safedelete hides marked rows only in the
//!   model's own queries; Django's joins ignore managers.)
//! - Through a forward key, `select_related` and `prefetch_related` read a
//!   nullable key to a marked row as `None`; a non-null key loads the
//!   marked row as it is (Django's base manager), so `select_related`
//!   never drops the rows it was asked to join. [`ForeignKey::fetch`]
//!   reads the row its key names, marked or not.
//! - Cascades: a soft delete marks the rows of soft delete models that
//!   refer to the marked ones by `CASCADE` keys, level by level, in one
//!   transaction and at one `now()`; `restore()` brings back the ones
//!   marked at that moment. Rows of models without soft delete, and
//!   `SET_NULL`/`PROTECT` children, are left as they are: the row they
//!   refer to is still there. `hard_delete()` cascades as the database's
//!   `ON DELETE` rules say, as `delete()` does on other models.
//! - Unique fields and `unique_together` become partial unique indexes of
//!   the same names, `CREATE UNIQUE INDEX "note_title_key" ON "note"
//!   ("title") WHERE "deleted_at" IS NULL`, so a marked row does not block
//!   a new one while two live rows still fail on (and name) the index;
//!   upserts (`ON CONFLICT (..) WHERE "deleted_at" IS NULL`) infer it.
//!   Turning soft delete on or off is a migration (`makemigrations`
//!   swaps the constraint and the index).
//!
//! # Errors
//!
//! Every fallible call returns [`Error`]: [`Error::DoesNotExist`],
//! [`Error::MultipleObjectsReturned`], [`Error::Integrity`] (naming the
//! constraint, table and column, with PostgreSQL's detail:
//! `unique constraint "users_name_key" on users violated: Key (name)=(Ada)
//! already exists.`), [`Error::NotConnected`], [`Error::InvalidLookup`],
//! [`Error::PoolTimeout`], [`Error::Connect`] (naming the server and
//! database, never the password, with the server's or the system's
//! reason), [`Error::Bind`] (a value that does not fit the type PostgreSQL
//! expects for parameter `$N`), [`Error::Database`] (the server's message
//! and SQLSTATE), ... The driver's error is kept as the
//! [`source`](std::error::Error::source).
//!
//! [`Error::sqlstate`] and [`Error::detail`] read a server error;
//! [`Error::is_serialization_failure`] and [`Error::is_deadlock`] recognise
//! the errors after which a transaction may succeed if run again, which
//! [`transaction_with`] does with [`TxOptions::retries`]:
//!
//! ```no_run
//! # use orm_core::{transaction_with, Isolation, TxOptions};
//! # async fn run() -> orm_core::Result<()> {
//! let options = TxOptions::default().isolation(Isolation::Serializable).retries(5);
//! transaction_with(options, || async {
//!     // ... read, then write what depends on what was read ...
//!     Ok(())
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! An [`Error`] is 32 bytes: variants that carry more hold a box
//! ([`QueryError`], [`LookupError`], ..), which a hook or a block builds
//! and converts with `.into()`: `Err(QueryError { model, reason }.into())`.
//!
//! # Web apps
//!
//! What a JSON API needs, each part on its own: models as JSON with the
//! `serde` feature (the `orm_core::serde` module when enabled: foreign
//! keys as keys or nested objects, prefetched relations as lists, request
//! bodies read and validated with every field's error at once), a
//! [`query::FilterSet`] for the query string, [`QuerySet::paginate`] and
//! [`QuerySet::keyset_page`] for pages, and errors a handler maps to a
//! status ([`Error::InvalidFilters`] and [`Error::Validation`] a 400,
//! [`Error::DoesNotExist`] and [`Error::InvalidPage`] a 404, a unique
//! [`Error::Integrity`] a 409, [`Error::PoolTimeout`] a 503). The
//! repository's `examples/blog_api.rs` puts them together on axum, and
//! `#[orm_core::test]` (feature `testing`) gives each test of a handler a
//! fresh database.
//!
//! # Logging
//!
//! Every statement is logged through [`tracing`](https://docs.rs/tracing),
//! under the target `orm_core::sql`:
//!
//! | level | event | fields |
//! | --- | --- | --- |
//! | `DEBUG` | a statement, when it has run | `sql` (the text, values as `$1`, `$2`, ..), `elapsed_us` (how long it took, in microseconds) |
//! | `TRACE` | the same event, for a statement with parameters, when `TRACE` is enabled for the target | `sql`, `elapsed_us`, `params` (the bound values) |
//! | `DEBUG` | a stream or cursor opening (`stream`, `iterator`) | `sql` |
//! | `DEBUG` | a cached statement prepared again after a schema change | `sql`, the server's reason |
//!
//! Values are bound, never part of the SQL text, so they appear only at
//! `TRACE` level: `DEBUG` shows what ran and how long it took, without
//! the data. Other targets: `orm_core::db` (`WARN` when a pooled
//! connection fails, `DEBUG` when a cancel request could not be sent) and
//! `orm_core::transaction` (`DEBUG` when [`transaction_with`] retries, with
//! `tries` and `error`). When nothing listens at `DEBUG` for
//! `orm_core::sql`, statements are not timed at all.
//!
//! In an application, with the `tracing-subscriber` crate (its `env-filter`
//! feature) as a dependency of your own:
//!
//! ```text
//! fn main() {
//!     tracing_subscriber::fmt()
//!         .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
//!         .init();
//!     // ...
//! }
//! ```
//!
//! `RUST_LOG=orm_core::sql=debug cargo run` then prints lines such as
//!
//! ```text
//! DEBUG orm_core::sql: elapsed_us=412 sql="SELECT \"id\", \"name\" FROM \"users\" WHERE \"name\" = $1"
//! ```
//!
//! and `RUST_LOG=orm_core::sql=trace` adds the values:
//!
//! ```text
//! TRACE orm_core::sql: elapsed_us=398 sql="SELECT .. WHERE \"name\" = $1" params=[Text(Some("Ada"))]
//! ```
//!
//! # Tenants
//!
//! A model with `#[orm(tenant)]` on one field (an `i64`, `i32`, `Uuid` or
//! `String` column, or a `ForeignKey` to the tenant model) is a tenant
//! model: inside [`tenant::scope(id, fut)`](tenant::scope) every statement
//! on it is restricted to that tenant — query sets (rows, `get`, `count`,
//! `exists`, aggregates, `values`, `update`, `delete`, iterators,
//! subqueries), `select_related` joins (`AND "alias"."tenant" = $n` in
//! their `ON`), `prefetch_related` levels and reverse relations; `create`,
//! `save` and `bulk_create` stamp the tenant field and refuse an object of
//! another tenant; `save`/`delete` of an object write by key *and* tenant;
//! [`Model::raw`](ActiveRecord::raw) refuses rows of another tenant.
//! Outside a scope, any statement on a tenant model is an error that says
//! so. Across tenants, explicitly: `Model::objects_all_tenants()`,
//! [`QuerySet::all_tenants`], or [`tenant::unscoped(fut)`](tenant::unscoped).
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Invoice {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(tenant, rls)]
//!     pub account_id: i64,
//!     pub total: i64,
//! }
//! # async fn run() -> orm_core::Result<()> {
//! // Per request, e.g. in a middleware:
//! orm_core::tenant::scope(42_i64, async {
//!     // ... WHERE "invoice"."account_id" = $1   ($1 = 42)
//!     let open = Invoice::filter(q!(total__gt = 0)).count().await?;
//!     // account_id is stamped: 42
//!     Invoice::create(Invoice { total: 10, ..Default::default() }).await?;
//!     Ok::<_, orm_core::Error>(())
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Scopes are task-local, as [`scope`] is for databases: two futures
//! joined with `join!` under different tenants each see their own.
//!
//! **Row-level security** (`#[orm(tenant, rls)]`): migrations and
//! `generate_schemas` add `ALTER TABLE .. ENABLE` and `FORCE ROW LEVEL
//! SECURITY` and `CREATE POLICY "tenant_isolation" .. USING ("account_id"
//! = NULLIF(current_setting('orm.tenant', true), '')::bigint) WITH CHECK
//! (..)`. The ORM sets the setting, local to a transaction (so it never
//! reaches the connection's next user, also through a pooler in
//! transaction mode or on a hot standby), for every statement run in a
//! tenant scope:
//!
//! - outside a transaction block, each statement (raw SQL, streams and
//!   `bulk_create`'s `COPY` included) runs as one pipelined round trip
//!   `BEGIN; SELECT set_config('orm.tenant', $1, true); <statement>;
//!   COMMIT` on a connection held alone; a failed statement's own error
//!   is returned (SQLSTATE and constraint intact), and its block rolled
//!   back;
//! - a transaction block sets it when it begins, and again before the
//!   first statement run under another tenant (a scope inside the block,
//!   or after a `ROLLBACK TO SAVEPOINT` undid it). Statements joined
//!   concurrently inside one block under *different* tenants are not
//!   supported (they share one setting): run them one after another.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # async fn run() -> orm_core::Result<()> {
//! orm_core::tenant::scope(42_i64, async {
//!     // BEGIN; SELECT set_config('orm.tenant', '42', true); ..; COMMIT
//!     let n: Vec<(i64,)> = orm_core::raw("SELECT count(*) FROM invoice", &[]).await?;
//!     Ok::<_, orm_core::Error>(n)
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! This runs only when a model linked into the binary has `rls` and a
//! tenant is current (then every statement of the scope is wrapped, on
//! any table: raw SQL's tables are not known). Superusers and roles with
//! `BYPASSRLS` are not held by policies: connect the application as a
//! plain role.
//!
//! **Citus-shaped tables**: a tenant model's primary key and unique
//! constraints include its tenant column (`PRIMARY KEY ("account_id",
//! "id")`), and a foreign key between two tenant models includes both
//! tenant columns (`FOREIGN KEY ("account_id", "invoice_id") REFERENCES
//! "invoice" ("account_id", "id")`, `ON DELETE SET NULL ("invoice_id")`),
//! so `SELECT create_distributed_table('invoice', 'account_id')` distributes
//! them co-located. `generate_schemas` and migrations refuse, naming both
//! models and the fix, what no such schema can hold: a foreign key to a
//! tenant model from a model without a tenant field, a `ManyToMany` to a
//! tenant model declared on a model without one, and a `ManyToMany`
//! between tenant models whose tenant fields differ in type.
//!
//! **Many-to-many between tenant models**: the link table of a
//! `ManyToMany` declared on a tenant model has that model's tenant column
//! (`PRIMARY KEY ("account_id", "invoice_id", "tag_id")`, in both foreign
//! keys, and under row-level security with `rls`); the manager writes the
//! current tenant's links, and every lookup, join, count and prefetch
//! across the link matches the tenant columns.
//!
//! ```no_run
//! # use orm_core::prelude::*;
//! # #[derive(Model, Debug, Clone, Default)]
//! # pub struct Tag { #[orm(primary_key)] pub id: i64, #[orm(tenant)] pub account_id: i64, pub name: String }
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Invoice {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(tenant, rls)]
//!     pub account_id: i64,
//!     pub tags: ManyToMany<Tag>,
//! }
//! # async fn run(invoice: Invoice, urgent: Tag) -> orm_core::Result<()> {
//! orm_core::tenant::scope(42_i64, async {
//!     // INSERT INTO "invoice_tags" ("account_id", "invoice_id", "tag_id")
//!     //   SELECT $1, $2, "key" FROM UNNEST($3::bigint[]) AS "key" ON CONFLICT DO NOTHING
//!     invoice.tags().add(&[&urgent]).await?;
//!     // .. JOIN "tag" AS "T1" ON "T1"."id" = "T1_link"."tag_id"
//!     //   AND "T1"."account_id" = "T1_link"."account_id" WHERE .. AND
//!     //   "T1_link"."account_id" = "invoice"."account_id" ..
//!     let tagged = Invoice::filter(q!(tags__name = "urgent")).count().await?;
//!     invoice.tags().set(&[]).await?;
//!     Ok::<_, orm_core::Error>(tagged)
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # How the crate is laid out
//!
//! Bottom-up, each layer built on the ones before it (`src/`):
//!
//! | layer | files | what is there |
//! |---|---|---|
//! | errors | `error/` | [`Error`], its boxed payloads, integrity, connection and bind errors |
//! | metadata | `meta.rs` (`ModelMeta`, `FieldMeta`, the registry, the limits on names), `relation/meta.rs`, `model.rs` (the [`Model`] trait the derive implements) | what a model declares: table, fields, relations, `on_delete`; reading and writing its fields by position |
//! | values and types | `value.rs`, `types.rs`, `field.rs` | [`Value`], the Rust types a field may have ([`FieldType`], [`SqlType`]), typed field handles; lookup names come from the `orm-names` crate, which the derive reads too |
//! | SQL writer | `sql/`: `writer.rs`, `tree.rs`, `expr.rs`, `condition.rs`, `joins.rs`, `aggregate.rs`, `clauses.rs`, `statements.rs`, `compound.rs`, `cursor.rs`, `functions.rs`, `grouped.rs`, `prefetch.rs`, `writes.rs`, `ddl.rs`, `kept.rs` | the only place SQL text is written: identifiers and literals quoted, values bound, a statement's key recorded; the condition tree and `F` expressions as data; filters (`WHERE`), joins, aggregates, `SELECT`/`UPDATE`/`DELETE` of a query, `UNION`/`INTERSECT`/`EXCEPT`, `values`/`annotate` and prefetch-level `SELECT`s, `INSERT`/`COPY`/by-key and link-table writes of a model, `CREATE`/`ALTER`; texts kept by key. Imports nothing from `query/` |
//! | query chain | `query/` (`queryset/`, `q/`, `lookup.rs`, `expr.rs`, `order.rs`, `paths.rs`, `values.rs`, `related/`) | [`QuerySet`], [`Q`], runtime [`Lookup`]s, `F`, the joins of paths in `order_by`/`values`, `select_related` planning and `prefetch_related` levels |
//! | execution and decoding | `db/` (`run.rs` the executor, `checkout.rs`, `builder.rs`, `registry.rs`, `tx.rs`, `connection.rs`), `exec/` (`plan.rs`, `stream.rs`, `cursor.rs`, `decode.rs`), `relation/ops.rs` | pools and connections, running a statement (cancellation, re-preparing, timeouts), a compiled `SELECT` and its rows, type-erased decoding of related rows |
//! | Active Record | `active_record.rs` ([`ActiveRecord`]), `persist.rs`, `relation/fields.rs`, `relation/managers.rs`, `transaction.rs`, `raw.rs` | `save`, `create`, `filter`, `get`, `delete`, `bulk_create`; relation fields and managers; transactions; raw SQL |
//! | schema, migrations, CLI | `schema/`, `migrate/`, `cli.rs` | `generate_schemas`, `makemigrations`/`migrate`, the `manage` commands |
//! | testing | `testing/` | a throwaway PostgreSQL from the installed server binaries |
//!
//! Where to look: a lookup (`icontains`, `in`, ..) is parsed in
//! `query/lookup.rs` and rendered in `sql/condition.rs`; a model's row is
//! decoded by the derive's `from_row`, a joined or prefetched one through
//! `relation/ops.rs` and `query/related/`, a column by its type in
//! `exec/decode.rs`; every statement runs through `db/run.rs`. No two
//! files import each other, directly or in a ring
//! (`python3 ../shared/tools/import_loops.py orm-core/src`).

// Lets the derive's generated `::orm_core::..` paths resolve inside this
// crate's own tests and doc examples.
#[allow(unused_extern_crates)]
extern crate self as orm_core;

mod active_record;
mod array;
pub mod cli;
mod db;
mod error;
mod exec;
mod field;
mod interval;
mod json;
pub mod key;
mod meta;
pub mod migrate;
mod model;
mod persist;
pub mod query;
mod range;
pub mod raw;
pub mod relation;
pub mod schema;
#[cfg(feature = "serde")]
pub mod serde;
mod soft_delete;
mod sql;
pub mod tenant;
pub mod timezone;
pub mod transaction;
mod transform;
pub mod types;
mod value;

#[cfg(feature = "testing")]
pub mod testing;

pub use active_record::ActiveRecord;
pub use db::StatementMode;
pub use db::{connect, current, database, register, scope, set_default, Db, DbBuilder};
pub use db::{read_your_writes, NodeStats, ReplicaStats};
pub use error::{
    BindError, ConnectError, DanglingKeyError, DecodeError, Error, FieldError, FilterErrors,
    IntegrityError, IntegrityKind, LookupError, QueryError, Result, ValidationError, ValueError,
};
pub use field::ContainsField;
pub use field::Field;
pub use interval::{Interval, IntervalParseError, IntervalRangeError};
pub use json::{IntoJsonKey, JsonArg, JsonField, JsonPath, KeyList};
pub use meta::{registered_models, FieldMeta, IndexMeta, ModelMeta};
#[doc(hidden)]
pub use model::{Ch, HasField};
pub use model::{Hooks, Model};
pub use persist::OnConflict;
pub use query::functions;
pub use query::search;
pub use query::{Assign, Deleted, IntoAssign, IntoQ, Lookup, OrderBy, QuerySet, Q};
pub use range::fields::{
    ContainedByField, OverlapField, RangeElement, RangeEnd, RangeField, RangeOperand,
    StartsEndsWithField,
};
pub use range::{BoundText, Range, RangeKind, RangeParseError, WriteBound, MAX_RANGE_TEXT};
pub use raw::{raw, raw_read, AssertSqlSafe};
pub use relation::{ForeignKey, ManyToMany, OnDelete, OneToOne, Reverse, ReverseOne};
/// A decimal number (`rust_decimal`'s), the type of `numeric` fields
/// (Django's `DecimalField`): see [PostgreSQL types](crate#postgresql-types).
pub use rust_decimal::Decimal;
pub use schema::{generate_schemas, generate_schemas_on};
pub use sql::Statement;
pub use transaction::{transaction, transaction_with, Isolation, Transaction, TxOptions};
pub use transform::Transformed;
pub use types::{
    ArrayField, ArrayItem, DateField, DateTimeField, DbEnum, FieldType, SqlType, TimeField,
};
pub use value::Value;

/// Implements [`Model`](trait@Model) for a struct with named fields.
///
/// ```no_run
/// use orm_core::prelude::*;
///
/// #[derive(Model, Debug, Clone, Default)]
/// #[orm(table = "posts", unique_together(author_id, slug), index(author_id, created_at))]
/// pub struct Post {
///     #[orm(primary_key)]
///     pub id: i64,
///     pub author_id: i64,
///     #[orm(max_length = 80)]
///     pub slug: String,
///     #[orm(column = "body_text")]
///     pub body: String,
///     #[orm(default = false)]
///     pub published: bool,
///     #[orm(auto_now_add)]
///     pub created_at: chrono::DateTime<chrono::Utc>,
/// }
/// ```
///
/// # Field attributes
///
/// | attribute | meaning | default |
/// | --- | --- | --- |
/// | `primary_key` | the primary key (exactly one field); an `i16`/`i32`/`i64` key is an identity column filled on insert while it is 0, any other type (`Uuid`, `String`, ...) is supplied by you | none: required |
/// | `column = "name"` | the column's name | the field's name |
/// | `max_length = n` | `varchar(n)` instead of `text` (text fields only) | `text` |
/// | `unique` | a `UNIQUE` constraint, named `<table>_<column>_key` by PostgreSQL | off |
/// | `index` | a `CREATE INDEX` on the column, named `<table>_<column>_idx` | off |
/// | `default = literal` | the column's SQL `DEFAULT` (a number, string or bool of the field's type); your struct's own value is what `save` writes | none |
/// | `auto_now` | set to the current time on every `save` (`DateTime<Utc>` or `NaiveDateTime`) | off |
/// | `auto_now_add` | set to the current time when first inserted | off |
/// | `validate = path` | `fn(&T) -> Result<(), String>` checked before every write (repeatable); an `Err` is [`Error::Validation`] | none |
/// | `related_name = ".."` | the name of the reverse side (relations) | the only key pointing back |
/// | `on_delete = ".."` | `cascade`, `set_null`, `restrict`, `protect`, `set_default`, `do_nothing` (foreign keys) | `cascade` |
/// | `through = ".."` | the link table of a `ManyToMany` | `<table>_<field>` |
///
/// `Option<T>` fields are nullable; every other field is `NOT NULL`.
/// `max_length` is also checked before writes (in characters), so a value
/// too long is an [`Error::Validation`] rather than a server error.
///
/// # Struct attributes
///
/// | attribute | meaning | default |
/// | --- | --- | --- |
/// | `table = "name"` | the table's name | snake_case of the struct's name |
/// | `unique_together(a, b, ..)` | a composite `UNIQUE` constraint (repeatable) | none |
/// | `index(a, b, ..)` | a composite index (repeatable) | none |
/// | `index(a, .., using = "gin")` | an index with a method: `btree`, `hash`, `gist`, `gin`, `brin` (Django's `GinIndex`, ..) | `btree` |
/// | `index(a, b, opclasses = ["x", "y"])` | an index with one operator class per field (`jsonb_path_ops`, `text_pattern_ops`) | none |
/// | `index(search_vector(a, b), config = "english", using = "gin")` | an index on `to_tsvector('english'::regconfig, COALESCE(a, '') \|\| ' ' \|\| COALESCE(b, ''))`, the expression of `SearchVector(["a", "b"]).config("english")` (Django's `GinIndex(SearchVector(..))`) | none |
/// | `soft_delete`, `soft_delete = "field"` | `delete()` marks the row in this `Option<DateTime<Utc>>` field instead of deleting it; see the crate docs' "Soft delete" | off; the field `deleted_at` |
///
/// Several indexes with the same option go in one attribute
/// (`#[orm(index(a, using = "gin"), index(b, using = "gin"))]`): clippy's
/// `duplicated_attributes` flags a `using = "gin"` repeated in two.
/// | `hooks` | the model implements [`Hooks`] (code around saves and deletes) | off |
/// | `crate = "path"` | where `orm_core` is, for crates that re-export it | `::orm_core` |
///
/// # What it generates
///
/// The [`Model`](trait@Model) impl (table metadata, row decoding by column
/// position, the Active Record methods), a `{Name}Fields` struct of typed
/// [`Field`] handles returned by `Name::fields()`, the type-level field
/// names [`q!`] resolves, and a registration for [`generate_schemas`].
/// Misuse (a tuple struct, no primary key, an unsupported type, an unknown
/// attribute) is a compile error at the offending token.
pub use orm_derive::Model;

/// Stores a fieldless enum as text (its variants' names, or
/// `#[orm(rename = "..")]`), so it can be a model field and a `q!` value.
///
/// ```no_run
/// use orm_core::prelude::*;
///
/// #[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
/// pub enum Role {
///     #[default]
///     Member,
///     #[orm(rename = "admin")]
///     Admin,
/// }
///
/// #[derive(Model, Debug, Clone, Default)]
/// pub struct Account {
///     #[orm(primary_key)]
///     pub id: i64,
///     pub role: Role,
/// }
///
/// # async fn run() -> orm_core::Result<()> {
/// let admins = Account::filter(q!(role = Role::Admin)).count().await?;
/// # Ok(()) }
/// ```
///
/// A stored value that is not a variant fails to decode with
/// [`Error::Decode`] naming the column.
pub use orm_derive::DbEnum;

/// A condition in Django's form: `q!(field__lookup = value, ...)`.
///
/// A comma means AND. Without a lookup, `field = value` is an assignment
/// ([`Assign`]), usable both as a filter (equality; `= None` is `IS NULL`)
/// and in [`QuerySet::update`]; with a lookup it is a condition ([`Q`]).
/// Either combines with `&`, `|` and `!`.
///
/// The model is inferred from where the condition is used, and everything
/// is checked by the compiler at your tokens: the field must exist on that
/// model, the lookup must exist and suit the field's type (`icontains` on
/// text, `gt` on ordered types), and the value must have the field's type.
///
/// ```no_run
/// use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User {
/// #     #[orm(primary_key)] pub id: i64,
/// #     pub name: String,
/// #     pub email: Option<String>,
/// #     pub karma: i32,
/// # }
/// # async fn run() -> orm_core::Result<()> {
/// let q = q!(name__icontains = "gem", karma__gte = 10);
/// let users = User::filter(q | q!(email = None)).exclude(q!(karma__in = [1, 2])).await?;
/// User::filter(q!(karma__lt = 0)).update(q!(karma = 0, email = None)).await?;
/// // q!(karma__gte = "x")       -> error: `&str` cannot be used as a value for a field of type `i32`
/// // q!(karma__icontains = "x") -> error: this lookup works on text fields, not on a `i32` field
/// // q!(nmae = "x")             -> error: `User` has no field with this name
/// # Ok(()) }
/// ```
///
/// Lookups: `exact`, `iexact`, `contains`, `icontains`, `startswith`,
/// `istartswith`, `endswith`, `iendswith`, `in` (any iterable), `gt`, `gte`,
/// `lt`, `lte`, `range` (a `(low, high)` tuple), `isnull` (a bool), `regex`,
/// `iregex`; `pk` names the primary key. Used alone, outside a call that
/// fixes the model, annotate it: `let q: Q<User> = q!(..)`.
pub use orm_derive::q;

/// An async test with a fresh database of its own (feature `testing`), as
/// `#[sqlx::test]`: the way to test an application's own handlers.
///
/// ```no_run
/// use orm_core::prelude::*;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct User { #[orm(primary_key)] pub id: i64, pub name: String }
///
/// #[orm_core::test]
/// async fn creates_a_user() -> orm_core::Result<()> {
///     User::create(User { name: "ada".into(), ..Default::default() }).await?;
///     assert_eq!(User::all().count().await?, 1);
///     Ok(())
/// }
///
/// #[orm_core::test]
/// async fn with_the_database(db: orm_core::Db) -> orm_core::Result<()> {
///     assert_eq!(User::all().using(&db).count().await?, 0);
///     Ok(())
/// }
/// ```
///
/// The function becomes a `#[test]` that:
///
/// 1. starts a current-thread tokio runtime, as `#[tokio::test]` does (no
///    tokio dependency of your own is needed);
/// 2. creates a fresh, empty database with `testing::test_db`'s rules:
///    on the server of `DATABASE_URL`, or, when it is unset, on a throwaway
///    server started from the installed PostgreSQL binaries;
/// 3. creates the tables of every model linked into the test binary
///    ([`generate_schemas_on`]), or applies migration files (below);
/// 4. runs the body inside [`scope`], so ORM calls without `.using` go to
///    that database; the function may take it as its one argument
///    (`db: orm_core::Db`);
/// 5. drops the database (`DROP DATABASE .. WITH (FORCE)`) when the body
///    ends, whether it passed, failed or panicked.
///
/// Tests run in parallel, each on its own database, so none sees another's
/// rows. The body returns `()` or a `Result` (an `Err` fails the test).
/// Other attributes (`#[should_panic]`, `#[ignore]`, ..) stay on the test.
/// A database that cannot be set up fails the test with the reason (under
/// `#[should_panic]`, where a panic would pass, it ends the run instead).
///
/// # Options
///
/// | option | meaning |
/// | --- | --- |
/// | `migrations = "dir"` | apply the migration files in `dir` (relative to the package) with [`migrate::Migrator`] instead of creating the models' tables |
/// | `crate = "path"` | where `orm_core` is, for crates that re-export it |
///
/// # Linking the models
///
/// A test binary links only the crates it names. When the models live in
/// the application's library crate and a test file names none of them,
/// add `use my_app as _;` to it; with no model linked, the test fails
/// saying so. An integration test (`tests/*.rs`) needs `orm-core` with the
/// `testing` feature in `[dev-dependencies]`; without it, the attribute is
/// a compile error saying so.
///
/// A function that is not `async`, takes arguments other than one `Db`, is
/// generic, or has a second test attribute, and the attribute on anything
/// but a function, are compile errors at the offending token.
pub use orm_derive::test;

/// Passes the body of a `#[orm_core::test]` function through (the `testing`
/// feature is on). Not a public API: the attribute's expansion uses it.
#[cfg(feature = "testing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __orm_test_harness {
    ($($body:tt)*) => { $($body)* };
}

/// Stands for the body of a `#[orm_core::test]` function when the `testing`
/// feature is off: the error saying to enable it, at the attribute.
#[cfg(not(feature = "testing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __orm_test_harness {
    ($($body:tt)*) => {
        ::core::compile_error!(
            "#[orm_core::test] needs the `testing` feature of orm-core: add \
             `orm-core = { version = \"..\", features = [\"testing\"] }` to \
             [dev-dependencies]"
        )
    };
}

/// The names most programs need: `use orm_core::prelude::*;`.
pub mod prelude {
    pub use crate::query::{Avg, Count, Max, Min, StdDev, Sum, Variance, F};
    pub use crate::{
        q, ActiveRecord, Assign, Db, DbEnum, Error, ForeignKey, IntegrityKind, IntoQ, Lookup,
        ManyToMany, Model, OneToOne, QuerySet, Result, Reverse, ReverseOne, Q,
    };
    pub use futures_util::TryStreamExt;
}

/// Items used by the code that the macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::array::{ArrayStep, Idx};
    pub use crate::field::{field_by_name, relation_by_name, Field, Rel};
    pub use crate::json::steps as json_steps;
    pub use crate::key::COMPOSITE_PK;
    pub use crate::meta::TenantMeta;
    pub use crate::meta::{FieldMeta, IndexMeta, ModelMeta, ModelRegistration};
    pub use crate::model::{assert_single_key, SingleKey};
    pub use crate::model::{Ch, ColumnField, HasField, HasRelation, Model, RELATION_FIELD};
    pub use crate::range::fields::RangeStep;
    pub use crate::relation::ops::{ModelOps, Related, RelationField};
    pub use crate::relation::{OnDelete, RelationKind, RelationMeta};
    pub use crate::sql::writes::ModelStatements;
    pub use crate::tenant::assert_tenant_key;
    pub use crate::transform::{steps, DatePart, DateTimePart, Step, TimePart, TransformName};
    pub use crate::types::{Arg, DbEnum, FieldType, NullableField, SqlType, TextField, Timestamp};
    pub use crate::value::Value;
    pub use crate::{Error, Result};
    pub use bytes::BytesMut;
    pub use chrono::{DateTime, Utc};
    pub use inventory;
    pub use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
    pub use tokio_postgres::Row;

    /// Wraps the body of a `#[orm_core::test]` function: passes it through
    /// with the `testing` feature, else is the error saying to enable it.
    pub use crate::__orm_test_harness as test_harness;
    #[cfg(feature = "testing")]
    pub use crate::testing::harness::{run_test, TestFuture, TestOptions, TestSchema};

    /// Decodes column `index` of `row` as `T`, naming the column on error.
    #[inline]
    pub fn decode<'a, T: FromSql<'a>>(
        row: &'a Row,
        index: usize,
        model: &'static str,
        column: &'static str,
    ) -> Result<T> {
        row.try_get(index).map_err(|source| {
            Error::from(crate::error::DecodeError {
                model,
                column,
                source,
            })
        })
    }

    /// Converts a [`Value`] into field type `T`, naming the field on error.
    pub fn from_value<T: FieldType>(
        value: Value,
        model: &'static str,
        field: &'static str,
    ) -> Result<T> {
        let invalid = |got: &dyn std::fmt::Debug| {
            Error::from(crate::error::ValueError {
                model,
                field,
                reason: format!(
                    "expected a value of type {}, got {got:?}",
                    T::SQL_TYPE.name()
                ),
            })
        };
        if !T::SQL_TYPE.matches(&value) {
            return Err(invalid(&value));
        }
        // The value is consumed below, and formatting it up front would
        // cost more than the conversion: what a failure from here on can
        // still show is whether it was NULL (for a non-null field).
        let null = value.is_null();
        T::from_value(value).ok_or_else(|| {
            invalid(&format_args!(
                "{}",
                if null {
                    "NULL"
                } else {
                    "a value it does not take"
                }
            ))
        })
    }

    /// The field's SQL type, through its type-level name.
    pub const fn sql_type<M: ColumnField<N>, N>() -> SqlType {
        <M::Column as FieldType>::SQL_TYPE
    }
    /// True for a nullable field.
    pub const fn nullable<M: ColumnField<N>, N>() -> bool {
        <M::Column as FieldType>::NULLABLE
    }
    /// Decodes a field.
    #[inline]
    pub fn decode_field<M: ColumnField<N>, N>(
        row: &Row,
        index: usize,
        model: &'static str,
        column: &'static str,
    ) -> Result<M::Column> {
        decode(row, index, model, column)
    }
    /// A field's value.
    pub fn field_to_value<M: ColumnField<N>, N>(v: &M::Column) -> Value {
        v.to_value()
    }
    /// A field as a parameter.
    pub fn field_as_sql<M: ColumnField<N>, N>(v: &M::Column) -> &(dyn ToSql + Sync) {
        v
    }
    /// A field from a value.
    pub fn field_from_value<M: ColumnField<N>, N>(
        value: Value,
        model: &'static str,
        field: &'static str,
    ) -> Result<M::Column> {
        from_value(value, model, field)
    }
    /// `max_length` checked before a write.
    pub fn check_max_length<T: crate::types::MaxLengthField>(
        value: &T,
        max: usize,
        model: &'static str,
        field: &'static str,
    ) -> Result<()> {
        let len = value.char_len();
        if len > max {
            return Err(Error::from(crate::error::ValidationError::new(
                model,
                field,
                format!("at most {max} characters allowed (max_length), it has {len}"),
            )));
        }
        Ok(())
    }

    /// `max_digits`/`decimal_places` checked before a write (Django's
    /// `DecimalValidator`).
    pub fn check_decimal<T: crate::types::DecimalField>(
        value: &T,
        max_digits: u32,
        decimal_places: u32,
        model: &'static str,
        field: &'static str,
    ) -> Result<()> {
        match value
            .decimal()
            .and_then(|d| crate::types::decimal_error(d, max_digits, decimal_places))
        {
            Some(message) => Err(Error::from(crate::error::ValidationError::new(
                model, field, message,
            ))),
            None => Ok(()),
        }
    }

    /// The SQL type of a `#[orm(citext)]` field, which must be text.
    pub const fn citext_type<M: ColumnField<N>, N>() -> SqlType
    where
        M::Column: crate::types::CiTextField,
    {
        SqlType::CiText
    }

    /// A `#[orm(validate = ..)]` function's verdict, as an error.
    pub fn check_rule<T: ?Sized>(
        value: &T,
        rule: impl Fn(&T) -> std::result::Result<(), String>,
        model: &'static str,
        field: &'static str,
    ) -> Result<()> {
        rule(value).map_err(|message| {
            Error::from(crate::error::ValidationError::new(model, field, message))
        })
    }

    /// Every check of `validate()`, run to the end: their validation
    /// errors merged into one that lists every field; any other error as
    /// it is.
    pub fn all_valid<const N: usize>(model: &'static str, checks: [Result<()>; N]) -> Result<()> {
        let mut errors = Vec::new();
        for check in checks {
            match check {
                Ok(()) => {}
                Err(Error::Validation(e)) => errors.extend(e.errors()),
                Err(other) => return Err(other),
            }
        }
        match crate::error::ValidationError::from_errors(model, errors) {
            Some(e) => Err(Error::from(e)),
            None => Ok(()),
        }
    }

    /// `default = ..` must be a value of the field's type.
    pub fn assert_default<T: FieldType, V: Arg<T>>(_value: V) {}
}

#[cfg(test)]
mod tests {
    use crate::{Error, Value};

    fn reason(result: crate::Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::InvalidValue(e)) if e.model == "User" && e.field == "age" => e.reason,
            other => panic!("expected InvalidValue on User.age, got {other:?}"),
        }
    }

    #[test]
    fn field_conversions_name_what_they_got() {
        let from = |v| crate::__private::from_value::<i32>(v, "User", "age");
        assert_eq!(from(Value::I32(Some(7))).unwrap(), 7);
        assert_eq!(
            reason(from(Value::Text(Some("seven".into())))),
            r#"expected a value of type integer, got Text(Some("seven"))"#
        );
        assert_eq!(
            reason(from(Value::I32(None))),
            "expected a value of type integer, got NULL"
        );
        let nullable = crate::__private::from_value::<Option<i32>>(Value::I32(None), "User", "age");
        assert_eq!(nullable.unwrap(), None);
    }
}
