//! `#[orm_core::test]` in an application's own test crate: the models live
//! in the library crate (`orm_test_app`), and naming them here links them,
//! so each test's database has their tables.

use orm_core::prelude::*;
use orm_test_app::{Post, User};

async fn user(name: &str) -> Result<User> {
    User::create(User {
        name: name.into(),
        ..Default::default()
    })
    .await
}

#[orm_core::test]
async fn a_handler_sees_the_apps_tables_empty() -> Result<()> {
    assert_eq!(User::all().count().await?, 0);
    let ada = user("ada").await?;
    Post::create(Post {
        author: ForeignKey::to(&ada)?,
        title: "Hello".into(),
        published: true,
        ..Default::default()
    })
    .await?;
    let titles: Vec<String> = Post::filter(q!(author__name = "ada"))
        .await?
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(titles, ["Hello"]);
    Ok(())
}

#[orm_core::test]
async fn another_test_starts_from_an_empty_database(db: Db) -> Result<()> {
    // The row of the test above is not here, whichever ran first.
    assert_eq!(User::all().using(&db).count().await?, 0);
    user("ada").await?;
    assert_eq!(User::all().using(&db).count().await?, 1);
    Ok(())
}

/// The app's migration files (a fixture written by `manage makemigrations`
/// from the models as they were): only raw SQL below, so that a later
/// model change does not break this test of the option.
#[orm_core::test(migrations = "tests/migrations")]
async fn migrations_are_applied_instead_of_the_models_tables() -> Result<()> {
    let applied: Vec<(String,)> =
        orm_core::raw("SELECT name::text FROM orm_migrations ORDER BY 1", &[]).await?;
    assert_eq!(applied, [("0001_initial".to_owned(),)]);
    let tables: Vec<(String,)> = orm_core::raw(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name LIKE 'app\\_%' ORDER BY 1",
        &[],
    )
    .await?;
    assert_eq!(
        tables.into_iter().map(|(t,)| t).collect::<Vec<_>>(),
        [
            "app_post_tags",
            "app_posts",
            "app_profiles",
            "app_tags",
            "app_users"
        ]
    );
    Ok(())
}
