//! The application's real `manage` binaries, run as a user runs them: the
//! models are in the library crate, `manage` is another crate of the
//! package, so it sees them only because it links the library
//! (`use orm_test_app as _;`); `manage_unlinked` does not, and must say so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use orm_core::prelude::*;
use orm_test_app::{Post, Tag, User};

/// A fresh, absent migrations folder.
fn folder() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "orm-app-migrations-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs binary `exe` with `--dir dir`, the database URL (when given) and
/// `args`; stdin is not a terminal, so nothing is asked.
fn run(exe: &str, dir: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.arg("--dir").arg(dir);
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the manage binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The tables of `public`, by name.
async fn tables(db: &Db) -> Result<Vec<String>> {
    orm_core::scope(db, async {
        let rows: Vec<(String,)> = orm_core::raw(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    })
    .await
}

#[tokio::test]
async fn manage_makes_and_applies_the_apps_migrations() -> Result<()> {
    let exe = env!("CARGO_BIN_EXE_manage");
    let url = orm_core::testing::test_database_url().await?;
    let dir = folder();

    let out = run(exe, &dir, None, &["makemigrations", "--name", "initial"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(report.starts_with("Wrote "), "{report}");
    let sql = std::fs::read_to_string(dir.join("0001_initial.sql")).expect("0001_initial.sql");
    let up = sql.split("-- migrate:down").next().unwrap_or_default();
    let mut created: Vec<&str> = up
        .split("CREATE TABLE \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    created.sort_unstable();
    assert_eq!(
        created,
        [
            "app_bookmarks",
            "app_listings",
            "app_memo_labels",
            "app_memos",
            "app_memos_labels",
            "app_notes",
            "app_post_tags",
            "app_posts",
            "app_profiles",
            "app_tags",
            "app_users"
        ],
        "every model's table and the link table: {sql}"
    );
    // A soft delete model's unique field: a partial unique index over its
    // live rows, not a constraint.
    assert!(
        up.contains(
            "CREATE UNIQUE INDEX \"app_notes_title_key\" ON \"app_notes\" (\"title\") WHERE \"deleted_at\" IS NULL"
        ),
        "{up}"
    );
    // The tenant model's row-level security, after its table; undone first.
    assert!(
        up.contains("ALTER TABLE \"app_memos\" ENABLE ROW LEVEL SECURITY;\nALTER TABLE \"app_memos\" FORCE ROW LEVEL SECURITY;\nCREATE POLICY \"tenant_isolation\" ON \"app_memos\" USING (\"account_id\" = NULLIF(current_setting('orm.tenant', true), '')::bigint)"),
        "{sql}"
    );
    assert!(
        sql.contains("DROP POLICY IF EXISTS \"tenant_isolation\" ON \"app_memos\""),
        "{sql}"
    );
    // The many-to-many between the tenant models: its link table has the
    // tenant, first in its key and in both foreign keys, and their policy.
    for part in [
        "CONSTRAINT \"app_memos_labels_pkey\" PRIMARY KEY (\"account_id\", \"memo_id\", \"memo_label_id\")",
        "FOREIGN KEY (\"account_id\", \"memo_id\") REFERENCES \"app_memos\" (\"account_id\", \"id\")",
        "FOREIGN KEY (\"account_id\", \"memo_label_id\") REFERENCES \"app_memo_labels\" (\"account_id\", \"id\")",
        "ALTER TABLE \"app_memos_labels\" ENABLE ROW LEVEL SECURITY",
    ] {
        assert!(up.contains(part), "{part}: {up}");
    }

    let out = run(exe, &dir, Some(&url), &["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Applied 0001_initial\n");
    let db = Db::builder(url.clone()).max_size(2).connect().await?;
    assert_eq!(
        tables(&db).await?,
        [
            "app_bookmarks",
            "app_listings",
            "app_memo_labels",
            "app_memos",
            "app_memos_labels",
            "app_notes",
            "app_post_tags",
            "app_posts",
            "app_profiles",
            "app_tags",
            "app_users",
            "orm_migrations"
        ]
    );
    // The migrated schema is the one the models read and write.
    orm_core::scope(&db, async {
        let ada = User::create(User {
            name: "ada".into(),
            ..Default::default()
        })
        .await?;
        let rust = Tag::create(Tag {
            name: "rust".into(),
            ..Default::default()
        })
        .await?;
        let post = Post::create(Post {
            author: ForeignKey::to(&ada)?,
            title: "hello".into(),
            ..Default::default()
        })
        .await?;
        post.tags().add(&[&rust]).await?;
        assert_eq!(
            Post::filter(q!(tags__name = "rust", author__karma = 0))
                .count()
                .await?,
            1
        );
        Ok::<_, Error>(())
    })
    .await?;

    let out = run(exe, &dir, Some(&url), &["showmigrations"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "[X] 0001_initial\n");

    let out = run(exe, &dir, None, &["makemigrations", "--check"]);
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "No changes detected.\n"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn manage_without_the_models_fails_and_says_how_to_link_them() {
    let exe = env!("CARGO_BIN_EXE_manage_unlinked");
    let dir = folder();
    for args in [
        &["makemigrations", "--name", "initial"][..],
        &["makemigrations", "--check"],
    ] {
        let out = run(exe, &dir, None, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("no models are linked into this binary"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("add `use your_crate as _;`"),
            "{args:?}: {err}"
        );
        assert_eq!(stdout(&out), "", "{args:?}");
        assert!(!dir.exists(), "{args:?}: nothing written");
    }
    // With a migration already there, it would see every table as dropped.
    let out = run(
        env!("CARGO_BIN_EXE_manage"),
        &dir,
        None,
        &["makemigrations"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(exe, &dir, None, &["makemigrations"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files, ["0001_initial.sql", "0001_initial.state.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}
