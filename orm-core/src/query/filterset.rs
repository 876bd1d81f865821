//! [`FilterSet`]: the filters, ordering and search a client may ask for in
//! a query string, declared once (django-filter's `FilterSet`, Django REST
//! framework's `OrderingFilter` and `SearchFilter`) and applied to a
//! [`QuerySet`] from the raw text of the request.

use std::marker::PhantomData;

use crate::error::{Error, FilterErrors, Result};
use crate::model::Model;
use crate::query::lookup::{Lookup, LookupPolicy};
use crate::query::order::OrderBy;
use crate::query::q::Q;
use crate::query::QuerySet;

/// The longest query string a [`FilterSet`] reads by default, in bytes.
pub const DEFAULT_MAX_QUERY_LEN: usize = 8_192;

/// The most parameters a [`FilterSet`] reads by default.
pub const DEFAULT_MAX_PARAMS: usize = 64;

/// The most words of a `search` a [`FilterSet`] takes by default.
pub const DEFAULT_MAX_SEARCH_TERMS: usize = 8;

/// The parameters a [`FilterSet`] leaves to others by default: pagination
/// (`page`, `page_size`, `cursor`, `limit`, `offset`) and `format`.
pub const DEFAULT_IGNORED: &[&str] = &["page", "page_size", "cursor", "limit", "offset", "format"];

/// What a query string asks of model `M`, declared once (e.g. in a
/// `static` or the app's state) and applied to each request's query
/// string:
///
/// ```no_run
/// # use orm_core::prelude::*;
/// # use orm_core::query::FilterSet;
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Author { #[orm(primary_key)] pub id: i64, pub name: String }
/// # #[derive(Model, Debug, Clone, Default)]
/// # pub struct Post {
/// #     #[orm(primary_key)] pub id: i64, pub title: String, pub views: i64,
/// #     pub author: ForeignKey<Author>, pub created: chrono::DateTime<chrono::Utc>,
/// # }
/// # async fn run() -> orm_core::Result<()> {
/// let filters = FilterSet::<Post>::new()
///     .field("title", &["exact", "icontains"])
///     .field("views", &["gte", "lte"])
///     .field("author__name", &["exact"])
///     .ordering_fields(&["created", "title", "views"])
///     .search_fields(&["title", "author__name"]);
/// // GET /posts?title__icontains=rust&views__gte=10&ordering=-created,title&search=ada&page=2
/// let qs = filters.apply(
///     Post::all(),
///     "title__icontains=rust&views__gte=10&ordering=-created,title&search=ada&page=2",
/// )?;
/// let posts = qs.await?;
/// # Ok(()) }
/// ```
///
/// - **Filters**: each parameter is a lookup key the set allows
///   ([`field`](FilterSet::field)), its value in the text form of
///   [`Lookup::parse`] (`__in` and `__range` comma-separated). A key given
///   twice: the last value wins, as Django's `QueryDict.get`, except `__in`,
///   whose lists add up. Conditions are ANDed.
/// - **Ordering** (`ordering=-created,title`, DRF's `OrderingFilter`): names
///   from [`ordering_fields`](FilterSet::ordering_fields), `-` for
///   descending; it replaces the query's ordering.
/// - **Search** (`search=rust async`, DRF's `SearchFilter`): each word (split
///   on spaces and commas) must be in at least one of the
///   [`search_fields`](FilterSet::search_fields) (`icontains`, `%` and `_`
///   matched literally).
/// - Keys and values are URL-decoded (`%XX`, `+` as a space). The
///   pagination parameters of [`DEFAULT_IGNORED`] are left alone; any
///   other parameter is an error unless [`ignore_unknown`](FilterSet::ignore_unknown)
///   says to skip it.
/// - Everything wrong is reported at once, per parameter, as
///   [`Error::InvalidFilters`] (a 400, with what is allowed), and nothing
///   is sent. Sizes are bounded: the query string
///   ([`DEFAULT_MAX_QUERY_LEN`]), the number of parameters
///   ([`DEFAULT_MAX_PARAMS`]), each value ([`LookupPolicy`]'s limits), the
///   search's words ([`DEFAULT_MAX_SEARCH_TERMS`]).
pub struct FilterSet<M> {
    policy: LookupPolicy,
    ordering: Vec<String>,
    search: Vec<String>,
    ignored: Vec<String>,
    ignore_unknown: bool,
    max_query_len: usize,
    max_params: usize,
    max_search_terms: usize,
    _model: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for FilterSet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterSet")
            .field("policy", &self.policy)
            .field("ordering", &self.ordering)
            .field("search", &self.search)
            .field("ignored", &self.ignored)
            .field("ignore_unknown", &self.ignore_unknown)
            .finish_non_exhaustive()
    }
}

impl<M> Clone for FilterSet<M> {
    fn clone(&self) -> Self {
        FilterSet {
            policy: self.policy.clone(),
            ordering: self.ordering.clone(),
            search: self.search.clone(),
            ignored: self.ignored.clone(),
            ignore_unknown: self.ignore_unknown,
            max_query_len: self.max_query_len,
            max_params: self.max_params,
            max_search_terms: self.max_search_terms,
            _model: PhantomData,
        }
    }
}

impl<M: Model> Default for FilterSet<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a query string asked for: the conditions and the ordering (empty
/// when it gave none).
#[derive(Debug, Clone)]
pub struct Filters<M> {
    /// The filters and the search, ANDed.
    pub q: Q<M>,
    /// The `ordering` parameter's terms.
    pub order: Vec<OrderBy>,
}

/// `%XX` and `+` decoded; `None` for a bad escape or text that is not
/// UTF-8.
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let hi = bytes.get(i + 1).copied().and_then(hex)?;
                let lo = bytes.get(i + 2).copied().and_then(hex)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl<M: Model> FilterSet<M> {
    /// A set that allows nothing yet, with the default limits.
    pub fn new() -> Self {
        FilterSet {
            policy: LookupPolicy::new(),
            ordering: Vec::new(),
            search: Vec::new(),
            ignored: DEFAULT_IGNORED.iter().map(|s| (*s).to_owned()).collect(),
            ignore_unknown: false,
            max_query_len: DEFAULT_MAX_QUERY_LEN,
            max_params: DEFAULT_MAX_PARAMS,
            max_search_terms: DEFAULT_MAX_SEARCH_TERMS,
            _model: PhantomData,
        }
    }

    /// Allows `lookups` on `field` (a field or a path across relations),
    /// as django-filter's `Meta.fields = {"title": ["exact", "icontains"]}`:
    /// `title=..` for `exact`, `title__icontains=..`.
    #[must_use]
    pub fn field(mut self, field: &str, lookups: &[&str]) -> Self {
        self.policy = self.policy.allow(field, lookups);
        self
    }

    /// Replaces the limits on values ([`LookupPolicy`]'s `max_value_len`,
    /// `max_regex_len`, `max_in_items`) with `policy`'s, keeping the
    /// allowed fields.
    #[must_use]
    pub fn limits(mut self, policy: &LookupPolicy) -> Self {
        self.policy = self.policy.with_limits_of(policy);
        self
    }

    /// The names `ordering=` may use (DRF's `ordering_fields`): fields or
    /// paths across single-valued relations (`author__name`).
    #[must_use]
    pub fn ordering_fields(mut self, names: &[&str]) -> Self {
        self.ordering = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The fields `search=` looks in (DRF's `search_fields`), text fields
    /// or paths to them (`author__name`).
    #[must_use]
    pub fn search_fields(mut self, names: &[&str]) -> Self {
        self.search = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Parameters to leave alone besides [`DEFAULT_IGNORED`] (read by
    /// another part of the app).
    #[must_use]
    pub fn ignore(mut self, params: &[&str]) -> Self {
        self.ignored.extend(params.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Skips parameters the set does not know instead of refusing them.
    #[must_use]
    pub fn ignore_unknown(mut self) -> Self {
        self.ignore_unknown = true;
        self
    }

    /// The longest query string, in bytes, and the most parameters.
    #[must_use]
    pub fn max_query(mut self, bytes: usize, params: usize) -> Self {
        self.max_query_len = bytes;
        self.max_params = params;
        self
    }

    /// The filters of a raw query string (without the `?`).
    ///
    /// # Errors
    /// [`Error::InvalidFilters`] listing every refused parameter.
    pub fn parse(&self, query: &str) -> Result<Filters<M>> {
        let refuse = |errors: Vec<(String, String)>| {
            Error::from(FilterErrors {
                model: M::META.name,
                errors,
            })
        };
        if query.len() > self.max_query_len {
            return Err(refuse(vec![(
                String::new(),
                format!(
                    "the query string is longer than {} bytes",
                    self.max_query_len
                ),
            )]));
        }
        let mut pairs = Vec::new();
        let mut errors = Vec::new();
        for (n, part) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            if n == self.max_params {
                return Err(refuse(vec![(
                    String::new(),
                    format!("more than {} parameters", self.max_params),
                )]));
            }
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            match (url_decode(key), url_decode(value)) {
                (Some(key), Some(value)) => pairs.push((key, value)),
                (key, _) => errors.push((
                    key.unwrap_or_else(|| crate::meta::shown(key_text(part))),
                    "not valid URL-encoded UTF-8".to_owned(),
                )),
            }
        }
        self.parse_pairs_with(pairs, errors)
    }

    /// As [`parse`](FilterSet::parse), with the parameters already split
    /// and decoded (a framework's `Query<Vec<(String, String)>>`).
    ///
    /// # Errors
    /// [`Error::InvalidFilters`] listing every refused parameter.
    pub fn parse_pairs<K, V>(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<Filters<M>>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut collected = Vec::new();
        for (n, (k, v)) in pairs.into_iter().enumerate() {
            if n == self.max_params {
                return Err(Error::from(FilterErrors {
                    model: M::META.name,
                    errors: vec![(
                        String::new(),
                        format!("more than {} parameters", self.max_params),
                    )],
                }));
            }
            collected.push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        }
        self.parse_pairs_with(collected, Vec::new())
    }

    fn parse_pairs_with(
        &self,
        pairs: Vec<(String, String)>,
        mut errors: Vec<(String, String)>,
    ) -> Result<Filters<M>> {
        // The last value of a key wins; `__in` lists add up.
        let mut merged: Vec<(String, String)> = Vec::new();
        for (key, value) in pairs {
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some((_, old)) if key.ends_with("__in") && !old.is_empty() && !value.is_empty() => {
                    old.push(',');
                    old.push_str(&value);
                }
                Some((_, old)) => *old = value,
                None => merged.push((key, value)),
            }
        }
        let mut q = Q::all();
        let mut order = Vec::new();
        for (key, value) in merged {
            if self.ignored.contains(&key) {
                continue;
            }
            let result = match key.as_str() {
                "ordering" if !self.ordering.is_empty() => self.ordering(&value).map(|o| {
                    order = o;
                    Q::all()
                }),
                "search" if !self.search.is_empty() => self.searching(&value),
                _ => match Lookup::parse_with::<M>(&self.policy, &key, &value) {
                    Err(Error::InvalidLookup(_)) if self.ignore_unknown => Ok(Q::all()),
                    other => other.map_err(|e| message(&e)),
                },
            };
            match result {
                Ok(cond) => q = q & cond,
                Err(message) => errors.push((crate::meta::shown(&key), message)),
            }
        }
        if errors.is_empty() {
            Ok(Filters { q, order })
        } else {
            Err(Error::from(FilterErrors {
                model: M::META.name,
                errors,
            }))
        }
    }

    /// `ordering=-a,b`: each name allowed, `-` for descending.
    fn ordering(&self, value: &str) -> std::result::Result<Vec<OrderBy>, String> {
        let mut out = Vec::new();
        for term in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let bare = term.strip_prefix('-').unwrap_or(term);
            if !self.ordering.iter().any(|o| o == bare) {
                return Err(format!(
                    "cannot order by `{}`; allowed: {}",
                    crate::meta::shown(bare),
                    self.ordering.join(", ")
                ));
            }
            out.push(OrderBy::from(term.to_owned()));
        }
        Ok(out)
    }

    /// `search=a b`: every word in at least one search field.
    fn searching(&self, value: &str) -> std::result::Result<Q<M>, String> {
        let words: Vec<&str> = value
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() > self.max_search_terms {
            return Err(format!(
                "a search takes at most {} words",
                self.max_search_terms
            ));
        }
        // The search fields are the set's own: any of them, within its limits.
        let any = self.policy.any_field();
        let mut q = Q::all();
        for word in words {
            let mut matches = Q::none();
            for field in &self.search {
                let key = format!("{field}__icontains");
                let cond = Lookup::parse_with::<M>(&any, &key, word).map_err(|e| message(&e))?;
                matches = matches | cond;
            }
            q = q & matches;
        }
        Ok(q)
    }

    /// Applies the query string to `qs`: its filters and search, and its
    /// ordering in place of the query's.
    ///
    /// # Errors
    /// As [`parse`](FilterSet::parse).
    pub fn apply(&self, qs: QuerySet<M>, query: &str) -> Result<QuerySet<M>> {
        let Filters { q, order } = self.parse(query)?;
        let qs = qs.filter(q);
        Ok(if order.is_empty() {
            qs
        } else {
            qs.order_by(order)
        })
    }
}

/// The key of a `key=value` part, for naming a parameter that does not
/// decode.
fn key_text(part: &str) -> &str {
    part.split_once('=').map_or(part, |(k, _)| k)
}

/// An error's message without the model's name in front (the response
/// names the parameter).
fn message(err: &Error) -> String {
    match err {
        Error::InvalidLookup(e) => format!(
            "not a filter this endpoint allows; allowed: {}",
            e.valid.join(", ")
        ),
        Error::InvalidValue(e) => e.reason.clone(),
        other => other.to_string(),
    }
}
