//! The admin over a small blog: authors, posts, tags and comments.
//!
//! ```text
//! cargo run --example admin   # DATABASE_URL unset: a throwaway PostgreSQL
//! open http://127.0.0.1:8000/admin/             # admin / admin
//! ```
//!
//! `PORT` (8000), `ADMIN_USER` and `ADMIN_PASSWORD` (`admin`/`admin`)
//! change the defaults. Ctrl-C stops it.

#![allow(missing_docs)]

use std::net::SocketAddr;

use orm_admin::{Admin, Inline, ModelAdmin};
use orm_core::prelude::*;

/// A post's state.
#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
pub enum Status {
    #[default]
    Draft,
    Published,
    Archived,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "demo_authors")]
pub struct Author {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 100, unique)]
    pub name: String,
    pub bio: String,
    pub active: bool,
    pub posts: Reverse<Post>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "demo_tags")]
pub struct Tag {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50, unique)]
    pub name: String,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "demo_posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(related_name = "posts", on_delete = "cascade")]
    pub author: ForeignKey<Author>,
    #[orm(max_length = 200, index)]
    pub title: String,
    pub body: String,
    pub status: Status,
    #[orm(default = 0, index)]
    pub views: i64,
    pub published_on: Option<chrono::NaiveDate>,
    pub extra: Option<serde_json::Value>,
    #[orm(auto_now_add)]
    pub created: chrono::DateTime<chrono::Utc>,
    #[orm(through = "demo_post_tags")]
    pub tags: ManyToMany<Tag>,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "demo_comments")]
pub struct Comment {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(on_delete = "cascade")]
    pub post: ForeignKey<Post>,
    /// Who approved it; kept (emptied) when that author goes.
    #[orm(on_delete = "set_null")]
    pub approved_by: Option<ForeignKey<Author>>,
    #[orm(max_length = 500)]
    pub text: String,
}

/// The admin of the demo's models.
pub fn admin() -> Admin {
    Admin::new()
        .site_header("Blog administration")
        .register_with(
            ModelAdmin::<Author>::new()
                .list_display(&["name", "active"])
                .list_filter(&["active"])
                .search_fields(&["name", "bio"])
                .ordering(&["name"])
                .blank_fields(&["bio"])
                // The author's posts, edited on the author's page.
                .inline(
                    Inline::<Post>::new("author")
                        .fields(&["title", "status", "views", "published_on"])
                        .extra(2),
                ),
        )
        .register_with(
            ModelAdmin::<Post>::new()
                .list_display(&["title", "author", "status", "views", "published_on"])
                .list_filter(&["status", "author", "published_on"])
                .search_fields(&["title", "author__name"])
                .ordering(&["-id"])
                .blank_fields(&["body"])
                .list_per_page(20)
                // A comment's post is a key input past 20 posts.
                .fk_select_limit(20)
                .action("publish", "Publish selected posts", |posts| async move {
                    posts.update(q!(status = Status::Published)).await.map(drop)
                }),
        )
        // A post's tags are a multi-select with a filter box.
        .register::<Tag>()
        .register_with(
            ModelAdmin::<Comment>::new()
                .list_display(&["text", "post", "approved_by"])
                .list_filter(&["approved_by"]),
        )
}

/// Demo rows: three authors, 45 posts, three tags, a few comments.
pub async fn seed() -> Result<()> {
    let authors = Author::bulk_create(
        ["Ada", "Grace", "Linus"]
            .into_iter()
            .map(|name| Author {
                name: name.into(),
                bio: format!("{name} writes about systems."),
                active: name != "Linus",
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
    for i in 0..45_i64 {
        let post = Post::create(Post {
            author: ForeignKey::to(&authors[(i % 3) as usize])?,
            title: format!("{} post #{i}", if i % 2 == 0 { "Rust" } else { "Web" }),
            body: "Lorem ipsum".into(),
            status: if i % 3 == 0 {
                Status::Draft
            } else {
                Status::Published
            },
            views: (i * 37) % 101,
            published_on: chrono::NaiveDate::from_ymd_opt(2024, 1 + (i % 12) as u32, 1),
            ..Default::default()
        })
        .await?;
        post.tags().add(&[&tags[(i % 3) as usize]]).await?;
        if i < 6 {
            Comment::create(Comment {
                post: ForeignKey::to(&post)?,
                approved_by: Some(ForeignKey::to(&authors[0])?),
                text: format!("Nice post #{i}"),
                ..Default::default()
            })
            .await?;
        }
    }
    Ok(())
}

/// The app: the admin under `/admin`, on `db`. axum's `nest` answers
/// `/admin` (its nested `/`) but not `/admin/`: a redirect takes the
/// slash away.
pub fn app(db: &Db) -> axum::Router {
    axum::Router::new()
        .nest("/admin", admin().database(db).router())
        .route(
            "/admin/",
            axum::routing::get(|| async { axum::response::Redirect::permanent("/admin") }),
        )
}

/// Serves the app on `listener` until `shutdown` completes.
pub async fn serve(
    db: Db,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(&db).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let db = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Db::connect(&url).await?,
        _ => orm_core::testing::test_db().await?,
    };
    orm_core::generate_schemas_on(&db).await?;
    let user = std::env::var("ADMIN_USER").unwrap_or_else(|_| "admin".into());
    let password = std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "admin".into());
    orm_core::scope(&db, async {
        if !Author::all().exists().await? {
            seed().await?;
        }
        if !orm_admin::AdminUser::filter(q!(username = user.clone()))
            .exists()
            .await?
        {
            orm_admin::create_superuser(&user, &password).await?;
        }
        Ok::<_, Error>(())
    })
    .await?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "admin on http://{}/admin/ (user {user:?}, password {password:?})",
        listener.local_addr()?
    );
    serve(db, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
