//! `manage createsuperuser` run as a user runs it: the `orm-admin-manage`
//! binary in a process of its own, its answers fed through stdin (not a
//! terminal, so the password is read as a line; at a terminal it is read
//! with echo off). The messages are Django's (`createsuperuser`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use orm_admin::AdminUser;
use orm_core::prelude::*;

/// Runs `manage createsuperuser ARGS` on `url` with `stdin` and extra
/// environment variables.
fn manage(url: &str, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orm-admin-manage"));
    cmd.args(["--database-url", url, "createsuperuser"])
        .args(args)
        .env_remove("ADMIN_PASSWORD")
        .env_remove("ADMIN_USERNAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the manage binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("answers written");
    child.wait_with_output().expect("it ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn user(db: &Db, name: &str) -> Option<AdminUser> {
    orm_core::scope(
        db,
        AdminUser::filter(q!(username = name.to_owned())).first(),
    )
    .await
    .expect("a query")
}

#[tokio::test]
async fn createsuperuser_asks_checks_and_creates() {
    // A fresh database without the admin's tables: the command makes them.
    let url = orm_core::testing::test_database_url()
        .await
        .expect("a database");
    let db = Db::builder(url.clone()).connect().await.expect("connects");

    // Interactive: a blank username, passwords that differ, blank
    // passwords, then good answers; each error is said and asked again.
    let out = manage(
        &url,
        &[],
        "\nada\nsecret\nsecrets\n\n\nsecret\nsecret\n",
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "Superuser \"ada\" created successfully.\n");
    assert_eq!(stderr.matches("Username: ").count(), 2, "{stderr}");
    assert!(
        stderr.contains("Error: This field cannot be blank."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Error: Your passwords didn't match."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Error: Blank passwords aren't allowed."),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Password (again): ").count(), 3, "{stderr}");
    let ada = user(&db, "ada").await.expect("created");
    assert!(ada.is_superuser && ada.is_staff && ada.is_active);
    assert!(orm_admin::verify_password("secret", &ada.password));
    assert!(!ada.password.contains("secret"), "stored hashed");

    // A username taken is asked again.
    let out = manage(&url, &[], "ada\ngrace\npw\npw\n", &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Error: That username is already taken."),
        "{stderr}"
    );
    assert!(user(&db, "grace").await.is_some());

    // --username given: only the password is asked; taken: exit 1.
    let out = manage(&url, &["--username", "ada"], "pw\npw\n", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Error: That username is already taken."));

    // The end of the input stops the questions (exit 1, nothing made).
    let out = manage(&url, &["--username", "linus"], "pw\n", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no password given"),
        "{}",
        text(&out.stderr)
    );
    assert!(user(&db, "linus").await.is_none());

    // Non-interactive: the password from ADMIN_PASSWORD; stdin unread.
    let out = manage(
        &url,
        &["--noinput", "--username", "linus"],
        "ignored\n",
        &[("ADMIN_PASSWORD", "from env")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let linus = user(&db, "linus").await.expect("created");
    assert!(orm_admin::verify_password("from env", &linus.password));
    // Again: taken. Without a password or a username: refused.
    for (args, env, message) in [
        (
            &["--noinput", "--username", "linus"][..],
            &[("ADMIN_PASSWORD", "x")][..],
            "That username is already taken.",
        ),
        (&["--noinput", "--username", "ken"], &[], "ADMIN_PASSWORD"),
        (&["--no-input"], &[("ADMIN_PASSWORD", "x")], "--username"),
    ] {
        let out = manage(&url, args, "", env);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    assert!(user(&db, "ken").await.is_none());
    // Bad arguments: exit 2 with the usage.
    let out = manage(&url, &["--email", "x@y"], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("usage: manage"));
    let count = orm_core::scope(&db, AdminUser::all().count())
        .await
        .expect("a count");
    assert_eq!(count, 3);
}

#[test]
fn help_lists_createsuperuser_beside_the_migration_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_orm-admin-manage"))
        .arg("--help")
        .output()
        .expect("the manage binary runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    for word in [
        "makemigrations",
        "migrate",
        "showmigrations",
        "createsuperuser",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
}
