//! The example JSON API (`examples/blog_api.rs`) served on a loopback port
//! and called over real HTTP: pages, filters, cursors, nested objects in a
//! fixed number of queries, validated bodies, and the status of each error.

#[path = "../examples/blog_api.rs"]
#[allow(dead_code, unreachable_pub)]
mod blog_api;

use std::time::Duration;

use orm_core::Db;
use serde_json::{json, Value};

/// A server on a free loopback port over a fresh, seeded database.
struct Server {
    base: String,
    db: Db,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start() -> Server {
        let db = orm_core::testing::test_db()
            .await
            .expect("a throwaway database");
        Self::start_on(db, true).await
    }

    async fn start_on(db: Db, seed: bool) -> Server {
        orm_core::generate_schemas_on(&db).await.expect("schema");
        if seed {
            orm_core::scope(&db, blog_api::seed()).await.expect("seed");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(blog_api::serve(db.clone(), listener, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            db,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        let result = tokio::time::timeout(Duration::from_secs(10), self.task.take().expect("task"))
            .await
            .expect("stops gracefully");
        result.expect("joined").expect("served");
    }
}

fn titles(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_order_search_and_page_as_drf() {
    let server = Server::start().await;
    // 30 seeded posts, 20 a page, newest first.
    let (status, body) = server.get("/posts").await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 30);
    assert_eq!(body["results"].as_array().unwrap().len(), 20);
    assert_eq!(body["previous"], Value::Null);
    assert_eq!(body["next"], "/posts?page=2");
    assert_eq!(body["results"][0]["title"], "Web post #29");
    // Each post has its author nested and its tags listed.
    assert_eq!(body["results"][0]["author"]["name"], "Linus"); // post 29: authors[29 % 3]
    assert!(body["results"][0]["tags"].is_array());
    let (_, page2) = server.get("/posts?page=2").await;
    assert_eq!(page2["results"].as_array().unwrap().len(), 10);
    assert_eq!(page2["previous"], "/posts?page=1");
    // Filters, ordering and search from the query string.
    let (_, body) = server
        .get("/posts?title__icontains=rust&views__gte=50&ordering=-views,id")
        .await;
    let views: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["views"].as_i64().unwrap())
        .collect();
    assert!(!views.is_empty());
    assert!(views.windows(2).all(|w| w[0] >= w[1]), "{views:?}");
    assert!(titles(&body).iter().all(|t| t.starts_with("Rust")));
    let (_, body) = server
        .get("/posts?author__name=Ada&tags__name__in=web")
        .await;
    assert!(body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["author"]["name"] == "Ada"));
    let (_, body) = server.get("/posts?search=linus+web").await;
    assert!(titles(&body).iter().all(|t| t.starts_with("Web")));
    assert!(body["count"].as_i64().unwrap() > 0);
    // Keyset pages: every post once, following `next`.
    let mut seen = Vec::new();
    let mut path = "/posts?ordering=-views&cursor=".to_owned();
    loop {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
        match body["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (30, 30));
    server.stop().await;
}

#[tokio::test]
async fn one_post_in_a_fixed_number_of_queries_and_writes() {
    let server = Server::start().await;
    for id in [1, 2, 7] {
        let before = server.db.query_count();
        let (status, post) = server.get(&format!("/posts/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(post["id"], id);
        assert!(post["author"]["name"].is_string());
        // One query with the author joined, one for the tags.
        assert_eq!(server.db.query_count() - before, 2, "post {id}");
    }
    // Create, with tags by name.
    let (status, post) = server
        .send(
            reqwest::Method::POST,
            "/posts",
            json!({"author": 2, "title": "New", "tags": ["rust", "fresh"]}),
        )
        .await;
    assert_eq!(status, 201, "{post}");
    assert_eq!(post["author"]["name"], "Grace");
    let mut tags: Vec<&str> = post["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["fresh", "rust"]);
    let id = post["id"].as_i64().unwrap();
    // Patch one field; the rest stays.
    let (status, patched) = server
        .send(
            reqwest::Method::PATCH,
            &format!("/posts/{id}"),
            json!({"views": 999}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["views"].as_i64(), patched["title"].as_str()),
        (Some(999), Some("New"))
    );
    // Delete, then it is gone.
    let (status, _) = server
        .send(
            reqwest::Method::DELETE,
            &format!("/posts/{id}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(server.get(&format!("/posts/{id}")).await.0, 404);
    // Authors, with their posts when asked.
    let (_, body) = server.get("/authors?include=posts").await;
    assert_eq!(body["results"][0]["name"], "Ada");
    assert_eq!(body["results"][0]["posts"].as_array().unwrap().len(), 10);
    let (_, body) = server.get("/authors").await;
    assert!(
        body["results"][0].get("posts").is_none(),
        "not loaded: left out"
    );
    server.stop().await;
}

#[tokio::test]
async fn errors_have_their_status_and_user_input_never_gives_a_500() {
    let server = Server::start().await;
    // A bad filter: 400 with each parameter's messages.
    let (status, body) = server
        .get("/posts?views__gte=abc&secret=1&ordering=password")
        .await;
    assert_eq!(status, 400);
    assert!(
        body["views__gte"][0].as_str().unwrap().contains("abc"),
        "{body}"
    );
    assert!(
        body["secret"][0].as_str().unwrap().contains("allowed"),
        "{body}"
    );
    assert!(
        body["ordering"][0]
            .as_str()
            .unwrap()
            .contains("cannot order by"),
        "{body}"
    );
    // A bad body: 400 naming every field at once.
    let (status, body) = server
        .send(
            reqwest::Method::POST,
            "/posts",
            json!({"author": "x", "title": "t".repeat(300), "views": "many"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    for field in ["author", "title", "views"] {
        assert!(body.get(field).is_some(), "{field} missing in {body}");
    }
    // A post by an author who does not exist: 400, not 500.
    let (status, body) = server
        .send(
            reqwest::Method::POST,
            "/posts",
            json!({"author": 999, "title": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // Not found, and pages past the end: 404.
    assert_eq!(server.get("/posts/999999").await.0, 404);
    assert_eq!(server.get("/posts?page=99").await.0, 404);
    assert_eq!(server.get("/posts?page=abc").await.0, 404);
    assert_eq!(server.get("/posts?cursor=garbage").await.0, 404);
    // A name taken: 409, naming the constraint.
    let (status, body) = server
        .send(reqwest::Method::POST, "/authors", json!({"name": "Ada"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["constraint"], "api_authors_name_key");
    // Hostile input: huge, NUL, SQL, not JSON.
    let huge = format!("/posts?title={}", "x".repeat(20_000));
    assert_eq!(server.get(&huge).await.0, 400);
    assert_eq!(server.get("/posts?title=a%00b").await.0, 400);
    let (status, _) = server
        .get("/posts?title='%3B%20DROP%20TABLE%20api_posts%3B--")
        .await;
    assert_eq!(status, 200);
    let response = server
        .client
        .post(format!("{}/posts", server.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(server.get("/posts").await.1["count"], 30);
    server.stop().await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_503() {
    let url = orm_core::testing::test_database_url()
        .await
        .expect("a database");
    let db = Db::builder(url)
        .max_size(1)
        .wait_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("pool");
    let server = Server::start_on(db.clone(), true).await;
    // The one connection, held by a transaction.
    let held = db.begin().await.expect("begin");
    let (status, body) = server.get("/posts/1").await;
    assert_eq!(status, 503, "{body}");
    held.rollback().await.expect("rollback");
    assert_eq!(server.get("/posts/1").await.0, 200);
    server.stop().await;
}
