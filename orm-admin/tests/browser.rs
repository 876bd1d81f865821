//! The admin in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, started here on a free loopback port) against the demo
//! admin served on loopback over a fresh, seeded database. It logs in,
//! lists, searches, filters, sorts, pages, adds, edits through a
//! validation error, deletes through the cascade preview, and checks that
//! no page breaks the Content-Security-Policy (the browser's reports to
//! `report-uri`, counted here) or logs a console error. A PNG of each
//! page is saved under `target/admin-screenshots/`.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (or
//! `CHROME`/`CHROMEDRIVER` pointing at the binaries). Without them the
//! test says so and passes, unless `CI` is set: then it fails.

#[path = "../../examples/admin.rs"]
#[allow(dead_code, unreachable_pub)]
mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo::{Author, Post};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use orm_core::prelude::*;
use serde_json::{json, Value as Json};

/// A program on `PATH` (or the path in `env`), the first of `names` found.
fn program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `chromedriver`, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts chromedriver and waits until it accepts connections.
async fn start_driver(path: &PathBuf) -> (Driver, u16) {
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (driver, port)
}

/// chromedriver's log of the browser's console since the last call
/// (`POST /session/{id}/se/log`, type `browser`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`): here
/// `Emulation.setEmulatedMedia`, for `prefers-color-scheme: dark`.
#[derive(Debug)]
struct Cdp(&'static str, Json);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": self.1}).to_string()),
        )
    }
}

/// The browser session and what the test checks on every page.
struct Browser {
    c: Client,
    base: String,
    shots: PathBuf,
    n: usize,
    reports: Arc<AtomicUsize>,
    report_bodies: Arc<Mutex<Vec<String>>>,
}

impl Browser {
    async fn goto(&mut self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.url().await),
        }
    }

    async fn url(&self) -> String {
        self.c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Marks the current document, so that [`loaded`] sees it replaced.
    async fn mark(&self) {
        self.c
            .execute("window.__old_page = true", vec![])
            .await
            .expect("script");
    }

    /// Waits until the marked document is replaced by a loaded one.
    async fn loaded(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let fresh = self
                .c
                .execute(
                    "return window.__old_page !== true && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            if matches!(fresh, Ok(Json::Bool(true))) {
                return;
            }
            assert!(Instant::now() < deadline, "no new page after a click");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks what `css` finds, and waits for the page it leads to.
    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.mark().await;
        element.click().await.expect("click");
        self.loaded().await;
    }

    /// Clicks a link by its exact text, and waits for its page.
    async fn click_link(&self, text: &str) {
        match self.c.find(Locator::LinkText(text)).await {
            Ok(link) => {
                self.mark().await;
                link.click().await.expect("click");
                self.loaded().await;
            }
            Err(e) => panic!("no link {text:?} on {}: {e}", self.url().await),
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }

    /// Checks the page (no CSP report, no console error), saves its
    /// screenshot as `NN-name.png`.
    async fn page(&mut self, name: &str) {
        // The state is complete: the document and its stylesheet.
        self.c
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("body"))
            .await
            .expect("a body");
        let styled = self
            .c
            .execute(
                "return getComputedStyle(document.body).margin !== '8px'",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(styled, Json::Bool(true), "{name}: the stylesheet applies");
        let png = self.c.screenshot().await.expect("screenshot");
        self.n += 1;
        let file = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&file, png).expect("screenshot saved");
        let log = self.c.issue_cmd(BrowserLog).await.expect("browser log");
        let errors: Vec<&Json> = log
            .as_array()
            .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").collect())
            .unwrap_or_default();
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        // A report is a separate request: give it a moment.
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            self.reports.load(Ordering::SeqCst),
            0,
            "{name}: CSP violations {:?}",
            self.report_bodies.lock().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_in_headless_chromium() {
    let chrome = program(
        "CHROME",
        &["chromium", "chromium-browser", "google-chrome", "chrome"],
    );
    let chromedriver = program("CHROMEDRIVER", &["chromedriver"]);
    let (Some(chrome), Some(chromedriver)) = (chrome, chromedriver) else {
        let message = "the real-browser test needs Chromium and chromedriver \
                       (Debian: apt-get install chromium chromium-driver)";
        assert!(std::env::var_os("CI").is_none(), "CI: {message}");
        eprintln!("SKIPPED: {message}");
        return;
    };
    let started = Instant::now();

    // The admin, on a fresh database, counting CSP reports.
    let db = orm_core::testing::test_db().await.expect("a database");
    orm_core::generate_schemas_on(&db).await.expect("schema");
    orm_core::scope(&db, async {
        demo::seed().await?;
        orm_admin::create_superuser("admin", "correct horse").await?;
        Ok::<_, Error>(())
    })
    .await
    .expect("seed");
    let reports = Arc::new(AtomicUsize::new(0));
    let report_bodies = Arc::new(Mutex::new(Vec::new()));
    let (count, bodies) = (reports.clone(), report_bodies.clone());
    let app = demo::app(&db).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let (count, bodies) = (count.clone(), bodies.clone());
            async move {
                if request.uri().path() == "/admin/csp-report" {
                    count.fetch_add(1, Ordering::SeqCst);
                    let body = axum::body::to_bytes(request.into_body(), 65_536)
                        .await
                        .unwrap_or_default();
                    bodies
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                    return axum::http::StatusCode::NO_CONTENT.into_response();
                }
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    // The browser.
    let (_driver, port) = start_driver(&chromedriver).await;
    let profile = std::env::temp_dir().join(format!(
        "orm-admin-chromium-{}-{}",
        std::process::id(),
        free_port()
    ));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    let shots = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("admin-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    let mut b = Browser {
        c,
        base,
        shots,
        n: 0,
        reports,
        report_bodies,
    };
    let result = tokio::time::timeout(Duration::from_secs(90), walk(&mut b, &db)).await;
    let _ = b.c.clone().close().await;
    server.abort();
    let _ = std::fs::remove_dir_all(&profile);
    result.expect("the walk took too long");
    eprintln!(
        "browser test: {} pages in {:?}, screenshots in {}",
        b.n,
        started.elapsed(),
        b.shots.display()
    );
}

use axum::response::IntoResponse;

/// The pages, as a user clicks through them.
async fn walk(b: &mut Browser, db: &Db) {
    // Anonymous: the login page.
    b.goto("/admin/").await;
    assert!(
        b.url().await.contains("/admin/login?next="),
        "{}",
        b.url().await
    );
    b.page("login").await;
    b.fill("#id_username", "admin").await;
    b.fill("#id_password", "wrong").await;
    b.click("button[type=submit]").await;
    assert!(b
        .text(".errornote")
        .await
        .contains("Please enter the correct username and password"));
    b.page("login-failed").await;
    b.fill("#id_password", "correct horse").await;
    b.click("button[type=submit]").await;
    assert_eq!(b.text("h1").await, "Site administration");
    b.page("index").await;

    // The change list: 45 posts, 20 a page.
    b.click("a[href='/admin/post/']").await;
    assert_eq!(b.text("p.count").await, "45 posts");
    b.page("posts").await;
    // Search (across the relation too).
    b.fill("form.search input[name=search]", "linus").await;
    b.click("form.search button").await;
    assert_eq!(b.text("p.count").await, "15 posts");
    b.page("posts-search").await;
    // A sidebar filter on top of the search, which it keeps: Linus's
    // posts (i % 3 == 2) are all published (drafts are i % 3 == 0).
    b.click_link("Published").await;
    assert!(b.url().await.contains("status=Published"));
    assert!(b.url().await.contains("search=linus"), "the search is kept");
    assert_eq!(b.text("p.count").await, "15 posts");
    b.page("posts-filtered").await;
    // Sort by views, by clicking the header (ascending first).
    b.goto("/admin/post/").await;
    b.click("table.list thead a[href='?ordering=views']").await;
    assert!(b.url().await.contains("ordering=views"));
    let fewest = orm_core::scope(db, Post::all().order_by(["views", "id"]).first())
        .await
        .expect("query")
        .expect("a post");
    assert_eq!(b.text("table.list tbody tr th a").await, fewest.title);
    b.find("th.sorted.asc").await;
    b.page("posts-sorted").await;
    // Page 3 of 3 keeps the ordering; 5 rows.
    b.click("nav.pages a[href*='page=3']").await;
    assert!(b.url().await.contains("ordering=views"));
    assert_eq!(b.text("nav.pages .current").await, "3");
    let rows =
        b.c.find_all(Locator::Css("table.list tbody tr"))
            .await
            .expect("rows");
    assert_eq!(rows.len(), 5);
    // The script (a file: the policy allows no inline one) ticks every
    // row's box.
    b.find("input.select-all")
        .await
        .click()
        .await
        .expect("click");
    let ticked =
        b.c.execute(
            "return document.querySelectorAll('input[name=_selected_action]:checked').length",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(ticked, json!(5));
    b.page("posts-page3").await;

    // Add an author.
    b.goto("/admin/author/add/").await;
    b.page("author-add").await;
    b.fill("#id_name", "Margaret").await;
    b.fill("#id_bio", "Apollo guidance software.").await;
    b.click("button[name=_save]").await;
    assert!(
        b.url().await.ends_with("/admin/author/"),
        "{}",
        b.url().await
    );
    assert!(b.text("table.list").await.contains("Margaret"));
    b.page("authors").await;

    // Edit: a name taken is refused next to the field, the input kept;
    // then fixed.
    b.click_link("Margaret").await;
    b.page("author-change").await;
    b.fill("#id_name", "Ada").await;
    b.fill("#id_bio", "kept input").await;
    b.click("button[name=_continue]").await;
    assert_eq!(
        b.text(".has-error .errorlist").await,
        "Author with this Name already exists."
    );
    let bio = b.find("#id_bio").await;
    assert_eq!(
        bio.prop("value").await.expect("value").as_deref(),
        Some("kept input")
    );
    b.page("author-change-error").await;
    b.fill("#id_name", "Margaret Hamilton").await;
    b.click("button[name=_continue]").await;
    assert!(b.url().await.ends_with("/change/"));
    let margaret = orm_core::scope(db, Author::get(q!(name = "Margaret Hamilton")))
        .await
        .expect("renamed");
    assert_eq!(margaret.bio, "kept input");
    b.page("author-changed").await;

    // An inline edit on Ada's page (her 15 posts, then 2 blank rows):
    // change one, delete one, add one; one save.
    let ada = orm_core::scope(db, Author::get(q!(name = "Ada")))
        .await
        .expect("Ada");
    let ada_posts = orm_core::scope(db, async {
        Post::filter(q!(author = ada.id)).order_by(["id"]).await
    })
    .await
    .expect("posts");
    b.goto(&format!("/admin/author/{}/change/", ada.id)).await;
    b.fill("#id_post_set-0-title", "Edited inline").await;
    b.find("#id_post_set-1-DELETE")
        .await
        .click()
        .await
        .expect("tick");
    b.fill("#id_post_set-15-title", "Added inline").await;
    b.c.execute(
        "document.getElementById('id_post_set-15-status').value = 'Published'; \
         document.querySelector('fieldset.inline').scrollIntoView()",
        vec![],
    )
    .await
    .expect("script");
    b.page("author-inline").await;
    b.click("button[name=_continue]").await;
    assert!(b.url().await.ends_with("/change/"), "{}", b.url().await);
    let (edited, gone, added) = orm_core::scope(db, async {
        Ok::<_, Error>((
            Post::get(q!(id = ada_posts[0].id)).await?.title,
            Post::filter(q!(id = ada_posts[1].id)).exists().await?,
            Post::get(q!(title = "Added inline")).await?,
        ))
    })
    .await
    .expect("rows");
    assert_eq!(edited, "Edited inline");
    assert!(!gone);
    assert_eq!(*added.author.key(), ada.id);
    b.c.execute(
        "document.querySelector('fieldset.inline').scrollIntoView()",
        vec![],
    )
    .await
    .expect("script");
    b.page("author-inline-saved").await;

    // A many-to-many change: the filter box narrows the tags, a second
    // one is chosen.
    let post = &ada_posts[0];
    b.goto(&format!("/admin/post/{}/change/", post.id)).await;
    b.fill("input.m2m-filter", "data").await;
    let visible = b
        .c
        .execute(
            "return Array.from(document.querySelectorAll('#id_tags option')).filter(o => !o.hidden).map(o => o.text)",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(visible, json!(["databases"]));
    b.c.execute(
        "Array.from(document.querySelectorAll('#id_tags option')).find(o => o.text === 'databases').selected = true; \
         document.getElementById('id_tags').scrollIntoView()",
        vec![],
    )
    .await
    .expect("script");
    b.page("post-tags").await;
    b.click("button[name=_continue]").await;
    let mut names: Vec<String> = orm_core::scope(db, async {
        let post = Post::get(q!(id = post.id)).await?;
        post.tags().all().await
    })
    .await
    .expect("tags")
    .into_iter()
    .map(|t| t.name)
    .collect();
    names.sort();
    assert_eq!(names, ["databases", "rust"]);

    // The stale-row warning: the row changes after the form is opened;
    // the save shows the warning and keeps the input; saving again wins.
    b.goto(&format!("/admin/author/{}/change/", margaret.id))
        .await;
    orm_core::scope(
        db,
        Author::filter(q!(id = margaret.id)).update(q!(bio = "changed meanwhile")),
    )
    .await
    .expect("update");
    b.fill("#id_bio", "my version").await;
    b.click("button[name=_continue]").await;
    assert!(b
        .text(".errornote.stale")
        .await
        .contains("was changed by someone else"));
    b.page("author-stale").await;
    b.click("button[name=_continue]").await;
    let bio = orm_core::scope(db, Author::get(q!(id = margaret.id)))
        .await
        .expect("Margaret")
        .bio;
    assert_eq!(bio, "my version");

    // The autocomplete box of a key to a big table (45 posts, past 20):
    // type, arrow down, Enter: the hidden key input holds the pick.
    b.goto("/admin/comment/add/").await;
    b.fill("#id_post_search", "post #4").await;
    b.find("ul.ac-list li[role=option]").await;
    let search = b.find("#id_post_search").await;
    search.send_keys("\u{E015}").await.expect("arrow down");
    search.send_keys("\u{E007}").await.expect("enter");
    let key =
        b.c.execute("return document.getElementById('id_post').value", vec![])
            .await
            .expect("script");
    let picked = key.as_str().expect("a key").to_owned();
    assert!(!picked.is_empty(), "a post was picked");
    let title = b
        .find("#id_post_search")
        .await
        .prop("value")
        .await
        .expect("value");
    // The box shows the picked post's label (its title).
    let chosen = orm_core::scope(
        db,
        Post::get(q!(id = picked.parse::<i64>().expect("a key"))),
    )
    .await
    .expect("the picked post");
    assert_eq!(title.unwrap_or_default(), chosen.title);
    b.fill("#id_text", "Picked with the keyboard").await;
    b.page("comment-autocomplete").await;
    b.click("button[name=_save]").await;
    assert!(
        b.url().await.ends_with("/admin/comment/"),
        "{}",
        b.url().await
    );

    // Delete Grace through the cascade preview.
    let grace = orm_core::scope(db, Author::get(q!(name = "Grace")))
        .await
        .expect("Grace");
    b.goto(&format!("/admin/author/{}/change/", grace.id)).await;
    b.click("a.button.danger").await;
    assert_eq!(b.text("h1").await, "Are you sure?");
    // Seeded: posts i % 3 == 1 are Grace's (15).
    assert!(
        b.text("main").await.contains("Post: 15"),
        "{}",
        b.text("main").await
    );
    b.page("author-delete").await;
    b.click("form.confirm button.danger").await;
    assert!(b.url().await.ends_with("/admin/author/"));
    assert!(!b.text("table.list").await.contains("Grace"));
    b.page("author-deleted").await;
    let left = orm_core::scope(db, Post::all().count())
        .await
        .expect("count");
    // Grace's 15 went; Ada lost one and gained one inline.
    assert_eq!(left, 30);

    // Keyset links (30 posts left): Last is the last 20 rows by views,
    // read backwards (the most viewed post last), carrying no page number.
    b.goto("/admin/post/?ordering=views").await;
    b.click("nav.pages a[rel=last]").await;
    assert!(b.url().await.contains("cursor=last"), "{}", b.url().await);
    let rows =
        b.c.find_all(Locator::Css("table.list tbody tr"))
            .await
            .expect("rows");
    assert_eq!(rows.len(), 20);
    let most = orm_core::scope(db, Post::all().order_by(["-views", "-id"]).first())
        .await
        .expect("query")
        .expect("a post");
    let last_title = rows[19]
        .find(Locator::Css("th a"))
        .await
        .expect("a link")
        .text()
        .await
        .expect("text");
    assert_eq!(last_title, most.title);
    b.find("nav.pages span.step.disabled").await;
    b.page("posts-last-keyset").await;
    // Previous: the 10 rows before, by a cursor; the first page's rows.
    b.click("nav.pages a[rel=prev]").await;
    assert!(b.url().await.contains("cursor="), "{}", b.url().await);
    let before =
        b.c.find_all(Locator::Css("table.list tbody tr"))
            .await
            .expect("rows");
    assert_eq!(before.len(), 10);
    // Read again: the inline edit above renamed the least viewed post.
    let fewest = orm_core::scope(db, Post::all().order_by(["views", "id"]).first())
        .await
        .expect("query")
        .expect("a post");
    assert_eq!(b.text("table.list tbody tr th a").await, fewest.title);

    // Dark mode (prefers-color-scheme, emulated through the DevTools
    // protocol): the dark palette applies.
    b.c.issue_cmd(Cdp(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    ))
    .await
    .expect("dark mode emulated");
    b.goto("/admin/post/").await;
    let background =
        b.c.execute(
            "return getComputedStyle(document.body).backgroundColor",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(background, json!("rgb(15, 19, 32)"), "the dark palette");
    b.page("dark-posts").await;
    b.goto(&format!("/admin/author/{}/change/", margaret.id))
        .await;
    b.page("dark-author-change").await;

    // A phone, 390 px wide: nothing wider than the screen but the
    // table, which scrolls in its frame; the filters under the list.
    b.c.set_window_size(390, 844).await.expect("resized");
    for (path, name) in [
        ("/admin/post/".to_owned(), "phone-dark-posts"),
        (
            format!("/admin/author/{}/change/", margaret.id),
            "phone-dark-author-change",
        ),
    ] {
        b.goto(&path).await;
        b.page(name).await;
        // The elements sticking out, outside of a scrolling frame.
        let wide =
            b.c.execute(
                "return [...document.querySelectorAll('body *')] \
                   .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth + 1) \
                   .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(wide, json!([]), "{name}: wider than the screen");
    }
    b.c.issue_cmd(Cdp(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
    ))
    .await
    .expect("light mode emulated");
    b.goto("/admin/post/").await;
    let under =
        b.c.execute(
            "return document.querySelector('.filters').getBoundingClientRect().top > \
             document.querySelector('.results').getBoundingClientRect().bottom - 1",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(under, json!(true), "the filters are under the list");
    b.page("phone-posts").await;
    b.goto("/admin/login").await;
    b.page("phone-login").await;
    b.c.set_window_size(1280, 900).await.expect("resized");

    // The watch works: an inline style (as an injection would add) is
    // refused by the policy and reported.
    b.c.execute(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')",
        vec![],
    )
    .await
    .expect("script");
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.reports.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the violation was not reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.report_bodies.lock().unwrap()[0].contains("style-src"));
}
