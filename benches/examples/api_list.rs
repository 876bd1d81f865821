//! One list request of the example JSON API (`examples/blog_api.rs`),
//! handler work only (no HTTP): the query string read into filters and an
//! ordering, the count, one page of 20 posts with their authors nested and
//! their tags listed, and the JSON body written. The ORM's handler
//! (`FilterSet`, `paginate`, `select_related`, `prefetch_related`, serde)
//! against the same handler written with tokio-postgres by hand (its own
//! query-string reading, SQL, row decoding and JSON), on the same data,
//! in interleaved rounds; it prints each round and the median ratio.
//!
//! Both send the same SQL: `icontains` is Django's `UPPER(col) LIKE
//! UPPER($1)`. Written with `ILIKE` instead, the hand-written side is
//! about twice as fast on this data, all of it server time (PostgreSQL's
//! `ILIKE` beats `UPPER()` on every row): what the ORM's SQL costs, not
//! its client work.
//!
//! ```sh
//! cd benches && cargo run --release --example api_list   # ROUNDS=7 REQUESTS=300
//! ```

use std::time::Instant;

use orm_core::prelude::*;
use orm_core::query::FilterSet;
use serde::Serialize;

#[derive(Model, Serialize, Debug, Clone, Default)]
#[orm(table = "api_authors")]
pub struct Author {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 100, unique)]
    pub name: String,
    pub bio: String,
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<Post>,
}

#[derive(Model, Serialize, Debug, Clone, Default)]
#[orm(table = "api_posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(related_name = "posts", on_delete = "cascade")]
    #[serde(serialize_with = "orm_core::serde::nested")]
    pub author: ForeignKey<Author>,
    #[orm(max_length = 200)]
    pub title: String,
    pub body: String,
    #[orm(index)]
    pub views: i64,
    pub published: bool,
    #[orm(related_name = "posts", through = "api_post_tags")]
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub tags: ManyToMany<Tag>,
}

#[derive(Model, Serialize, Debug, Clone, Default)]
#[orm(table = "api_tags")]
pub struct Tag {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50, unique)]
    pub name: String,
    #[serde(skip_serializing_if = "orm_core::serde::not_loaded")]
    pub posts: Reverse<Post>,
}

const QUERY: &str = "title__icontains=rust&views__gte=10&ordering=-views,id&page=1";
const PAGE: i64 = 20;

/// The ORM's handler: what `GET /posts?..` of the example does.
async fn orm_list(filters: &FilterSet<Post>) -> Result<Vec<u8>> {
    let qs = filters
        .apply(Post::all().order_by(["-id"]), QUERY)?
        .select_related(["author"])
        .prefetch_related(["tags"]);
    let page = qs.paginate(PAGE).page(1).await?;
    let body = serde_json::json!({
        "count": page.count,
        "next": page.next_page_number().map(|n| format!("/posts?page={n}")),
        "previous": page.previous_page_number().map(|n| format!("/posts?page={n}")),
        "results": page.object_list,
    });
    Ok(serde_json::to_vec(&body).expect("JSON"))
}

#[derive(Serialize)]
struct RawAuthor {
    id: i64,
    name: String,
    bio: String,
}

#[derive(Serialize)]
struct RawTag {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct RawPost {
    id: i64,
    author: RawAuthor,
    title: String,
    body: String,
    views: i64,
    published: bool,
    tags: Vec<RawTag>,
}

/// The same handler by hand: the three statements prepared once.
struct Raw {
    client: tokio_postgres::Client,
    count: tokio_postgres::Statement,
    page: tokio_postgres::Statement,
    tags: tokio_postgres::Statement,
}

impl Raw {
    async fn new(url: &str) -> Raw {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let count = client
            .prepare(
                "SELECT COUNT(*) FROM api_posts WHERE UPPER(title) LIKE UPPER($1) AND views >= $2",
            )
            .await
            .expect("prepare");
        let page = client
            .prepare(
                "SELECT p.id, p.title, p.body, p.views, p.published, a.id, a.name, a.bio \
                 FROM api_posts p JOIN api_authors a ON a.id = p.author_id \
                 WHERE UPPER(p.title) LIKE UPPER($1) AND p.views >= $2 ORDER BY p.views DESC, p.id LIMIT $3 OFFSET $4",
            )
            .await
            .expect("prepare");
        let tags = client
            .prepare(
                "SELECT l.post_id, t.id, t.name FROM api_post_tags l JOIN api_tags t ON t.id = l.tag_id \
                 WHERE l.post_id = ANY($1) ORDER BY t.id",
            )
            .await
            .expect("prepare");
        Raw {
            client,
            count,
            page,
            tags,
        }
    }

    async fn list(&self) -> Vec<u8> {
        // The query string, read by hand (the same three parameters).
        let (mut title, mut views, mut page_no) = (String::new(), 0_i64, 1_i64);
        for pair in QUERY.split('&') {
            match pair.split_once('=') {
                Some(("title__icontains", v)) => title = format!("%{}%", v.replace('%', "\\%")),
                Some(("views__gte", v)) => views = v.parse().expect("a number"),
                Some(("page", v)) => page_no = v.parse().expect("a number"),
                _ => {}
            }
        }
        let count: i64 = self
            .client
            .query_one(&self.count, &[&title, &views])
            .await
            .expect("count")
            .get(0);
        let offset = (page_no - 1) * PAGE;
        let rows = self
            .client
            .query(&self.page, &[&title, &views, &PAGE, &offset])
            .await
            .expect("page");
        let mut posts: Vec<RawPost> = rows
            .iter()
            .map(|r| RawPost {
                id: r.get(0),
                title: r.get(1),
                body: r.get(2),
                views: r.get(3),
                published: r.get(4),
                author: RawAuthor {
                    id: r.get(5),
                    name: r.get(6),
                    bio: r.get(7),
                },
                tags: Vec::new(),
            })
            .collect();
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        for r in self.client.query(&self.tags, &[&ids]).await.expect("tags") {
            let post: i64 = r.get(0);
            if let Some(p) = posts.iter_mut().find(|p| p.id == post) {
                p.tags.push(RawTag {
                    id: r.get(1),
                    name: r.get(2),
                });
            }
        }
        let pages = (count.max(1) + PAGE - 1) / PAGE;
        let body = serde_json::json!({
            "count": count,
            "next": (page_no < pages).then(|| format!("/posts?page={}", page_no + 1)),
            "previous": (page_no > 1).then(|| format!("/posts?page={}", page_no - 1)),
            "results": posts,
        });
        serde_json::to_vec(&body).expect("JSON")
    }
}

async fn seed() -> Result<()> {
    let authors = Author::bulk_create(
        (0..10)
            .map(|i| Author {
                name: format!("author {i}"),
                bio: "writes".into(),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    let tags = Tag::bulk_create(
        (0..5)
            .map(|i| Tag {
                name: format!("tag {i}"),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    let posts = Post::bulk_create(
        (0..2_000_i64)
            .map(|i| Post {
                author: ForeignKey::to(&authors[(i % 10) as usize]).expect("saved"),
                title: format!("{} post {i}", if i % 2 == 0 { "Rust" } else { "Web" }),
                body: "Lorem ipsum dolor sit amet".into(),
                views: (i * 37) % 1_000,
                published: i % 3 != 0,
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    for (i, post) in posts.iter().enumerate() {
        let picked: Vec<&Tag> = tags.iter().skip(i % 3).step_by(2).collect();
        post.tags().add(&picked).await?;
    }
    Ok(())
}

/// Microseconds per request of `requests` requests of one side.
async fn time(orm: bool, db: &Db, filters: &FilterSet<Post>, raw: &Raw, requests: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..requests {
        if orm {
            orm_core::scope(db, orm_list(filters)).await.expect("orm");
        } else {
            raw.list().await;
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / requests as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rounds, requests) = (env("ROUNDS", 7), env("REQUESTS", 300));
    let url = orm_core::testing::test_database_url().await?;
    let db = Db::builder(url.as_str()).max_size(1).connect().await?;
    orm_core::generate_schemas_on(&db).await?;
    orm_core::scope(&db, seed()).await?;
    db.batch_execute("ANALYZE").await?;
    let raw = Raw::new(&url).await;
    let filters = FilterSet::<Post>::new()
        .field("title", &["exact", "icontains"])
        .field("views", &["gte", "lte"])
        .ordering_fields(&["views", "id"]);
    // The same page either way.
    let orm_body = orm_core::scope(&db, orm_list(&filters)).await?;
    let raw_body = raw.list().await;
    let ids = |body: &[u8]| -> Vec<i64> {
        let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|p| p["id"].as_i64().expect("id"))
            .collect()
    };
    assert_eq!(
        ids(&orm_body),
        ids(&raw_body),
        "both handlers give the same page"
    );
    if std::env::var_os("SHOW_SQL").is_some() {
        let before = db.query_count();
        orm_core::scope(&db, orm_list(&filters)).await?;
        println!("statements per ORM request: {}", db.query_count() - before);
        let qs = filters
            .apply(Post::all().order_by(["-id"]), QUERY)?
            .select_related(["author"]);
        println!("page: {}", qs.clone().limit(PAGE).sql()?.expect("a query"));
    }
    println!(
        "one list request (count + a page of {PAGE} with nested authors and tags + JSON), {requests} per round"
    );
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let (raw_us, orm_us) = if round % 2 == 0 {
            let r = time(false, &db, &filters, &raw, requests).await;
            (r, time(true, &db, &filters, &raw, requests).await)
        } else {
            let o = time(true, &db, &filters, &raw, requests).await;
            (time(false, &db, &filters, &raw, requests).await, o)
        };
        ratios.push(orm_us / raw_us);
        println!(
            "round {}: raw {raw_us:8.1} µs | orm {orm_us:8.1} µs ({:.3})",
            round + 1,
            orm_us / raw_us
        );
    }
    println!("median orm/raw: {:.3} (target <= 1.15)", median(ratios));
    Ok(())
}
