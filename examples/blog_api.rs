//! A JSON API on axum, in Django REST framework's shape: authors, posts
//! and tags, with filters, ordering, search, page-number and cursor
//! pages, nested objects in a fixed number of queries, validated bodies,
//! and errors as JSON with the right status.
//!
//! ```text
//! cargo run --example blog_api          # DATABASE_URL unset: a throwaway PostgreSQL
//! curl 'localhost:3000/posts?title__icontains=rust&ordering=-views&page=1'
//! curl 'localhost:3000/posts/1'
//! curl -X POST localhost:3000/posts -H 'content-type: application/json' \
//!      -d '{"author": 1, "title": "Hello", "body": "..."}'
//! ```
//!
//! `PORT` picks the port (3000); `SQL_LOG=1` prints each request's SQL
//! under its span. Ctrl-C stops it gracefully.
//!
//! Endpoints:
//! - `GET /posts?…filters…&ordering=..&search=..&page=N` →
//!   `{"count", "next", "previous", "results": [...]}`; `?cursor=..` (or
//!   `?cursor=` for the first) for keyset pages `{"next", "previous",
//!   "results"}`.
//! - `GET /posts/{id}`: the post with its author nested and its tags listed
//!   (two queries whatever the post).
//! - `POST /posts`, `PATCH /posts/{id}`, `DELETE /posts/{id}`.
//! - `GET /authors` (`?include=posts` lists each author's posts),
//!   `GET /authors/{id}`, `POST /authors`, `PATCH /authors/{id}`,
//!   `DELETE /authors/{id}` (its posts go with it).
//!
//! Errors: a bad filter or body is a 400 with a message per field or
//! parameter, a missing row or page a 404, a unique name taken a 409, an
//! exhausted pool a 503; user input never gives a 500.

#![allow(missing_docs)]

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use orm_core::prelude::*;
use orm_core::query::FilterSet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json_};
use tracing::Instrument;

/// An author; `posts` is listed only when prefetched.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "api_authors")]
pub struct Author {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 100, unique)]
    pub name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<Post>,
}

/// A post: `author` nested when loaded, else its key; `tags` listed when
/// loaded.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "api_posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(related_name = "posts", on_delete = "cascade")]
    #[serde(serialize_with = "orm_core::serde::nested")]
    pub author: ForeignKey<Author>,
    #[orm(max_length = 200)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[orm(default = 0, index)]
    #[serde(default)]
    pub views: i64,
    #[serde(default)]
    pub published: bool,
    #[orm(auto_now_add)]
    #[serde(default)]
    pub created: chrono::DateTime<chrono::Utc>,
    #[orm(related_name = "posts", through = "api_post_tags")]
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub tags: ManyToMany<Tag>,
}

/// A tag.
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[orm(table = "api_tags")]
pub struct Tag {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50, unique)]
    pub name: String,
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<Post>,
}

/// The rows of a page.
const PAGE_SIZE: i64 = 20;

/// What `GET /posts` lets a client ask for.
fn post_filters() -> &'static FilterSet<Post> {
    static FILTERS: OnceLock<FilterSet<Post>> = OnceLock::new();
    FILTERS.get_or_init(|| {
        FilterSet::new()
            .field("title", &["exact", "icontains"])
            .field("published", &["exact"])
            .field("views", &["gte", "lte"])
            .field("author", &["exact", "in"])
            .field("author__name", &["exact", "icontains"])
            .field("tags__name", &["exact", "in"])
            .field("created", &["gte", "lt"])
            .ordering_fields(&["created", "views", "title", "id"])
            .search_fields(&["title", "body", "author__name"])
    })
}

/// What `GET /authors` lets a client ask for.
fn author_filters() -> &'static FilterSet<Author> {
    static FILTERS: OnceLock<FilterSet<Author>> = OnceLock::new();
    FILTERS.get_or_init(|| {
        FilterSet::new()
            .field("name", &["exact", "icontains"])
            .ordering_fields(&["name", "id"])
            .search_fields(&["name", "bio"])
            .ignore(&["include"])
    })
}

/// An error as a JSON response.
#[derive(Debug)]
pub struct ApiError(StatusCode, Json_);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let (status, body) = match &err {
            Error::InvalidFilters(e) => (
                StatusCode::BAD_REQUEST,
                per_field(e.errors.iter().map(|(p, m)| (p.clone(), m.clone()))),
            ),
            Error::Validation(e) => (
                StatusCode::BAD_REQUEST,
                per_field(e.errors().map(|fe| (fe.field.to_owned(), fe.message))),
            ),
            Error::InvalidValue(_) | Error::InvalidLookup(_) | Error::InvalidQuery(_) => (
                StatusCode::BAD_REQUEST,
                json!({ "detail": err.to_string() }),
            ),
            Error::InvalidPage(m) => (
                StatusCode::NOT_FOUND,
                json!({ "detail": format!("Invalid page: {m}") }),
            ),
            Error::DoesNotExist { .. } => {
                (StatusCode::NOT_FOUND, json!({ "detail": "Not found." }))
            }
            Error::Integrity(e) if err.is_integrity(orm_core::IntegrityKind::Unique) => (
                StatusCode::CONFLICT,
                json!({ "detail": "already exists", "constraint": e.constraint(), "reason": err.detail() }),
            ),
            Error::Integrity(_) | Error::DanglingKey(_) => (
                StatusCode::BAD_REQUEST,
                json!({ "detail": err.to_string() }),
            ),
            Error::PoolTimeout(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "detail": "the database is busy; try again" }),
            ),
            _ => {
                tracing::error!(error = %err, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "detail": "server error" }),
                )
            }
        };
        ApiError(status, body)
    }
}

/// `{"field": ["message", ..], ..}`, as Django REST framework's 400s.
fn per_field(errors: impl Iterator<Item = (String, String)>) -> Json_ {
    let mut fields = serde_json::Map::new();
    for (field, message) in errors {
        if let Json_::Array(list) = fields.entry(field).or_insert_with(|| json!([])) {
            list.push(json!(message));
        }
    }
    Json_::Object(fields)
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, json!({ "detail": message.into() }))
}

/// One parameter's value in a raw query string (`page`, `cursor`, `include`).
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.replace('+', " "))
    })
}

/// The same URL with `param` set to `value`.
fn link(path: &str, query: &str, param: &str, value: &str) -> String {
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(param))
        .map(str::to_owned)
        .collect();
    parts.push(format!("{param}={value}"));
    format!("{path}?{}", parts.join("&"))
}

async fn list_posts(RawQuery(query): RawQuery) -> ApiResult<Json<Json_>> {
    let query = query.unwrap_or_default();
    // Newest first unless `ordering=` says otherwise.
    let qs = post_filters()
        .apply(Post::all().order_by(["-created", "-id"]), &query)?
        .select_related(["author"])
        .prefetch_related(["tags"]);
    if let Some(cursor) = param(&query, "cursor") {
        let cursor = (!cursor.is_empty()).then_some(cursor);
        let page = qs.keyset_page(PAGE_SIZE, cursor.as_deref()).await?;
        return Ok(Json(json!({
            "next": page.next.map(|c| link("/posts", &query, "cursor", &c)),
            "previous": page.previous.map(|c| link("/posts", &query, "cursor", &c)),
            "results": page.items,
        })));
    }
    let mut pages = qs.paginate(PAGE_SIZE);
    let number = match param(&query, "page") {
        None => 1,
        Some(n) => n
            .parse()
            .map_err(|_| ApiError(StatusCode::NOT_FOUND, json!({"detail": "Invalid page."})))?,
    };
    let page = pages.page(number).await?;
    Ok(Json(json!({
        "count": page.count,
        "next": page.next_page_number().map(|n| link("/posts", &query, "page", &n.to_string())),
        "previous": page.previous_page_number().map(|n| link("/posts", &query, "page", &n.to_string())),
        "results": page.object_list,
    })))
}

async fn get_post(Path(id): Path<i64>) -> ApiResult<Json<Post>> {
    let post = Post::all()
        .select_related(["author"])
        .prefetch_related(["tags"])
        .get(q!(id = id))
        .await?;
    Ok(Json(post))
}

/// A post's body: its fields, and `tags` as a list of tag names (created
/// when new).
#[derive(Deserialize)]
struct TagNames {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

async fn set_tags(post: &Post, names: Vec<String>) -> Result<()> {
    let mut tags = Vec::with_capacity(names.len());
    for name in names {
        let (tag, _) = Tag::get_or_create(
            q!(name = name.clone()),
            Tag {
                name,
                ..Default::default()
            },
        )
        .await?;
        tags.push(tag);
    }
    post.tags().clear().await?;
    post.tags().add(&tags.iter().collect::<Vec<_>>()).await?;
    Ok(())
}

async fn create_post(Json(body): Json<Json_>) -> ApiResult<(StatusCode, Json<Post>)> {
    let names: TagNames =
        serde_json::from_value(body.clone()).map_err(|e| bad_request(e.to_string()))?;
    let mut post: Post = orm_core::serde::from_json_value(body)?;
    post.id = 0;
    let post = orm_core::transaction(|| async move {
        post.save().await?;
        if let Some(names) = names.tags {
            set_tags(&post, names).await?;
        }
        Ok(post)
    })
    .await?;
    Ok((StatusCode::CREATED, get_post(Path(post.id)).await?))
}

async fn patch_post(Path(id): Path<i64>, Json(body): Json<Json_>) -> ApiResult<Json<Post>> {
    let Json_::Object(changes) = body else {
        return Err(bad_request("expected a JSON object"));
    };
    let current = Post::get(q!(id = id)).await?;
    let mut merged = serde_json::to_value(&current).map_err(|e| bad_request(e.to_string()))?;
    let names = changes
        .get("tags")
        .cloned()
        .map(serde_json::from_value::<Vec<String>>)
        .transpose()
        .map_err(|e| bad_request(format!("tags: {e}")))?;
    if let Json_::Object(fields) = &mut merged {
        for (k, v) in changes {
            if k != "id" && k != "created" {
                fields.insert(k, v);
            }
        }
    }
    let mut post: Post = orm_core::serde::from_json_value(merged)?;
    post.id = id;
    orm_core::transaction(|| async move {
        post.save().await?;
        if let Some(names) = names {
            set_tags(&post, names).await?;
        }
        Ok(())
    })
    .await?;
    get_post(Path(id)).await
}

async fn delete_post(Path(id): Path<i64>) -> ApiResult<StatusCode> {
    match Post::filter(q!(id = id)).delete().await? {
        0 => Err(Error::DoesNotExist { model: "Post" }.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

async fn list_authors(RawQuery(query): RawQuery) -> ApiResult<Json<Json_>> {
    let query = query.unwrap_or_default();
    let mut qs = author_filters().apply(Author::all().order_by(["name"]), &query)?;
    if param(&query, "include").as_deref() == Some("posts") {
        qs = qs.prefetch_related(["posts"]);
    }
    let mut pages = qs.paginate(PAGE_SIZE);
    let number = param(&query, "page")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let page = pages.page(number).await?;
    Ok(Json(json!({
        "count": page.count,
        "next": page.next_page_number().map(|n| link("/authors", &query, "page", &n.to_string())),
        "previous": page.previous_page_number().map(|n| link("/authors", &query, "page", &n.to_string())),
        "results": page.object_list,
    })))
}

async fn get_author(Path(id): Path<i64>) -> ApiResult<Json<Author>> {
    Ok(Json(Author::get(q!(id = id)).await?))
}

async fn create_author(Json(body): Json<Json_>) -> ApiResult<(StatusCode, Json<Author>)> {
    let mut author: Author = orm_core::serde::from_json_value(body)?;
    author.id = 0;
    author.save().await?;
    Ok((StatusCode::CREATED, Json(author)))
}

async fn patch_author(Path(id): Path<i64>, Json(body): Json<Json_>) -> ApiResult<Json<Author>> {
    let Json_::Object(changes) = body else {
        return Err(bad_request("expected a JSON object"));
    };
    let current = Author::get(q!(id = id)).await?;
    let mut merged = serde_json::to_value(&current).map_err(|e| bad_request(e.to_string()))?;
    if let Json_::Object(fields) = &mut merged {
        fields.extend(changes.into_iter().filter(|(k, _)| k != "id"));
    }
    let mut author: Author = orm_core::serde::from_json_value(merged)?;
    author.id = id;
    author.save().await?;
    Ok(Json(author))
}

async fn delete_author(Path(id): Path<i64>) -> ApiResult<StatusCode> {
    match Author::filter(q!(id = id)).delete().await? {
        0 => Err(Error::DoesNotExist { model: "Author" }.into()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// A span per request: the SQL statements it runs are logged under it.
async fn trace(request: Request, next: Next) -> Response {
    let span = tracing::info_span!("request", method = %request.method(), uri = %request.uri());
    async move {
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), "done");
        response
    }
    .instrument(span)
    .await
}

/// The API's routes; every ORM call runs on `db`.
pub fn router(db: Db) -> Router {
    Router::new()
        .route("/posts", get(list_posts).post(create_post))
        .route(
            "/posts/{id}",
            get(get_post).patch(patch_post).delete(delete_post),
        )
        .route("/authors", get(list_authors).post(create_author))
        .route(
            "/authors/{id}",
            get(get_author).patch(patch_author).delete(delete_author),
        )
        .layer(middleware::from_fn_with_state(db, scoped))
        .layer(middleware::from_fn(trace))
}

/// Runs the request's handler with `db` as its database.
async fn scoped(State(db): State<Db>, request: Request, next: Next) -> Response {
    orm_core::scope(&db, next.run(request)).await
}

/// Demo rows: three authors, their posts and tags.
pub async fn seed() -> Result<()> {
    let authors = Author::bulk_create(
        ["Ada", "Grace", "Linus"]
            .into_iter()
            .map(|name| Author {
                name: name.into(),
                bio: format!("{name} writes about systems."),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    let tags = Tag::bulk_create(
        ["rust", "databases", "web"]
            .into_iter()
            .map(|name| Tag {
                name: name.into(),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    for i in 0..30_i64 {
        let author = &authors[(i % 3) as usize];
        let post = Post::create(Post {
            author: ForeignKey::to(author)?,
            title: format!("{} post #{i}", if i % 2 == 0 { "Rust" } else { "Web" }),
            body: "Lorem ipsum".into(),
            views: (i * 37) % 101,
            published: i % 4 != 0,
            ..Default::default()
        })
        .await?;
        let picked: Vec<&Tag> = tags
            .iter()
            .enumerate()
            .filter(|(t, _)| (i as usize + t).is_multiple_of(2))
            .map(|(_, t)| t)
            .collect();
        post.tags().add(&picked).await?;
    }
    Ok(())
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    db: Db,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(db))
        .with_graceful_shutdown(shutdown)
        .await
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    use tracing_subscriber::prelude::*;
    let sql = if std::env::var_os("SQL_LOG").is_some() {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer())
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_target("blog_api", tracing::Level::INFO)
                .with_target("orm_core::sql", sql),
        )
        .init();
    let db = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Db::connect(&url).await?,
        _ => orm_core::testing::test_db().await?,
    };
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, seed()).await?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    tracing::info!("serving on http://{}", listener.local_addr()?);
    serve(db, listener, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}
