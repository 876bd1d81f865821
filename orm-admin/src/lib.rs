//! A Django-style admin site for [`orm_core`] models, on [axum]: list,
//! search, filter, sort, add, change and delete rows of the registered
//! models from server-rendered HTML pages, generated from the models'
//! metadata (`Model::META`), with staff users, sessions stored in
//! PostgreSQL, CSRF tokens, a strict Content-Security-Policy and a
//! history of every change.
//!
//! ```no_run
//! use orm_admin::{Admin, ModelAdmin};
//! use orm_core::prelude::*;
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Author {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(max_length = 100, unique)]
//!     pub name: String,
//! }
//!
//! #[derive(Model, Debug, Clone, Default)]
//! pub struct Post {
//!     #[orm(primary_key)]
//!     pub id: i64,
//!     #[orm(on_delete = "cascade")]
//!     pub author: ForeignKey<Author>,
//!     #[orm(max_length = 200)]
//!     pub title: String,
//!     pub published: bool,
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let db = orm_core::Db::connect("postgres://app@localhost/app").await?;
//! orm_core::generate_schemas_on(&db).await?; // the admin's tables too
//! orm_core::scope(&db, orm_admin::create_superuser("admin", "a long secret")).await?;
//! let admin = Admin::new()
//!     .database(&db)
//!     .register::<Author>()
//!     .register_with(
//!         ModelAdmin::<Post>::new()
//!             .list_display(&["id", "title", "author", "published"])
//!             .list_filter(&["published", "author"])
//!             .search_fields(&["title", "author__name"])
//!             .ordering(&["-id"]),
//!     );
//! // axum's `nest` serves the index at `/admin`; `/admin/` is sent there.
//! let app = axum::Router::new()
//!     .nest("/admin", admin.router())
//!     .route("/admin/", axum::routing::get(|| async {
//!         axum::response::Redirect::permanent("/admin")
//!     }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(
//!     listener,
//!     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(()) }
//! ```
//!
//! # Pages
//! Under the mount path (`/admin`): the mount path itself lists the registered models;
//! `/<model>/` is the change list (columns of `list_display`, sort by a
//! header — several columns, the last clicked first —, a search box over
//! `search_fields` (each word in any of them, `icontains`, relation paths
//! such as `author__name` allowed), sidebar filters for booleans, enums,
//! foreign keys, dates and NULL, page numbers with the planner's estimate
//! of the count past [`ModelAdmin::estimate_count_above`] rows, and
//! keyset links — see [Big tables](#big-tables));
//! `/<model>/add/` and `/<model>/<pk>/change/` are the forms (a widget per
//! field type; a foreign key is a select when its table has at most
//! [`ModelAdmin::fk_select_limit`] rows, else a key input showing the
//! related object's label — a big table is never read whole);
//! `/<model>/<pk>/delete/` asks for confirmation, showing what the delete
//! would remove, set to NULL or be refused by, per model
//! ([`QuerySet::delete_preview`](orm_core::QuerySet::delete_preview));
//! `/<model>/<pk>/history/` lists the object's history. The `<model>` of
//! a URL is the model's name in lower case.
//!
//! The change list's query string is a [`FilterSet`]'s:
//! `?published=true&author=3&search=rust+async&ordering=-views,title&page=2`;
//! only the filters of `list_filter` (`exact`, `isnull`, and `gte`/`lt`
//! on dates), the search and the ordering by a field pass. Anything else
//! — an unknown field, a value of the wrong type, a value too long — is
//! a 400 page naming the parameter; nothing is ever written into SQL.
//!
//! # Big tables
//! The change list's Previous / Next / Last links carry the sort key of
//! the page's first or last row (`?cursor=..`, made and read by
//! [`QuerySet::keyset_page`](orm_core::QuerySet::keyset_page); each value
//! is parsed by its field's type and bound as a parameter; a cursor of
//! another ordering, or tampered with, is a 400). A page is then one
//! indexed range query however deep it is:
//!
//! ```text
//! WHERE "price" >= $1 AND ("price" > $2 OR ("price" = $3 AND "id" > $4))
//! ORDER BY "price" ASC, "id" ASC LIMIT 101
//! ```
//!
//! Last reads the ordering reversed
//! ([`QuerySet::keyset_last_page`](orm_core::QuerySet::keyset_last_page)).
//! Page numbers stay (`?page=3`, `OFFSET`): all of them for an exact
//! count, the first five past [`ModelAdmin::estimate_count_above`] rows.
//! An ordering with a nullable field has page numbers only. On 1,000,000
//! rows every list page and the change form of a row pointing into that
//! table take a few milliseconds of server time (`benches/examples/admin_1m.rs`,
//! figures in `benches/RESULTS.md`).
//!
//! # Looks
//! One embedded stylesheet: light or dark as the system asks
//! (`prefers-color-scheme`), and down to a 390 px phone (the list scrolls
//! sideways in its frame, the filters go under it, forms stack).
//! Screenshots: `orm-admin/docs/change-list.png` and
//! `orm-admin/docs/change-form-dark.png` in the repository (shown in its
//! README); the browser test saves one of every page under
//! `target/admin-screenshots/`.
//!
//! # `manage createsuperuser`
//! A `manage` binary calling [`cli::main`] has orm-core's commands and
//! `createsuperuser`, interactive or `--noinput --username admin` with
//! `ADMIN_PASSWORD` (see [`cli`]).
//!
//! # Users and sessions
//! Users are rows of `admin_users` ([`AdminUser`]) with Argon2id password
//! hashes; only active staff users may log in ([`create_superuser`]).
//! A login opens a session, a row of `admin_sessions` holding the SHA-256
//! of the cookie's random value, its CSRF token and its expiry (two weeks
//! by default, [`Admin::session_age`]). Failed logins are limited per
//! username and client address ([`Admin::login_rate_limit`]; the address
//! is known when the app is served with
//! `into_make_service_with_connect_info::<SocketAddr>()`).
//!
//! The tables are created by [`orm_core::generate_schemas`] (the admin's
//! models are linked in with this crate), written into the application's
//! migrations by `makemigrations`, or created alone by [`install`].
//!
//! # Safe by default
//! - Every `POST` carries the session's CSRF token in a hidden field
//!   (`csrfmiddlewaretoken`), compared in constant time; the login form's
//!   token is a cookie's (double submit). Missing or wrong: 403.
//! - `Content-Security-Policy: default-src 'self'; script-src 'self';
//!   style-src 'self'; img-src 'self' data:; form-action 'self';
//!   frame-ancestors 'none'; base-uri 'none'; object-src 'none';
//!   report-uri <mount>/csp-report`: no inline script or style anywhere;
//!   the stylesheet and scripts are embedded in the binary and served
//!   from `<mount>/static/`. A violation the browser reports is logged
//!   (`tracing` warning).
//! - Cookies are `HttpOnly; SameSite=Lax; Path=<mount>`, and `Secure`
//!   with [`Admin::secure_cookies`].
//! - Every value shown is HTML-escaped; every filter, search and sort goes
//!   through the ORM's allow-listed runtime lookups, as bound parameters.
//! - Each add, change and delete writes an [`AdminLogEntry`] in the same
//!   transaction: a change that fails leaves no history.
//!
//! # Permissions
//! A superuser may do everything; another staff user what was granted
//! to it, per model and [`Action`] (Django's view/add/change/delete
//! permissions), as rows of `admin_permissions` ([`AdminPermission`]):
//!
//! ```no_run
//! # async fn run(staff: orm_admin::AdminUser) -> orm_core::Result<()> {
//! use orm_admin::{grant, revoke, Action};
//! grant(&staff, "Post", Action::View).await?;
//! grant(&staff, "Post", Action::Change).await?; // change gives view too
//! revoke(&staff, "Post", Action::View).await?;
//! # Ok(()) }
//! ```
//!
//! Every page and form checks them (403 otherwise), and hides what the
//! user may not do: models without permission are not on the index, the
//! Add button needs `Add`, a user with only `View` sees a read-only form
//! without Save, the Delete link needs `Delete`.
//!
//! # Actions
//! The change list's rows have checkboxes and an action menu, as in
//! Django: "Delete selected" (needs `Delete`; shows the cascade preview
//! of them all, then deletes each with its history row in one
//! transaction), "Export selected as CSV" (needs `View`; RFC 4180
//! quoting, and a cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return gets a leading `'` so that a spreadsheet does not run
//! it), and the model's own actions, [`ModelAdmin::action`] (need
//! `Change`).
//!
//! # Autocomplete
//! `GET <mount>/<model>/autocomplete?term=rust` answers up to 20 objects
//! matching the model's `search_fields` as JSON, in Django's shape:
//! `{"results": [{"id": "3", "text": "Rust post"}], "pagination":
//! {"more": true}}` (needs `View`; a model without `search_fields` is a
//! 404).
//!
//! # Inlines, many-to-many fields, autocomplete, stale rows
//! - [`ModelAdmin::inline`] with an [`Inline`] (Django's
//!   `TabularInline`) shows the rows of a child model whose foreign key
//!   points to the object as a table on its change form (and blank rows
//!   on the add form): Django's formset names (`post_set-TOTAL_FORMS`,
//!   `post_set-0-id`, `post_set-0-title`, `post_set-0-DELETE`). Each
//!   row's add, change and delete needs the child model's permission
//!   (what is not allowed is shown read-only and ignored if sent);
//!   errors show next to the cell with the input kept; the rows are
//!   saved in the parent's transaction, each with its history row, and
//!   nothing is saved when one fails.
//! - A many-to-many field whose target is registered is a
//!   `<select multiple>` with a filter box, or — past the target's
//!   [`ModelAdmin::fk_select_limit`] — its chosen objects as checkboxes
//!   and a search box over the target's autocomplete; the links are set
//!   (added and removed) in the row's transaction.
//! - A foreign key to a table past `fk_select_limit` rows whose admin
//!   has `search_fields` is a search box with suggestions from
//!   `<model>/autocomplete` (arrows, Enter, Escape; ARIA combobox); a
//!   plain key input without JavaScript.
//! - The change form carries a hash of the row as loaded
//!   (`_row_token`); the save compares it with the row locked by `SELECT
//!   .. FOR UPDATE` and, when someone changed it meanwhile, saves nothing
//!   and shows the form again with a warning, the user's input and the
//!   new hash: saving again overwrites.

mod auth;
pub mod cli;
mod fields;
mod html;
mod inline;
mod models;
mod ops;
mod paging;
mod perms;
mod related;
mod views;
mod widgets;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use orm_core::query::FilterSet;
use orm_core::types::SqlType;
use orm_core::{Db, Lookup, Model};

pub use auth::{hash_password, verify_password};
pub use inline::Inline;
pub use models::{
    create_superuser, create_user, install, install_on, set_password, AdminLogEntry,
    AdminPermission, AdminSession, AdminUser,
};
pub use perms::{grant, revoke, Action};

use crate::ops::{ActionFn, LabelFn, ModelOps, Ops};

/// The options of one model's pages that do not depend on its type.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) list_display: Vec<String>,
    pub(crate) list_filter: Vec<String>,
    pub(crate) search_fields: Vec<String>,
    pub(crate) ordering: Vec<String>,
    pub(crate) readonly_fields: Vec<String>,
    pub(crate) exclude: Vec<String>,
    pub(crate) blank_fields: Vec<String>,
    pub(crate) list_per_page: i64,
    pub(crate) fk_select_limit: i64,
    pub(crate) estimate_count_above: i64,
    /// The user-defined actions: (name, description).
    pub(crate) actions: Vec<(String, String)>,
}

/// How one model's pages look and behave, as Django's `ModelAdmin`.
/// Every name is checked when the admin's router is built.
pub struct ModelAdmin<M: Model> {
    opts: Options,
    label: Option<LabelFn<M>>,
    actions: Vec<(String, ActionFn<M>)>,
    inlines: Vec<Box<dyn inline::InlineOps>>,
    inline_problems: Vec<String>,
}

impl<M: Model> std::fmt::Debug for ModelAdmin<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelAdmin")
            .field("model", &M::META.name)
            .field("options", &self.opts)
            .finish_non_exhaustive()
    }
}

impl<M: Model> Default for ModelAdmin<M> {
    fn default() -> Self {
        Self::new()
    }
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

impl<M: Model> ModelAdmin<M> {
    /// The defaults: the key and up to five other short fields as columns,
    /// no filter, no search, newest key first, 100 rows a page.
    pub fn new() -> Self {
        let meta = M::META;
        let short = |f: &&orm_core::FieldMeta| {
            let long_text = f.sql_type == SqlType::Text && f.max_length.is_none();
            let bulky = matches!(
                f.sql_type,
                SqlType::Jsonb | SqlType::Bytea | SqlType::Array(_)
            );
            !(bulky || long_text)
        };
        let mut display: Vec<String> = vec![meta.pk_field().name.to_owned()];
        display.extend(
            meta.fields
                .iter()
                .filter(|f| !f.primary_key)
                .filter(short)
                .take(5)
                .map(|f| f.name.to_owned()),
        );
        ModelAdmin {
            opts: Options {
                list_display: display,
                list_filter: Vec::new(),
                search_fields: Vec::new(),
                ordering: vec![format!("-{}", meta.pk_field().name)],
                readonly_fields: Vec::new(),
                exclude: Vec::new(),
                blank_fields: Vec::new(),
                list_per_page: 100,
                fk_select_limit: 100,
                estimate_count_above: 100_000,
                actions: Vec::new(),
            },
            label: None,
            actions: Vec::new(),
            inlines: Vec::new(),
            inline_problems: Vec::new(),
        }
    }

    /// The change list's columns: field names (a foreign key shows the
    /// related object's label). The first links to the change form.
    #[must_use]
    pub fn list_display(mut self, fields: &[&str]) -> Self {
        self.opts.list_display = owned(fields);
        self
    }

    /// The sidebar's filters: booleans, enums, foreign keys, dates and
    /// nullable fields.
    #[must_use]
    pub fn list_filter(mut self, fields: &[&str]) -> Self {
        self.opts.list_filter = owned(fields);
        self
    }

    /// The fields the search box looks in (`icontains`, each word in any
    /// of them): text fields or paths to them across relations
    /// (`author__name`).
    #[must_use]
    pub fn search_fields(mut self, fields: &[&str]) -> Self {
        self.opts.search_fields = owned(fields);
        self
    }

    /// The change list's ordering when none is asked for (`-` for
    /// descending).
    #[must_use]
    pub fn ordering(mut self, fields: &[&str]) -> Self {
        self.opts.ordering = owned(fields);
        self
    }

    /// Fields shown but not editable in the forms.
    #[must_use]
    pub fn readonly_fields(mut self, fields: &[&str]) -> Self {
        self.opts.readonly_fields = owned(fields);
        self
    }

    /// Fields left out of the forms (they keep their value, or their
    /// default on add).
    #[must_use]
    pub fn exclude(mut self, fields: &[&str]) -> Self {
        self.opts.exclude = owned(fields);
        self
    }

    /// Text fields that may be left empty (Django's `blank=True`); any
    /// other non-nullable field is required.
    #[must_use]
    pub fn blank_fields(mut self, fields: &[&str]) -> Self {
        self.opts.blank_fields = owned(fields);
        self
    }

    /// Rows per change list page (Django's default: 100).
    #[must_use]
    pub fn list_per_page(mut self, n: i64) -> Self {
        self.opts.list_per_page = n.clamp(1, 10_000);
        self
    }

    /// A foreign key to this model is a select when the table has at most
    /// `n` rows (100), else a key input.
    #[must_use]
    pub fn fk_select_limit(mut self, n: i64) -> Self {
        self.opts.fk_select_limit = n.clamp(0, 10_000);
        self
    }

    /// The change list counts with PostgreSQL's estimate when it is above
    /// `n` rows (100,000): an exact `COUNT(*)` over millions of rows is
    /// what makes a list slow.
    #[must_use]
    pub fn estimate_count_above(mut self, n: i64) -> Self {
        self.opts.estimate_count_above = n.max(0);
        self
    }

    /// How an object is named on the pages (Django's `__str__`); by
    /// default its first non-empty text field, else `Post object (1)`.
    #[must_use]
    pub fn label(mut self, label: impl Fn(&M) -> String + Send + Sync + 'static) -> Self {
        self.label = Some(Box::new(label));
        self
    }

    /// A bulk action of the change list (Django's admin actions), offered
    /// beside "Delete selected" and "Export CSV" to users with the
    /// `Change` permission: `run` gets the selected objects' query set,
    /// in a transaction that also writes a history row per object (an
    /// error rolls both back). `name` is the form's value (letters,
    /// digits, `_`), `description` the menu's text.
    ///
    /// ```no_run
    /// # use orm_core::prelude::*;
    /// # #[derive(Model, Debug, Clone, Default)]
    /// # pub struct Post { #[orm(primary_key)] pub id: i64, pub published: bool }
    /// let admin = orm_admin::ModelAdmin::<Post>::new().action(
    ///     "publish",
    ///     "Publish selected posts",
    ///     |posts| async move { posts.update(q!(published = true)).await.map(drop) },
    /// );
    /// ```
    #[must_use]
    pub fn action<F, Fut>(mut self, name: &str, description: &str, run: F) -> Self
    where
        F: Fn(orm_core::QuerySet<M>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = orm_core::Result<()>> + Send + 'static,
    {
        self.opts
            .actions
            .push((name.to_owned(), description.to_owned()));
        self.actions.push((
            name.to_owned(),
            Arc::new(move |qs| Box::pin(run(qs)) as ops::BoxFut<'static, _>),
        ));
        self
    }

    /// Edits the rows of another model that point to this one on this
    /// model's forms, as a table ([`Inline`], Django's `inlines`): saved
    /// in the object's transaction, each row's add, change and delete
    /// needing the child model's permission and writing its history row.
    #[must_use]
    pub fn inline<C: Model + Default + Clone>(mut self, inline: Inline<C>) -> Self {
        let problems = inline.problems(M::META);
        if !problems.is_empty() {
            self.inline_problems.extend(problems);
            return self;
        }
        let prefix = format!("{}_set", C::META.name.to_lowercase());
        if self.inlines.iter().any(|i| i.prefix() == prefix) {
            self.inline_problems.push(format!(
                "{}.inline: {} is an inline twice",
                M::META.name,
                C::META.name
            ));
            return self;
        }
        if let Some(ops) = inline::InlineOf::new(inline) {
            self.inlines.push(Box::new(ops));
        }
        self
    }

    /// The names that are not fields of `M`, each with what is valid.
    fn problems(&self) -> Vec<String> {
        let meta = M::META;
        let mut out = Vec::new();
        if meta.has_composite_pk() {
            out.push(format!(
                "{}: a model with a composite primary key cannot be registered yet",
                meta.name
            ));
            return out;
        }
        let valid = meta.field_names().join(", ");
        let lists = [
            ("list_display", &self.opts.list_display),
            ("list_filter", &self.opts.list_filter),
            ("readonly_fields", &self.opts.readonly_fields),
            ("exclude", &self.opts.exclude),
            ("blank_fields", &self.opts.blank_fields),
            ("ordering", &self.opts.ordering),
        ];
        let many = |name: &str| {
            meta.relations
                .iter()
                .any(|r| r.kind == orm_core::relation::RelationKind::ManyToMany && r.name == name)
        };
        for (option, names) in lists {
            for name in names {
                let bare = name.strip_prefix('-').unwrap_or(name);
                // A many-to-many field may be excluded or read-only.
                let m2m_ok = matches!(option, "exclude" | "readonly_fields") && many(bare);
                if meta.field(bare).is_none() && !m2m_ok {
                    out.push(format!(
                        "{}.{option}: `{name}` is not a field; fields: {valid}",
                        meta.name
                    ));
                }
            }
        }
        for (i, (name, _)) in self.opts.actions.iter().enumerate() {
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid
                || ["delete_selected", "export_csv"].contains(&name.as_str())
                || self.opts.actions[..i].iter().any(|(n, _)| n == name)
            {
                out.push(format!(
                    "{}.action: `{name}` must be letters, digits and `_`, unique, and neither delete_selected nor export_csv",
                    meta.name
                ));
            }
        }
        out.extend(self.inline_problems.iter().cloned());
        for name in &self.opts.search_fields {
            if let Err(e) = Lookup::parse::<M>(&format!("{name}__icontains"), "x") {
                out.push(format!("{}.search_fields: `{name}`: {e}", meta.name));
            }
        }
        out
    }
}

impl<M: Model + Default + Clone> ModelAdmin<M> {
    fn into_ops(self) -> Ops<M> {
        let meta = M::META;
        let columns: Vec<&str> = meta.fields.iter().map(|f| f.name).collect();
        let search: Vec<&str> = self.opts.search_fields.iter().map(String::as_str).collect();
        let mut filters = FilterSet::<M>::new()
            .ordering_fields(&columns)
            .search_fields(&search);
        for name in &self.opts.list_filter {
            let Some(f) = meta.field(name) else { continue };
            let mut lookups = vec!["exact"];
            if f.nullable {
                lookups.push("isnull");
            }
            if matches!(
                f.sql_type,
                SqlType::Date | SqlType::Timestamp | SqlType::TimestampTz
            ) {
                lookups.extend(["gte", "lt"]);
            }
            filters = filters.field(name, &lookups);
        }
        Ops {
            opts: self.opts,
            label: self
                .label
                .unwrap_or_else(|| Box::new(crate::ops::default_label::<M>)),
            filters,
            actions: self.actions,
            inlines: self.inlines,
        }
    }
}

/// The admin site: the registered models and the site's settings; turned
/// into an axum [`Router`] by [`router`](Admin::router).
pub struct Admin {
    models: Vec<Arc<dyn ModelOps>>,
    problems: Vec<String>,
    db: Option<Db>,
    site: String,
    secure: bool,
    session_age: Duration,
    max_failures: u32,
    failure_window: Duration,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field(
                "models",
                &self
                    .models
                    .iter()
                    .map(|m| m.meta().name)
                    .collect::<Vec<_>>(),
            )
            .field("site", &self.site)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl Default for Admin {
    fn default() -> Self {
        Self::new()
    }
}

impl Admin {
    /// An admin with no model yet, on the scoped or default database.
    pub fn new() -> Self {
        Admin {
            models: Vec::new(),
            problems: Vec::new(),
            db: None,
            site: "Administration".to_owned(),
            secure: false,
            session_age: Duration::from_secs(14 * 24 * 3600),
            max_failures: 5,
            failure_window: Duration::from_secs(15 * 60),
        }
    }

    /// Registers `M` with the default [`ModelAdmin`].
    #[must_use]
    pub fn register<M: Model + Default + Clone>(self) -> Self {
        self.register_with(ModelAdmin::<M>::new())
    }

    /// Registers `M` with these options.
    #[must_use]
    pub fn register_with<M: Model + Default + Clone>(mut self, admin: ModelAdmin<M>) -> Self {
        if self.models.iter().any(|m| m.meta().name == M::META.name) {
            self.problems
                .push(format!("{} is registered twice", M::META.name));
        }
        self.problems.extend(admin.problems());
        self.models.push(Arc::new(admin.into_ops()));
        self
    }

    /// Runs every request's queries on `db` (else on the scoped or default
    /// database).
    #[must_use]
    pub fn database(mut self, db: &Db) -> Self {
        self.db = Some(db.clone());
        self
    }

    /// The header of every page (`Administration`).
    #[must_use]
    pub fn site_header(mut self, text: &str) -> Self {
        text.clone_into(&mut self.site);
        self
    }

    /// Marks cookies `Secure` (behind HTTPS).
    #[must_use]
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// How long a session lasts (two weeks, Django's default).
    #[must_use]
    pub fn session_age(mut self, age: Duration) -> Self {
        self.session_age = age;
        self
    }

    /// After `max_failures` failed logins for one username from one
    /// address within `window`, more attempts are refused until the
    /// window ends (5 in 15 minutes).
    #[must_use]
    pub fn login_rate_limit(mut self, max_failures: u32, window: Duration) -> Self {
        self.max_failures = max_failures.max(1);
        self.failure_window = window;
        self
    }

    /// Every configuration error: names in the [`ModelAdmin`]s that are
    /// not fields, a model registered twice.
    ///
    /// # Errors
    /// The list of problems, each naming the model and option.
    pub fn check(&self) -> Result<(), Vec<String>> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems.clone())
        }
    }

    /// The admin's routes, to mount with `.nest("/admin", admin.router())`.
    ///
    /// # Panics
    /// When [`check`](Admin::check) reports a problem (a misconfigured
    /// admin is a programming error, found at start-up, as Django's
    /// system checks).
    pub fn router(self) -> Router {
        if let Err(problems) = self.check() {
            panic!("the admin is misconfigured:\n  {}", problems.join("\n  "));
        }
        let slugs = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.meta().name.to_lowercase(), i))
            .collect();
        let state = Arc::new(views::Site {
            models: self.models,
            slugs,
            db: self.db,
            site: self.site,
            secure: self.secure,
            session_age: self.session_age,
            limiter: auth::RateLimiter::new(self.max_failures, self.failure_window),
        });
        Router::new()
            .route("/", get(views::index))
            .route("/login", get(views::login_page).post(views::login))
            .route("/logout", post(views::logout))
            .route("/static/admin.css", get(views::css))
            .route("/static/favicon.svg", get(views::favicon))
            .route("/static/admin.js", get(views::js))
            .route("/csp-report", post(views::csp_report))
            .route("/{model}/", get(views::change_list))
            .route("/{model}/add/", get(views::add_page).post(views::add))
            .route("/{model}/action/", post(views::action))
            .route("/{model}/autocomplete", get(views::autocomplete))
            .route(
                "/{model}/{pk}/change/",
                get(views::change_page).post(views::change),
            )
            .route(
                "/{model}/{pk}/delete/",
                get(views::delete_page).post(views::delete),
            )
            .route("/{model}/{pk}/history/", get(views::history))
            .fallback(views::not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                views::around,
            ))
            .with_state(state)
    }
}

/// Models by their URL name.
pub(crate) type Slugs = HashMap<String, usize>;
