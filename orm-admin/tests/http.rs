//! The admin served on a loopback port over a fresh, seeded database and
//! used over real HTTP, as a browser would (cookies and forms by hand):
//! login, sessions, CSRF, the pages, and hostile query strings.

#[path = "../../examples/admin.rs"]
#[allow(dead_code, unreachable_pub)]
mod demo;

use std::collections::HashMap;
use std::time::Duration;

use demo::{Author, Comment, Post};
use orm_admin::{AdminLogEntry, AdminUser};
use orm_core::prelude::*;
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, SET_COOKIE};

/// The policy every response carries (the crate's docs state it).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; \
                   report-uri /admin/csp-report";

struct Server {
    base: String,
    db: Db,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start() -> Server {
        let db = orm_core::testing::test_db().await.expect("a database");
        orm_core::generate_schemas_on(&db).await.expect("schema");
        orm_core::scope(&db, async {
            demo::seed().await?;
            orm_admin::create_superuser("admin", "correct horse").await?;
            orm_admin::create_user("staff", "staff pass", true, false).await?;
            orm_admin::create_user("visitor", "visitor pass", false, false).await?;
            Ok::<_, Error>(())
        })
        .await
        .expect("seed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(demo::serve(db.clone(), listener, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            db,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
            cookies: HashMap::new(),
        }
    }

    /// Runs `f` on the server's database.
    async fn on_db<T>(&self, f: impl std::future::Future<Output = Result<T>>) -> T {
        orm_core::scope(&self.db, f).await.expect("database call")
    }

    async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        let joined = tokio::time::timeout(Duration::from_secs(10), self.task.take().expect("task"))
            .await
            .expect("stops");
        joined.expect("joined").expect("served");
    }
}

/// A response: status, headers, body.
struct Resp {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser without JavaScript: keeps cookies, follows no redirect.
struct Client {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

impl Client {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().expect("ascii cookie");
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), value.to_owned());
            }
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Resp {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        let body = response.text().await.expect("body");
        assert_ne!(status, 500, "a 500: {body}");
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.finish());
        self.send(request).await
    }

    /// Logs in through the form; the response of the POST.
    async fn login(&mut self, username: &str, password: &str) -> Resp {
        let page = self.get("/admin/login").await;
        let token = csrf(&page.body);
        self.post(
            "/admin/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", username),
                ("password", password),
                ("next", "/admin"),
            ],
        )
        .await
    }

    /// The CSRF token of a page's forms.
    async fn token(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        csrf(&page.body)
    }
}

/// The value of the hidden `csrfmiddlewaretoken` field of a page.
fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrfmiddlewaretoken\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[at + "name=\"csrfmiddlewaretoken\" value=\"".len()..];
    rest[..rest.find('"').expect("end of value")].to_owned()
}

async fn logged_in(server: &Server) -> Client {
    let mut client = server.client();
    let response = client.login("admin", "correct horse").await;
    assert_eq!(response.status, 303, "{}", response.body);
    client
}

async fn log_count(server: &Server, flag: i16) -> i64 {
    server
        .on_db(AdminLogEntry::filter(q!(action_flag = flag)).count())
        .await
}

#[tokio::test]
async fn anonymous_is_sent_to_login_then_logs_in() {
    let server = Server::start().await;
    let mut client = server.client();
    // As Django: the anonymous index redirects to the login page (the
    // demo app sends `/admin/` to `/admin`, axum's nested index).
    let response = client.get("/admin/").await;
    assert_eq!(response.status, 308);
    assert_eq!(response.location(), "/admin");
    let response = client.get("/admin").await;
    assert_eq!(response.status, 303);
    assert_eq!(response.location(), "/admin/login?next=%2Fadmin");
    for path in ["/admin/post/", "/admin/post/1/change/", "/admin/post/add/"] {
        let response = client.get(path).await;
        assert_eq!(response.status, 303, "{path}");
        assert!(response.location().starts_with("/admin/login?next="));
    }
    let response = client.post("/admin/post/add/", &[("title", "x")]).await;
    assert_eq!(response.status, 303, "an anonymous POST goes to login too");
    // The login page: a form with the CSRF field, the token's cookie.
    let page = client.get("/admin/login").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-security-policy"], CSP);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let cookie = page.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("admin_csrftoken="), "{cookie}");
    assert!(
        cookie.ends_with("; Path=/admin; Max-Age=31449600; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    assert!(page.body.contains("name=\"username\""));
    assert!(page.body.contains("name=\"password\""));
    // A wrong password: the form again, with Django's message.
    let token = csrf(&page.body);
    let response = client
        .post(
            "/admin/login",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "admin"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(response
        .body
        .contains("Please enter the correct username and password"));
    assert!(!client.cookies.contains_key("admin_session"));
    // The right one: a session cookie and the index.
    let response = client.login("admin", "correct horse").await;
    assert_eq!(response.status, 303);
    assert_eq!(response.location(), "/admin");
    let cookie = response.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("admin_session="), "{cookie}");
    assert!(cookie.contains("; Path=/admin; ") && cookie.ends_with("; HttpOnly; SameSite=Lax"));
    let index = client.get("/admin").await;
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("href=\"/admin/post/\""),
        "{}",
        index.body
    );
    assert!(index.body.contains("href=\"/admin/author/add/\""));
    // Only the hash of the session's key is stored.
    let stored = server
        .on_db(orm_admin::AdminSession::all().first())
        .await
        .expect("a session row");
    assert_ne!(stored.key_hash, client.cookies["admin_session"]);
    // No inline script or style anywhere; the stylesheet is served.
    for body in [&page.body, &index.body] {
        // The one script is the embedded file.
        assert_eq!(
            body.matches("<script").count(),
            body.matches("<script src=\"/admin/static/admin.js\" defer></script>")
                .count(),
            "{body}"
        );
        assert!(!body.contains("style="), "{body}");
    }
    let css = client.get("/admin/static/admin.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.headers[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.body.contains("prefers-color-scheme: dark"));
    // Logging out ends the session (a POST with the token).
    let token = csrf(&index.body);
    let response = client
        .post("/admin/logout", &[("csrfmiddlewaretoken", &token)])
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(
        server.on_db(orm_admin::AdminSession::all().count()).await,
        0
    );
    assert_eq!(client.get("/admin").await.status, 303);
    server.stop().await;
}

#[tokio::test]
async fn non_staff_and_inactive_users_are_forbidden() {
    let server = Server::start().await;
    // A non-staff user cannot log in (Django's staff-only login form).
    let mut client = server.client();
    let response = client.login("visitor", "visitor pass").await;
    assert_eq!(response.status, 200);
    assert!(!client.cookies.contains_key("admin_session"));
    // A staff user whose staff status is taken away keeps a cookie that
    // opens nothing: 403.
    let mut staff = server.client();
    assert_eq!(staff.login("staff", "staff pass").await.status, 303);
    assert_eq!(staff.get("/admin").await.status, 200);
    server
        .on_db(async {
            let mut user = AdminUser::get(q!(username = "staff")).await?;
            user.is_staff = false;
            user.save().await
        })
        .await;
    assert_eq!(staff.get("/admin").await.status, 403);
    assert_eq!(staff.get("/admin/post/").await.status, 403);
    server
        .on_db(async {
            let mut user = AdminUser::get(q!(username = "staff")).await?;
            user.is_staff = true;
            user.is_active = false;
            user.save().await
        })
        .await;
    assert_eq!(staff.get("/admin/post/1/change/").await.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn login_needs_its_csrf_token_and_is_rate_limited() {
    let server = Server::start().await;
    let mut client = server.client();
    let page = client.get("/admin/login").await;
    let token = csrf(&page.body);
    let no_token = client
        .post(
            "/admin/login",
            &[("username", "admin"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(no_token.status, 403);
    let wrong = client
        .post(
            "/admin/login",
            &[
                ("csrfmiddlewaretoken", &"0".repeat(64)),
                ("username", "admin"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);
    // Five failures (the default limit), then even the right password is refused.
    for _ in 0..5 {
        let r = client
            .post(
                "/admin/login",
                &[
                    ("csrfmiddlewaretoken", &token),
                    ("username", "admin"),
                    ("password", "guess"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let blocked = client.login("admin", "correct horse").await;
    assert_eq!(blocked.status, 429);
    assert!(blocked.body.contains("Too many failed login attempts"));
    // Another username is not blocked.
    assert_eq!(client.login("staff", "staff pass").await.status, 303);
    server.stop().await;
}

#[tokio::test]
async fn posts_without_the_right_csrf_token_are_refused() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let authors = server.on_db(Author::all().count()).await;
    let form = [("name", "Mallory"), ("bio", "x"), ("active", "true")];
    let missing = client.post("/admin/author/add/", &form).await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("CSRF verification failed"));
    let mut wrong = form.to_vec();
    let bad = "f".repeat(64);
    wrong.push(("csrfmiddlewaretoken", &bad));
    assert_eq!(client.post("/admin/author/add/", &wrong).await.status, 403);
    // Another session's token is wrong too.
    let mut other = logged_in(&server).await;
    let other_token = other.token("/admin").await;
    let mut theirs = form.to_vec();
    theirs.push(("csrfmiddlewaretoken", &other_token));
    assert_eq!(client.post("/admin/author/add/", &theirs).await.status, 403);
    assert_eq!(
        client.post("/admin/author/1/delete/", &[]).await.status,
        403
    );
    assert_eq!(client.post("/admin/logout", &[]).await.status, 403);
    assert_eq!(server.on_db(Author::all().count()).await, authors);
    assert_eq!(server.on_db(AdminLogEntry::all().count()).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn add_change_and_delete_write_history() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    // Add.
    let token = client.token("/admin/author/add/").await;
    let response = client
        .post(
            "/admin/author/add/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("name", "Barbara"),
                ("bio", ""),
                ("active", "true"),
                ("_continue", "1"),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    let barbara = server.on_db(Author::get(q!(name = "Barbara"))).await;
    assert!(barbara.active);
    assert_eq!(
        response.location(),
        format!("/admin/author/{}/change/", barbara.id)
    );
    let entry = server
        .on_db(AdminLogEntry::get(
            q!(action_flag = AdminLogEntry::ADDITION),
        ))
        .await;
    assert_eq!(entry.model, "Author");
    assert_eq!(entry.object_id, barbara.id.to_string());
    assert_eq!(entry.object_repr, "Barbara");
    // Change: the name only (an unchecked box is `false`, as in HTML).
    let path = format!("/admin/author/{}/change/", barbara.id);
    let form_page = client.get(&path).await;
    assert!(form_page.body.contains("value=\"Barbara\""));
    let token = csrf(&form_page.body);
    let response = client
        .post(
            &path,
            &[
                ("csrfmiddlewaretoken", &token),
                ("name", "Barbara Liskov"),
                ("bio", ""),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(response.location(), "/admin/author/");
    assert_eq!(
        server.on_db(Author::get(q!(id = barbara.id))).await.name,
        "Barbara Liskov"
    );
    let change = server
        .on_db(AdminLogEntry::get(q!(action_flag = AdminLogEntry::CHANGE)))
        .await;
    assert_eq!(
        change.change_message,
        serde_json::json!([{"changed": {"fields": ["name"]}}])
    );
    let history = client
        .get(&format!("/admin/author/{}/history/", barbara.id))
        .await;
    assert!(history.body.contains("Changed name."), "{}", history.body);
    assert!(history.body.contains("Added."));
    assert!(history.body.contains(">admin<"));
    // Delete Ada: the confirmation counts what goes (her 15 posts, their
    // tag links and comments) and what is set to NULL (the comments she
    // approved on others' posts), as Django's delete confirmation.
    let ada = server.on_db(Author::get(q!(name = "Ada"))).await;
    let grace = server.on_db(Author::get(q!(name = "Grace"))).await;
    // A comment on Grace's post approved by Ada: kept, emptied.
    server
        .on_db(async {
            let post = Post::filter(q!(author = grace.id))
                .first()
                .await?
                .expect("a post");
            Comment::create(Comment {
                post: ForeignKey::to(&post)?,
                approved_by: Some(ForeignKey::to(&ada)?),
                text: "kept".into(),
                ..Default::default()
            })
            .await
        })
        .await;
    let confirm = client
        .get(&format!("/admin/author/{}/delete/", ada.id))
        .await;
    assert_eq!(confirm.status, 200);
    // Seeded: posts i % 3 == 0 are Ada's (15), each with one tag link;
    // comments on posts 0..6 are on Ada's posts 0 and 3 (2).
    for expected in [
        "<li>Author: 1</li>",
        "<li>Post: 15</li>",
        "<li>Comment: 2</li>",
        "<li>Demo post tags: 15</li>",
    ] {
        assert!(
            confirm.body.contains(expected),
            "{expected} in {}",
            confirm.body
        );
    }
    // Set to NULL: the seeded comments she approved on posts 1, 2, 4 and
    // 5 (Grace's and Linus's) and the one above.
    let set_null = &confirm.body[confirm.body.find("Set to empty").expect("set null list")..];
    assert!(set_null.contains("<li>Comment: 5</li>"), "{}", confirm.body);
    let token = csrf(&confirm.body);
    let response = client
        .post(
            &format!("/admin/author/{}/delete/", ada.id),
            &[("csrfmiddlewaretoken", &token)],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(server
        .on_db(Author::get_or_none(q!(id = ada.id)))
        .await
        .is_none());
    assert_eq!(server.on_db(Post::all().count()).await, 30);
    let deleted = server
        .on_db(AdminLogEntry::get(
            q!(action_flag = AdminLogEntry::DELETION),
        ))
        .await;
    assert_eq!(deleted.object_repr, "Ada");
    server.stop().await;
}

#[tokio::test]
async fn a_failing_change_rolls_back_its_history_row() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let post = server
        .on_db(Post::all().order_by(["id"]).first())
        .await
        .expect("a post");
    let path = format!("/admin/post/{}/change/", post.id);
    let token = client.token(&path).await;
    // A key of no author: the UPDATE fails on the foreign key after the
    // history row was written in the same transaction.
    let response = client
        .post(
            &path,
            &[
                ("csrfmiddlewaretoken", &token),
                ("author", "999999"),
                ("title", "Moved"),
                ("body", "x"),
                ("status", "Draft"),
                ("views", "1"),
                ("published_on", ""),
                ("extra", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .body
            .contains("Select a valid choice. That choice is not one of the available choices."),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("value=\"Moved\""),
        "the input is kept"
    );
    assert_eq!(log_count(&server, AdminLogEntry::CHANGE).await, 0);
    let unchanged = server.on_db(Post::get(q!(id = post.id))).await;
    assert_eq!(unchanged.title, post.title);
    // The same change with a real author goes through, with its row.
    let grace = server.on_db(Author::get(q!(name = "Grace"))).await;
    let key = grace.id.to_string();
    let response = client
        .post(
            &path,
            &[
                ("csrfmiddlewaretoken", &token),
                ("author", &key),
                ("title", "Moved"),
                ("body", "x"),
                ("status", "Draft"),
                ("views", "1"),
                ("published_on", "2024-02-03"),
                ("extra", "{\"a\": [1, 2]}"),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(log_count(&server, AdminLogEntry::CHANGE).await, 1);
    let moved = server.on_db(Post::get(q!(id = post.id))).await;
    assert_eq!(*moved.author.key(), grace.id);
    assert_eq!(moved.extra, Some(serde_json::json!({"a": [1, 2]})));
    assert_eq!(
        moved.published_on,
        chrono::NaiveDate::from_ymd_opt(2024, 2, 3)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_validation_error_shows_the_form_again_with_the_input() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let token = client.token("/admin/post/add/").await;
    let long_title = format!("<script>alert(1)</script>{}", "t".repeat(200));
    let response = client
        .post(
            "/admin/post/add/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("author", "1"),
                ("title", &long_title),
                ("body", ""),
                ("status", "Published"),
                ("views", "many"),
                ("published_on", "2024-13-01"),
                ("extra", "{not json"),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    let body = &response.body;
    assert!(body.contains("Please correct the errors below."));
    assert!(body.contains("Enter a whole number."), "{body}");
    assert!(body.contains("Enter a valid date."));
    assert!(body.contains("Enter a valid JSON"));
    // Kept, escaped.
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;ttt"));
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("value=\"many\""));
    assert!(body.contains("<option value=\"Published\" selected>"));
    // With the types right, the model's max_length (200) speaks.
    let response = client
        .post(
            "/admin/post/add/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("author", "1"),
                ("title", &long_title),
                ("body", ""),
                ("status", "Published"),
                ("views", "3"),
                ("published_on", ""),
                ("extra", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(response.body.contains("has-error"), "{}", response.body);
    // A unique name taken: Django's message, next to the field.
    let token = client.token("/admin/author/add/").await;
    let response = client
        .post(
            "/admin/author/add/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("name", "Ada"),
                ("bio", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(response
        .body
        .contains("Author with this Name already exists."));
    assert_eq!(server.on_db(Post::all().count()).await, 45);
    assert_eq!(server.on_db(AdminLogEntry::all().count()).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn change_list_sorts_searches_filters_and_pages() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let list = client.get("/admin/post/").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("45 posts"), "{}", list.body);
    // 20 a page: pages 1, 2, 3; the author column shows the name.
    assert!(list.body.contains("href=\"?page=3\""));
    assert!(list.body.contains("<td>Ada</td>"));
    let third = client.get("/admin/post/?page=3").await;
    assert_eq!(third.body.matches("/change/\">").count(), 5);
    // Sorted by views descending, then title: the first row has the most views.
    let sorted = client.get("/admin/post/?ordering=-views,title").await;
    let max_views = server
        .on_db(Post::all().order_by(["-views", "title"]).first())
        .await
        .expect("a post");
    let first_row = sorted.body.find("<tbody>").expect("rows");
    let first_link = &sorted.body[first_row..];
    assert!(
        first_link.find(&max_views.title).expect("listed") < first_link.find("</tr>").unwrap(),
        "{}",
        sorted.body
    );
    assert!(sorted.body.contains("▼"));
    // Search across the relation: Linus's posts only.
    let found = client.get("/admin/post/?search=linus").await;
    assert!(found.body.contains("15 posts"), "{}", found.body);
    assert!(!found.body.contains("<td>Ada</td>"));
    // Sidebar filters: enum, foreign key, date range.
    let drafts = client.get("/admin/post/?status=Draft").await;
    assert!(drafts.body.contains("15 posts"), "{}", drafts.body);
    assert!(drafts
        .body
        .contains("class=\"selected\"><a href=\"?status=Draft\""));
    let ada = server.on_db(Author::get(q!(name = "Ada"))).await;
    let hers = client.get(&format!("/admin/post/?author={}", ada.id)).await;
    assert!(hers.body.contains("15 posts"));
    let january = client
        .get("/admin/post/?published_on__gte=2024-01-01&published_on__lt=2024-02-01")
        .await;
    assert!(january.body.contains("4 posts"), "{}", january.body);
    // A foreign key to a table past the select limit is a key input with
    // the related object's label; a small one is a select.
    let comment = server
        .on_db(Comment::all().order_by(["id"]).first())
        .await
        .expect("a comment");
    let form = client
        .get(&format!("/admin/comment/{}/change/", comment.id))
        .await;
    assert!(
        form.body.contains("<input type=\"text\" name=\"post\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("class=\"key-label\">Rust post #0<"));
    assert!(form.body.contains("<select name=\"approved_by\""));
    server.stop().await;
}

#[tokio::test]
async fn hostile_query_strings_change_nothing() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let long = "x".repeat(10_000);
    let refused = [
        "/admin/post/?ordering=%27%3B%20DROP%20TABLE%20demo_posts%3B--".to_owned(),
        "/admin/post/?ordering=password".to_owned(),
        "/admin/post/?title=x".to_owned(),
        "/admin/post/?author__name__regex=.*".to_owned(),
        "/admin/post/?status=%27%20OR%201%3D1--".to_owned(),
        "/admin/post/?author=abc".to_owned(),
        "/admin/post/?published_on__gte=yesterday".to_owned(),
        format!("/admin/post/?search={long}"),
        format!("/admin/post/?status={long}"),
        format!("/admin/post/?{long}=1"),
        "/admin/tag/?search=rust".to_owned(),
        "/admin/post/?status=%ZZ".to_owned(),
    ];
    for path in &refused {
        let response = client.get(path).await;
        assert_eq!(
            response.status,
            400,
            "{}: {}",
            &path[..path.len().min(80)],
            response.body
        );
        assert!(response.body.contains("These parameters cannot be used"));
    }
    // Text that looks like SQL is only a search term.
    let response = client
        .get("/admin/post/?search=%27%3B%20DROP%20TABLE%20demo_posts%3B--")
        .await;
    assert_eq!(response.status, 200);
    assert!(response.body.contains("0 posts"));
    // Pages out of range are the nearest page (Django's get_page).
    for page in ["999999", "-1", "abc", "1e9"] {
        let response = client.get(&format!("/admin/post/?page={page}")).await;
        assert_eq!(response.status, 200, "page {page}");
    }
    // Keys that are not keys, unknown models: 404.
    for path in [
        "/admin/post/'1/change/",
        "/admin/post/99999999999999999999/change/",
        "/admin/nothing/",
        "/admin/adminuser/",
    ] {
        assert_eq!(client.get(path).await.status, 404, "{path}");
    }
    assert_eq!(server.on_db(Post::all().count()).await, 45);
    assert_eq!(server.on_db(AdminLogEntry::all().count()).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn permissions_are_enforced_per_model_and_action() {
    use orm_admin::Action;
    let server = Server::start().await;
    let staff = server.on_db(AdminUser::get(q!(username = "staff"))).await;
    let post = server
        .on_db(Post::all().order_by(["id"]).first())
        .await
        .expect("a post");
    let change = format!("/admin/post/{}/change/", post.id);
    let delete = format!("/admin/post/{}/delete/", post.id);
    let history = format!("/admin/post/{}/history/", post.id);
    let mut client = server.client();
    assert_eq!(client.login("staff", "staff pass").await.status, 303);
    // No permission: the index lists nothing, every page of Post is 403.
    let index = client.get("/admin").await;
    assert_eq!(index.status, 200);
    assert!(!index.body.contains("/admin/post/"), "{}", index.body);
    for path in [
        "/admin/post/",
        "/admin/post/add/",
        &change,
        &delete,
        &history,
    ] {
        let response = client.get(path).await;
        assert_eq!(response.status, 403, "{path}");
        assert!(response.body.contains("You do not have permission to"));
    }
    let token = csrf(&index.body);
    let form = |title: &'static str| {
        vec![
            ("csrfmiddlewaretoken", token.clone()),
            ("author", post.author.key().to_string()),
            ("title", title.to_owned()),
            ("body", "b".to_owned()),
            ("status", "Draft".to_owned()),
            ("views", "1".to_owned()),
            ("published_on", String::new()),
            ("extra", String::new()),
        ]
    };
    async fn post_form(client: &mut Client, path: &str, form: &[(&'static str, String)]) -> Resp {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client.post(path, &pairs).await
    }
    let token_only = [("csrfmiddlewaretoken", token.clone())];
    assert_eq!(
        post_form(&mut client, &change, &form("Hacked"))
            .await
            .status,
        403
    );
    assert_eq!(
        post_form(&mut client, "/admin/post/add/", &form("New"))
            .await
            .status,
        403
    );
    assert_eq!(
        post_form(&mut client, &delete, &token_only).await.status,
        403
    );

    // View: the list (no Add button) and a read-only form (no Save,
    // no Delete); every change still 403.
    server
        .on_db(orm_admin::grant(&staff, "Post", Action::View))
        .await;
    let index = client.get("/admin").await;
    assert!(
        index.body.contains("href=\"/admin/post/\">View</a>"),
        "{}",
        index.body
    );
    assert!(!index.body.contains("/admin/post/add/"));
    assert!(!index.body.contains("/admin/author/"), "only Post");
    let list = client.get("/admin/post/").await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains("Add post"));
    let page = client.get(&change).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>View post"), "{}", page.body);
    assert!(!page.body.contains("name=\"title\""), "read-only");
    assert!(!page.body.contains("name=\"_save\""));
    assert!(!page.body.contains(&delete));
    assert_eq!(client.get(&history).await.status, 200);
    assert_eq!(
        post_form(&mut client, &change, &form("Hacked"))
            .await
            .status,
        403
    );
    assert_eq!(client.get("/admin/post/add/").await.status, 403);
    assert_eq!(client.get(&delete).await.status, 403);

    // Change (which also gives view): the form saves; still no add, no delete.
    server
        .on_db(orm_admin::grant(&staff, "Post", Action::Change))
        .await;
    server
        .on_db(orm_admin::revoke(&staff, "Post", Action::View))
        .await;
    let page = client.get(&change).await;
    assert!(page.body.contains("name=\"_save\""));
    assert!(!page.body.contains("name=\"_addanother\""));
    assert!(!page.body.contains(&delete));
    let response = post_form(&mut client, &change, &form("Changed")).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(
        server.on_db(Post::get(q!(id = post.id))).await.title,
        "Changed"
    );
    assert_eq!(
        post_form(&mut client, "/admin/post/add/", &form("New"))
            .await
            .status,
        403
    );
    assert_eq!(
        post_form(&mut client, &delete, &token_only).await.status,
        403
    );

    // Add, then delete.
    server
        .on_db(orm_admin::grant(&staff, "Post", Action::Add))
        .await;
    assert!(client.get("/admin/post/").await.body.contains("Add post"));
    let response = post_form(&mut client, "/admin/post/add/", &form("New")).await;
    assert_eq!(response.status, 303, "{}", response.body);
    server
        .on_db(orm_admin::grant(&staff, "Post", Action::Delete))
        .await;
    // Granting twice is one row.
    server
        .on_db(orm_admin::grant(&staff, "Post", Action::Delete))
        .await;
    assert_eq!(
        server
            .on_db(orm_admin::AdminPermission::all().count())
            .await,
        3
    );
    assert!(client.get(&change).await.body.contains(&delete));
    assert_eq!(client.get(&delete).await.status, 200);
    let response = post_form(&mut client, &delete, &token_only).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(server
        .on_db(Post::get_or_none(q!(id = post.id)))
        .await
        .is_none());
    // Another model stays closed.
    assert_eq!(client.get("/admin/author/").await.status, 403);
    server.stop().await;
}

/// The pairs of a form, borrowed.
fn pairs<'a>(form: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn bulk_actions_export_delete_and_run_user_actions() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let list = client.get("/admin/post/").await;
    // Checkboxes, the action menu: Django's two, ours, the model's.
    assert!(list.body.contains("name=\"_selected_action\""));
    for option in [
        "<option value=\"delete_selected\">Delete selected posts</option>",
        "<option value=\"export_csv\">",
        "<option value=\"publish\">Publish selected posts</option>",
    ] {
        assert!(list.body.contains(option), "{option}");
    }
    let token = csrf(&list.body);
    // Titles a spreadsheet would run, and ones needing quotes.
    let drafts = server
        .on_db(async {
            let drafts = Post::filter(q!(status = demo::Status::Draft))
                .order_by(["id"])
                .limit(2)
                .await?;
            let mut a = drafts[0].clone();
            a.title = "=HYPERLINK(\"http://x\")".into();
            a.save().await?;
            let mut b = drafts[1].clone();
            b.title = "a, \"b\"\nc".into();
            b.save().await?;
            Ok(drafts)
        })
        .await;
    let keys: Vec<String> = drafts.iter().map(|p| p.id.to_string()).collect();
    let select = |action: &str| {
        let mut form = vec![
            ("csrfmiddlewaretoken", token.clone()),
            ("action", action.to_owned()),
        ];
        form.extend(keys.iter().map(|k| ("_selected_action", k.clone())));
        form
    };
    // Export: RFC 4180 quoting, formulas defused with a leading `'`
    // (OWASP's CSV injection advice).
    let csv = client
        .post("/admin/post/action/", &pairs(&select("export_csv")))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.headers[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers["content-disposition"],
        "attachment; filename=\"posts.csv\""
    );
    let lines: Vec<&str> = csv.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,author,title,body,status,views,published_on,extra,created"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{},{},\"'=HYPERLINK(\"\"http://x\"\")\",Lorem ipsum,Draft,",
            drafts[0].id,
            drafts[0].author.key()
        )),
        "{}",
        csv.body
    );
    assert!(
        csv.body.contains(",\"a, \"\"b\"\"\nc\",Lorem ipsum,"),
        "{}",
        csv.body
    );
    // Nothing selected: Django's message, nothing done.
    let none = client
        .post(
            "/admin/post/action/",
            &[("csrfmiddlewaretoken", &token), ("action", "publish")],
        )
        .await;
    assert_eq!(none.status, 400);
    assert!(none.body.contains("Items must be selected"));
    // A user action: in a transaction with a history row per object.
    let response = client
        .post("/admin/post/action/", &pairs(&select("publish")))
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    let ids: Vec<i64> = drafts.iter().map(|p| p.id).collect();
    let published = server
        .on_db(Post::filter(q!(id__in = ids.clone(), status = demo::Status::Published)).count())
        .await;
    assert_eq!(published, 2);
    let entries = server
        .on_db(async {
            AdminLogEntry::filter(q!(action_flag = AdminLogEntry::CHANGE))
                .order_by(["id"])
                .await
        })
        .await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].message(), "Action “publish” applied.");
    // Delete selected: first the confirmation with what else goes.
    let confirm = client
        .post("/admin/post/action/", &pairs(&select("delete_selected")))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm
        .body
        .contains("Are you sure you want to delete the selected posts?"));
    // Each post has one tag link (seeded), so two go with them.
    assert!(
        confirm.body.contains("<li>Post: 2</li>"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("<li>Demo post tags: 2</li>"));
    assert_eq!(server.on_db(Post::all().count()).await, 45, "not yet");
    let mut yes = select("delete_selected");
    yes.push(("post", "yes".to_owned()));
    let response = client.post("/admin/post/action/", &pairs(&yes)).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(server.on_db(Post::all().count()).await, 43);
    assert_eq!(log_count(&server, AdminLogEntry::DELETION).await, 2);
    // A viewer may export but not delete or publish.
    let staff = server.on_db(AdminUser::get(q!(username = "staff"))).await;
    server
        .on_db(orm_admin::grant(&staff, "Post", orm_admin::Action::View))
        .await;
    let mut viewer = server.client();
    assert_eq!(viewer.login("staff", "staff pass").await.status, 303);
    let list = viewer.get("/admin/post/").await;
    assert!(list.body.contains("<option value=\"export_csv\">"));
    assert!(!list.body.contains("delete_selected"));
    assert!(!list.body.contains("value=\"publish\""));
    let token = csrf(&list.body);
    let post = server.on_db(Post::all().first()).await.expect("a post");
    let key = post.id.to_string();
    for action in ["delete_selected", "publish"] {
        let response = viewer
            .post(
                "/admin/post/action/",
                &[
                    ("csrfmiddlewaretoken", token.as_str()),
                    ("action", action),
                    ("_selected_action", &key),
                    ("post", "yes"),
                ],
            )
            .await;
        assert_eq!(response.status, 403, "{action}");
    }
    let response = viewer
        .post(
            "/admin/post/action/",
            &[
                ("csrfmiddlewaretoken", token.as_str()),
                ("action", "export_csv"),
                ("_selected_action", &key),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    // Without the token: 403 whatever the action.
    let response = client
        .post(
            "/admin/post/action/",
            &[("action", "export_csv"), ("_selected_action", &key)],
        )
        .await;
    assert_eq!(response.status, 403);
    assert_eq!(server.on_db(Post::all().count()).await, 43);
    server.stop().await;
}

#[tokio::test]
async fn autocomplete_searches_at_most_20_and_needs_view() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    // Posts search title and author__name (the demo's search_fields);
    // 23 titles start with "Rust" (the even ones of 45): 20 and "more".
    let response = client.get("/admin/post/autocomplete?term=rust").await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.headers[CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_str(&response.body).expect("json");
    let results = json["results"].as_array().expect("results");
    assert_eq!(results.len(), 20);
    assert_eq!(json["pagination"]["more"], true);
    assert!(results
        .iter()
        .all(|r| r["text"].as_str().unwrap().starts_with("Rust post #")));
    // Across the relation, each word: Linus's Web posts (odd i with
    // i % 3 == 2: i = 5, 11, .., 41, seven).
    let response = client.get("/admin/post/autocomplete?term=linus+web").await;
    let json: serde_json::Value = serde_json::from_str(&response.body).expect("json");
    assert_eq!(json["results"].as_array().unwrap().len(), 7, "{json}");
    assert_eq!(json["pagination"]["more"], false);
    // Hostile terms are values, never SQL.
    let response = client
        .get("/admin/author/autocomplete?term=%27%3B%20DROP%20TABLE%20demo_authors%3B--")
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        "{\"pagination\":{\"more\":false},\"results\":[]}"
    );
    assert_eq!(server.on_db(Author::all().count()).await, 3);
    // A model without search_fields cannot be searched (Django's
    // autocomplete_fields check); a user without View gets 403.
    assert_eq!(
        client.get("/admin/tag/autocomplete?term=r").await.status,
        404
    );
    let mut staff = server.client();
    assert_eq!(staff.login("staff", "staff pass").await.status, 303);
    assert_eq!(
        staff.get("/admin/post/autocomplete?term=r").await.status,
        403
    );
    assert_eq!(
        server
            .client()
            .get("/admin/post/autocomplete?term=r")
            .await
            .status,
        303,
        "anonymous: to the login page"
    );
    server.stop().await;
}

/// The value of the input named `name` of a page (the first).
fn input_value(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let rest = &html[at + needle.len()..];
    rest[..rest.find('"').expect("end of value")].to_owned()
}

fn owned_form(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn post_pairs(client: &mut Client, path: &str, form: &[(String, String)]) -> Resp {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    client.post(path, &pairs).await
}

/// An inline row's inputs: `post_set-<i>-<field>`.
fn post_row(
    i: usize,
    id: Option<i64>,
    title: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut row = vec![
        (format!("post_set-{i}-title"), title.to_owned()),
        (format!("post_set-{i}-status"), "Draft".to_owned()),
        (format!("post_set-{i}-views"), "0".to_owned()),
        (format!("post_set-{i}-published_on"), String::new()),
    ];
    if let Some(id) = id {
        row.push((format!("post_set-{i}-id"), id.to_string()));
    }
    for (k, v) in extra {
        let key = format!("post_set-{i}-{k}");
        row.retain(|(name, _)| *name != key);
        row.push((key, (*v).to_owned()));
    }
    row
}

#[tokio::test]
async fn inline_rows_are_changed_added_and_deleted_with_the_parent() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let ada = server.on_db(Author::get(q!(name = "Ada"))).await;
    let path = format!("/admin/author/{}/change/", ada.id);
    // Seeded: posts 0, 3, .. 42 are Ada's (15), shown with 2 blank rows.
    let page = client.get(&path).await;
    assert_eq!(page.status, 200);
    assert_eq!(input_value(&page.body, "post_set-TOTAL_FORMS"), "17");
    assert!(page
        .body
        .contains("name=\"post_set-0-title\" id=\"id_post_set-0-title\" value=\"Rust post #0\""));
    assert!(page.body.contains("name=\"post_set-0-DELETE\""));
    assert!(page.body.contains("name=\"post_set-16-title\""));
    let posts = server
        .on_db(std::future::IntoFuture::into_future(
            Post::filter(q!(author = ada.id)).order_by(["id"]),
        ))
        .await;
    let (first, second, third) = (&posts[0], &posts[1], &posts[2]);
    let token = csrf(&page.body);
    let row_token = input_value(&page.body, "_row_token");
    let parent = |name: &str| {
        owned_form(&[
            ("csrfmiddlewaretoken", &token),
            ("_row_token", &row_token),
            ("name", name),
            ("bio", &ada.bio),
            ("active", "true"),
            ("post_set-TOTAL_FORMS", "3"),
        ])
    };
    let before = server.on_db(AdminLogEntry::all().count()).await;
    // A row's bad value and a parent's missing name: both shown, with
    // the input kept; nothing saved.
    let mut form = parent("");
    form.extend(post_row(0, Some(first.id), "Changed", &[("views", "x")]));
    form.extend(post_row(1, Some(second.id), "Also changed", &[]));
    form.extend(post_row(2, None, "", &[("status", "")]));
    let response = post_pairs(&mut client, &path, &form).await;
    assert_eq!(response.status, 200);
    assert!(response.body.contains("Please correct the errors below."));
    assert!(response.body.contains(
        "name=\"post_set-0-views\" id=\"id_post_set-0-views\" value=\"x\" required><ul class=\"errorlist\"><li>Enter a whole number.</li></ul>"
    ), "{}", response.body);
    assert!(response.body.contains("value=\"Also changed\""));
    assert!(response.body.contains("This field is required."));
    // An untouched blank row is not an error (Django's empty_permitted).
    assert!(!response.body.contains(
        "name=\"post_set-2-title\" id=\"id_post_set-2-title\" value=\"\" maxlength=\"200\"><ul"
    ));
    assert_eq!(
        server.on_db(Post::get(q!(id = second.id))).await.title,
        second.title
    );
    // A row naming another author's post fails after the parent was
    // written in the transaction: the parent's change is rolled back too.
    let grace_post = server
        .on_db(
            Post::all()
                .exclude(q!(author = ada.id))
                .order_by(["id"])
                .first(),
        )
        .await
        .expect("a post of another author");
    let mut form = parent("Ada L.");
    form.extend(post_row(0, Some(first.id), "Changed", &[]));
    form.extend(post_row(1, Some(grace_post.id), "Stolen", &[]));
    let response = post_pairs(&mut client, &path, &form).await;
    assert_eq!(response.status, 200);
    assert!(response
        .body
        .contains("This post no longer exists (deleted by someone else?); reload the page."));
    assert_eq!(server.on_db(Author::get(q!(id = ada.id))).await.name, "Ada");
    assert_eq!(
        server.on_db(Post::get(q!(id = first.id))).await.title,
        first.title
    );
    assert_eq!(
        server.on_db(Post::get(q!(id = grace_post.id))).await.title,
        grace_post.title
    );
    assert_eq!(server.on_db(AdminLogEntry::all().count()).await, before);
    // Change one, delete one, add one: one transaction, a history row
    // for each child and the parent's naming them (Django's message).
    let mut form = parent("Ada");
    form.extend(post_row(
        0,
        Some(first.id),
        "Rust post #0 (edited)",
        &[("published_on", "2024-02-02")],
    ));
    form.extend(post_row(
        1,
        Some(second.id),
        &second.title,
        &[("DELETE", "on")],
    ));
    form.extend(post_row(
        2,
        None,
        "Brand new",
        &[("status", "Published"), ("views", "5")],
    ));
    form.extend(post_row(3, None, "", &[("status", "")]));
    if let Some(total) = form.iter_mut().find(|(k, _)| k == "post_set-TOTAL_FORMS") {
        total.1 = "4".to_owned();
    }
    let response = post_pairs(&mut client, &path, &form).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let edited = server.on_db(Post::get(q!(id = first.id))).await;
    assert_eq!(edited.title, "Rust post #0 (edited)");
    assert!(
        !server
            .on_db(Post::filter(q!(id = second.id)).exists())
            .await
    );
    let new = server.on_db(Post::get(q!(title = "Brand new"))).await;
    assert_eq!(*new.author.key(), ada.id);
    assert_eq!(new.views, 5);
    assert_eq!(
        server.on_db(Post::get(q!(id = third.id))).await.title,
        third.title
    );
    assert_eq!(
        server
            .on_db(Post::filter(q!(author = ada.id)).count())
            .await,
        15,
        "one deleted, one added, the blank row ignored"
    );
    let logs = server
        .on_db(std::future::IntoFuture::into_future(
            AdminLogEntry::filter(q!(model = "Post")).order_by(["id"]),
        ))
        .await;
    let flags: Vec<(i16, String)> = logs
        .iter()
        .map(|e| (e.action_flag, e.object_id.clone()))
        .collect();
    assert_eq!(
        flags,
        [
            (AdminLogEntry::CHANGE, first.id.to_string()),
            (AdminLogEntry::DELETION, second.id.to_string()),
            (AdminLogEntry::ADDITION, new.id.to_string()),
        ]
    );
    let parent_log = server
        .on_db(AdminLogEntry::get(q!(
            model = "Author",
            action_flag = AdminLogEntry::CHANGE
        )))
        .await;
    assert_eq!(
        parent_log.message(),
        format!(
            "Changed title and published_on for post “Rust post #0 (edited)”. Deleted post “{}”. Added post “Brand new”.",
            second.title
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn inline_rows_follow_the_child_models_permissions() {
    use orm_admin::{grant, Action};
    let server = Server::start().await;
    let staff = server.on_db(AdminUser::get(q!(username = "staff"))).await;
    server.on_db(grant(&staff, "Author", Action::Change)).await;
    let ada = server.on_db(Author::get(q!(name = "Ada"))).await;
    let first = server
        .on_db(Post::filter(q!(author = ada.id)).order_by(["id"]).first())
        .await
        .expect("a post");
    let path = format!("/admin/author/{}/change/", ada.id);
    let mut client = server.client();
    assert_eq!(client.login("staff", "staff pass").await.status, 303);
    let attempt = |token: String| {
        let mut form = owned_form(&[
            ("csrfmiddlewaretoken", &token),
            ("name", "Ada"),
            ("bio", &ada.bio),
            ("active", "true"),
            ("post_set-TOTAL_FORMS", "2"),
        ]);
        form.extend(post_row(0, Some(first.id), "Hacked", &[("DELETE", "on")]));
        form.extend(post_row(1, None, "Sneaked in", &[]));
        form
    };
    // No permission on Post: no table, and rows sent anyway do nothing.
    let page = client.get(&path).await;
    assert!(!page.body.contains("post_set-TOTAL_FORMS"));
    let response = post_pairs(&mut client, &path, &attempt(csrf(&page.body))).await;
    assert_eq!(response.status, 303, "{}", response.body);
    // View only: the rows are shown read-only, without blank rows or
    // delete boxes; still nothing changes.
    server.on_db(grant(&staff, "Post", Action::View)).await;
    let page = client.get(&path).await;
    assert_eq!(input_value(&page.body, "post_set-TOTAL_FORMS"), "15");
    assert!(!page.body.contains("name=\"post_set-0-title\""));
    assert!(!page.body.contains("DELETE"));
    let response = post_pairs(&mut client, &path, &attempt(csrf(&page.body))).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(server.on_db(Post::filter(q!(id = first.id)).exists()).await);
    assert!(
        !server
            .on_db(Post::filter(q!(title = "Sneaked in")).exists())
            .await
    );
    // Delete and Add: the row goes, the new one comes.
    server.on_db(grant(&staff, "Post", Action::Delete)).await;
    server.on_db(grant(&staff, "Post", Action::Add)).await;
    let page = client.get(&path).await;
    let response = post_pairs(&mut client, &path, &attempt(csrf(&page.body))).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(!server.on_db(Post::filter(q!(id = first.id)).exists()).await);
    assert!(
        server
            .on_db(Post::filter(q!(title = "Sneaked in")).exists())
            .await
    );
    server.stop().await;
}

/// The keys linked to post `id` (the through table's rows).
async fn tag_keys(server: &Server, id: i64) -> Vec<i64> {
    let post = server.on_db(Post::get(q!(id = id))).await;
    let mut keys: Vec<i64> = server
        .on_db(std::future::IntoFuture::into_future(post.tags().all()))
        .await
        .iter()
        .map(|t| t.id)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn many_to_many_links_are_set_in_the_rows_transaction() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let post = server
        .on_db(Post::all().order_by(["id"]).first())
        .await
        .expect("a post");
    // Seeded: post 0 has the first tag.
    let tags: Vec<i64> = server
        .on_db(std::future::IntoFuture::into_future(
            demo::Tag::all().order_by(["id"]),
        ))
        .await
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(tag_keys(&server, post.id).await, [tags[0]]);
    let path = format!("/admin/post/{}/change/", post.id);
    let page = client.get(&path).await;
    assert!(page
        .body
        .contains("<select multiple name=\"tags\" id=\"id_tags\""));
    assert!(page.body.contains(&format!(
        "<option value=\"{}\" selected>rust</option>",
        tags[0]
    )));
    assert!(page
        .body
        .contains("class=\"m2m-filter\" data-for=\"id_tags\""));
    let token = csrf(&page.body);
    let form = |tag_values: &[String]| {
        let mut form = owned_form(&[
            ("csrfmiddlewaretoken", &token),
            ("author", &post.author.key().to_string()),
            ("title", &post.title),
            ("body", &post.body),
            ("status", "Draft"),
            ("views", &post.views.to_string()),
            ("published_on", "2024-01-01"),
            ("extra", ""),
            ("tags", ""),
        ]);
        form.extend(tag_values.iter().map(|t| ("tags".to_owned(), t.clone())));
        form
    };
    // A key of no tag: the field's error, nothing changed.
    let response = post_pairs(
        &mut client,
        &path,
        &form(&[tags[1].to_string(), "999".into()]),
    )
    .await;
    assert_eq!(response.status, 200);
    assert!(response
        .body
        .contains("Select a valid choice. 999 is not one of the available choices."));
    assert_eq!(tag_keys(&server, post.id).await, [tags[0]]);
    // The set: the first removed, the two others added; one history row.
    let response = post_pairs(
        &mut client,
        &path,
        &form(&[tags[1].to_string(), tags[2].to_string()]),
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(tag_keys(&server, post.id).await, [tags[1], tags[2]]);
    let entry = server
        .on_db(AdminLogEntry::get(q!(
            model = "Post",
            action_flag = AdminLogEntry::CHANGE
        )))
        .await;
    assert_eq!(entry.message(), "Changed tags.");
    // Nothing chosen (only the hidden marker): every link goes.
    let response = post_pairs(&mut client, &path, &form(&[])).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(tag_keys(&server, post.id).await.is_empty());
    // A form without the field at all (an older client): links kept.
    let mut without = form(&[tags[0].to_string()]);
    without.retain(|(k, _)| k != "tags");
    let response = post_pairs(&mut client, &path, &without).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert!(tag_keys(&server, post.id).await.is_empty());
    // On add, the links are written with the new row.
    let add = client.get("/admin/post/add/").await;
    let mut form = form(&[tags[0].to_string(), tags[2].to_string()]);
    form.retain(|(k, _)| k != "csrfmiddlewaretoken");
    form.push(("csrfmiddlewaretoken".into(), csrf(&add.body)));
    if let Some(t) = form.iter_mut().find(|(k, _)| k == "title") {
        t.1 = "Tagged at birth".into();
    }
    let response = post_pairs(&mut client, "/admin/post/add/", &form).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let born = server.on_db(Post::get(q!(title = "Tagged at birth"))).await;
    assert_eq!(tag_keys(&server, born.id).await, [tags[0], tags[2]]);
    server.stop().await;
}

#[tokio::test]
async fn a_row_changed_since_the_form_opened_is_not_overwritten_unless_confirmed() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let grace = server.on_db(Author::get(q!(name = "Grace"))).await;
    let path = format!("/admin/author/{}/change/", grace.id);
    let page = client.get(&path).await;
    let token = csrf(&page.body);
    let opened = input_value(&page.body, "_row_token");
    // Someone else changes the row meanwhile.
    server
        .on_db(Author::filter(q!(id = grace.id)).update(q!(bio = "Changed by another")))
        .await;
    let form = |row_token: &str| {
        owned_form(&[
            ("csrfmiddlewaretoken", &token),
            ("_row_token", row_token),
            ("name", "Grace Hopper"),
            ("bio", "Mine"),
            ("active", "true"),
        ])
    };
    let before = server.on_db(AdminLogEntry::all().count()).await;
    let response = post_pairs(&mut client, &path, &form(&opened)).await;
    assert_eq!(response.status, 200);
    assert!(response
        .body
        .contains("This author was changed by someone else after you opened this form."));
    assert!(
        response.body.contains("value=\"Grace Hopper\""),
        "the input is kept"
    );
    let now = server.on_db(Author::get(q!(id = grace.id))).await;
    assert_eq!(
        (now.name.as_str(), now.bio.as_str()),
        ("Grace", "Changed by another")
    );
    assert_eq!(server.on_db(AdminLogEntry::all().count()).await, before);
    // The page carries the row's new token: sending it again confirms.
    let confirmed = input_value(&response.body, "_row_token");
    assert_ne!(confirmed, opened);
    let response = post_pairs(&mut client, &path, &form(&confirmed)).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let now = server.on_db(Author::get(q!(id = grace.id))).await;
    assert_eq!(
        (now.name.as_str(), now.bio.as_str()),
        ("Grace Hopper", "Mine")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_key_to_a_big_table_is_an_autocomplete_box() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    // 45 posts, past the demo's fk_select_limit(20): a key input that
    // the script turns into a search box over Post's autocomplete.
    let page = client.get("/admin/comment/add/").await;
    assert!(
        page.body.contains("name=\"post\" id=\"id_post\" value=\"\" inputmode=\"numeric\" class=\"key\" data-autocomplete=\"/admin/post/autocomplete\" data-label=\"\" required>"),
        "{}",
        page.body
    );
    // 3 authors: a select, no autocomplete.
    assert!(page
        .body
        .contains("<select name=\"approved_by\" id=\"id_approved_by\">"));
    // The change form names the current object for the box.
    let comment = server
        .on_db(Comment::all().order_by(["id"]).first())
        .await
        .expect("a comment");
    let post = server.on_db(Post::get(q!(id = *comment.post.key()))).await;
    let page = client
        .get(&format!("/admin/comment/{}/change/", comment.id))
        .await;
    assert!(page.body.contains(&format!(
        "data-autocomplete=\"/admin/post/autocomplete\" data-label=\"{}\"",
        post.title
    )));
    server.stop().await;
}

#[test]
fn a_misconfigured_inline_is_found_at_start_up() {
    use orm_admin::{Admin, Inline, ModelAdmin};
    let admin = Admin::new().register_with(
        ModelAdmin::<Author>::new()
            .inline(Inline::<Post>::new("title"))
            .inline(Inline::<Comment>::new("approved_by").fields(&["nope", "approved_by"])),
    );
    assert_eq!(
        admin.check().unwrap_err(),
        [
            "Author.inline(Post): `title` is not a foreign key of Post to Author; foreign keys to it: author",
            "Author.inline(Comment).fields: `nope` is not a field (or is the inline's foreign key); fields: id, post, approved_by, text",
            "Author.inline(Comment).fields: `approved_by` is not a field (or is the inline's foreign key); fields: id, post, approved_by, text",
        ]
    );
}

#[tokio::test]
async fn an_author_is_added_with_posts_in_one_go() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    // The add page: the blank rows only.
    let page = client.get("/admin/author/add/").await;
    assert_eq!(input_value(&page.body, "post_set-TOTAL_FORMS"), "2");
    assert!(!page.body.contains("post_set-0-id"));
    let token = csrf(&page.body);
    let mut form = owned_form(&[
        ("csrfmiddlewaretoken", &token),
        ("name", "Barbara"),
        ("bio", ""),
        ("active", "true"),
        ("post_set-TOTAL_FORMS", "2"),
    ]);
    form.extend(post_row(0, None, "First words", &[("views", "3")]));
    form.extend(post_row(1, None, "", &[("status", "")]));
    let response = post_pairs(&mut client, "/admin/author/add/", &form).await;
    assert_eq!(response.status, 303, "{}", response.body);
    let barbara = server.on_db(Author::get(q!(name = "Barbara"))).await;
    let posts = server
        .on_db(std::future::IntoFuture::into_future(Post::filter(q!(
            author = barbara.id
        ))))
        .await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        (posts[0].title.as_str(), posts[0].views),
        ("First words", 3)
    );
    let entry = server
        .on_db(AdminLogEntry::get(q!(
            model = "Author",
            action_flag = AdminLogEntry::ADDITION
        )))
        .await;
    assert_eq!(entry.message(), "Added. Added post “First words”.");
    // An invalid row on add: neither the author nor a post is written.
    let mut form = owned_form(&[
        ("csrfmiddlewaretoken", &token),
        ("name", "Edsger"),
        ("bio", ""),
        ("active", "true"),
        ("post_set-TOTAL_FORMS", "1"),
    ]);
    form.extend(post_row(0, None, "", &[("views", "7")]));
    let response = post_pairs(&mut client, "/admin/author/add/", &form).await;
    assert_eq!(response.status, 200);
    assert!(response.body.contains("This field is required."));
    assert!(response.body.contains("value=\"Edsger\""));
    assert!(
        !server
            .on_db(Author::filter(q!(name = "Edsger")).exists())
            .await
    );
    server.stop().await;
}

// ------------------------------------------------------------ keyset pages

/// The keys of the rows of a change list page, in order.
fn row_keys(html: &str) -> Vec<i64> {
    let start = html.find("<tbody>").expect("a table");
    let end = html.find("</tbody>").expect("a table's end");
    html[start..end]
        .split("<th scope=\"row\"><a href=\"/admin/post/")
        .skip(1)
        .map(|rest| {
            rest[..rest.find('/').expect("a key")]
                .parse()
                .expect("a number")
        })
        .collect()
}

/// The `href` of the page link with this `rel`, unescaped.
fn rel_link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\" href=\""))?;
    let rest = &html[at + format!("rel=\"{rel}\" href=\"").len()..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

#[tokio::test]
async fn keyset_links_walk_every_row_once_both_ways() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    // Orderings with ties (status has 3 values: the key breaks them),
    // mixed directions, with a filter and a search kept on every link.
    for query in [
        "ordering=-views",
        "ordering=status,-views&search=post",
        "ordering=-status,title&search=rust",
        "ordering=title&status=Published",
    ] {
        // OFFSET paging, page by page: the reference order.
        let mut by_offset = Vec::new();
        for n in 1.. {
            let page = client.get(&format!("/admin/post/?{query}&page={n}")).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let keys = row_keys(&page.body);
            // Past the end, get_page answers the last page again.
            if keys.is_empty() || by_offset.contains(&keys[0]) {
                break;
            }
            by_offset.extend(keys);
        }
        assert!(by_offset.len() > 20, "{query}: more than one page of 20");
        // Following the Next links from the first page.
        let mut forward = Vec::new();
        let mut path = format!("/admin/post/?{query}");
        loop {
            let page = client.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            forward.extend(row_keys(&page.body));
            match rel_link(&page.body, "next") {
                Some(next) => {
                    assert!(next.contains("cursor="), "{next}");
                    // Filters, search and ordering kept.
                    for part in query.split('&') {
                        let (k, _) = part.split_once('=').expect("k=v");
                        assert!(next.contains(&format!("{k}=")), "{next} keeps {k}");
                    }
                    path = format!("/admin/post/{next}");
                }
                None => break,
            }
        }
        assert_eq!(forward, by_offset, "{query}: keyset forward = OFFSET order");
        let mut unique = forward.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), forward.len(), "{query}: no row twice");
        // Backward from the last page (read with the ordering reversed).
        let mut pages_back: Vec<Vec<i64>> = Vec::new();
        let mut path = format!("/admin/post/?{query}&cursor=last");
        loop {
            let page = client.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert!(rel_link(&page.body, "last").is_none() || !pages_back.is_empty());
            pages_back.push(row_keys(&page.body));
            match rel_link(&page.body, "prev") {
                Some(previous) => path = format!("/admin/post/{previous}"),
                None => break,
            }
        }
        let backward: Vec<i64> = pages_back.into_iter().rev().flatten().collect();
        assert_eq!(
            backward, by_offset,
            "{query}: keyset backward = OFFSET order"
        );
    }
    // The filter counts as usual: 30 published posts.
    let published = client
        .get("/admin/post/?status=Published&cursor=last")
        .await;
    assert!(published.body.contains("30 posts"), "{}", published.body);
    server.stop().await;
}

#[tokio::test]
async fn tampered_cursors_are_a_400_not_sql() {
    let server = Server::start().await;
    let mut client = logged_in(&server).await;
    let first = client.get("/admin/post/?ordering=-views").await;
    let next = rel_link(&first.body, "next").expect("a next link");
    let cursor = next
        .split("cursor=")
        .nth(1)
        .expect("a cursor")
        .split('&')
        .next()
        .expect("a value")
        .to_owned();
    assert_eq!(client.get(&format!("/admin/post/{next}")).await.status, 200);
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut flipped = cursor.clone().into_bytes();
    flipped[3] = if flipped[3] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    for bad in [
        "zz".to_owned(),
        "%27%3B%20DROP%20TABLE%20demo_posts%3B--".to_owned(),
        flipped,
        "a".repeat(5_000),
        // Well-formed, but a value that is not of the field's type.
        hex(r#"{"o":["-views","id"],"d":"n","v":["1; DROP TABLE demo_posts","1"]}"#),
        // Another ordering's cursor.
        hex(r#"{"o":["title","id"],"d":"n","v":["x","1"]}"#),
    ] {
        let response = client
            .get(&format!("/admin/post/?ordering=-views&cursor={bad}"))
            .await;
        assert_eq!(response.status, 400, "{bad:.60}: {}", response.body);
        assert!(response.body.contains("cursor"), "{}", response.body);
    }
    // The cursor of one ordering used with another: 400.
    let other = client
        .get(&format!("/admin/post/?ordering=title&cursor={cursor}"))
        .await;
    assert_eq!(other.status, 400);
    // An ordering with a nullable field keeps page numbers only.
    let dated = client.get("/admin/post/?ordering=published_on").await;
    assert!(rel_link(&dated.body, "next").is_none(), "{}", dated.body);
    assert!(dated.body.contains("page=2"));
    let refused = client
        .get(&format!(
            "/admin/post/?ordering=published_on&cursor={cursor}"
        ))
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(server.on_db(Post::all().count()).await, 45);
    server.stop().await;
}
