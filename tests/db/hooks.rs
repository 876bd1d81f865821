//! Lifecycle hooks and validation, checked before anything is sent.

use std::sync::atomic::{AtomicUsize, Ordering};

use orm_core::prelude::*;
use orm_core::Hooks;

use crate::common::setup;

fn no_spaces(slug: &String) -> std::result::Result<(), String> {
    if slug.contains(' ') {
        Err(format!("`{slug}` has a space; slugs are one word"))
    } else {
        Ok(())
    }
}

fn positive(n: &i32) -> std::result::Result<(), String> {
    (*n > 0)
        .then_some(())
        .ok_or_else(|| format!("must be positive, got {n}"))
}

static DELETED: AtomicUsize = AtomicUsize::new(0);

/// An article with rules and hooks.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "hook_articles", hooks)]
pub(crate) struct Article {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// At most 12 characters, no spaces.
    #[orm(max_length = 12, validate = no_spaces)]
    pub slug: String,
    /// Filled by before_save from the slug.
    pub title: String,
    /// Must be positive.
    #[orm(validate = positive)]
    pub words: i32,
    /// Counts saves (after_save).
    pub saves: i32,
}

impl Hooks for Article {
    async fn before_save(&mut self, inserting: bool) -> Result<()> {
        if self.slug == "forbidden" {
            return Err(
                orm_core::ValidationError::new("Article", "slug", "this slug is reserved").into(),
            );
        }
        if inserting && self.title.is_empty() {
            self.title = self.slug.to_uppercase();
        }
        self.saves += 1;
        Ok(())
    }

    async fn after_delete(&self) -> Result<()> {
        DELETED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn article(slug: &str, words: i32) -> Article {
    Article {
        slug: slug.into(),
        words,
        ..Default::default()
    }
}

#[tokio::test]
async fn validation_runs_before_the_round_trip() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let before = db.query_count();
        let err = Article::create(article("has space", 10)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Article.slug: `has space` has a space; slugs are one word"
        );
        let err = Article::create(article("x", 0)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Validation(e) if e.field == "words"),
            "{err}"
        );
        let err = Article::create(article("thirteen-char", 1))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Article.slug: at most 12 characters allowed (max_length), it has 13"
        );
        // Characters, not bytes: twelve emoji fit.
        Article::create(article(&"😀".repeat(12), 1)).await?;
        let err = Article::bulk_create(vec![article("ok", 1), article("bad one", 1)])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Validation(_)), "{err}");
        assert_eq!(
            db.query_count() - before,
            1,
            "only the valid create was sent"
        );
        assert_eq!(Article::all().count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn hooks_run_around_saves_and_deletes() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let mut a = Article::create(article("intro", 100)).await?;
        assert_eq!(a.title, "INTRO", "before_save filled it on insert");
        assert_eq!(a.saves, 1);
        a.title = "Intro".into();
        a.save().await?;
        assert_eq!(a.saves, 2);
        assert_eq!(
            Article::get(q!(id = a.id)).await?.title,
            "Intro",
            "not refilled on update"
        );
        // A before_save error stops the write.
        let err = Article::create(article("forbidden", 1)).await.unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        assert_eq!(Article::all().count().await?, 1);
        let before = DELETED.load(Ordering::SeqCst);
        a.delete().await?;
        assert_eq!(DELETED.load(Ordering::SeqCst), before + 1);
        Ok(())
    })
    .await
}
