//! A test crate that names no model of the application: `use orm_test_app
//! as _;` links the library crate, and with it its models, so that
//! `#[orm_core::test]` creates their tables. Without that line this
//! binary would link no model and each test would fail saying so.

use orm_test_app as _;

#[orm_core::test]
async fn the_library_crates_models_are_linked() -> orm_core::Result<()> {
    let tables: Vec<(String,)> = orm_core::raw(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY 1",
        &[],
    )
    .await?;
    let tables: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
    for table in ["app_users", "app_posts", "app_tags", "app_profiles"] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    Ok(())
}
