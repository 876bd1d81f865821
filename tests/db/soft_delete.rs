//! Soft delete (`#[orm(soft_delete)]`, issue 24): delete() marks, the
//! default queries leave marked rows out (also across relations, in
//! select_related, prefetches, managers and counts), with_deleted /
//! only_deleted / restore / hard_delete, cascades, and unique names free
//! again once their row is marked. Expected values follow
//! django-safedelete's SOFT_DELETE_CASCADE policy and Django's managers
//! (the default manager hides marked rows; a forward key reads its row
//! through the base manager, which does not).

use orm_core::prelude::*;
use orm_core::query::{Count, Sum};

use crate::common::setup;
use crate::models::soft_delete::{shelf, SdAuthor, SdBook, SdChapter, SdReview, SdTag};
use crate::models::sorted;

fn titles(books: &[SdBook]) -> Vec<String> {
    sorted(books.iter().map(|b| b.title.clone()).collect())
}

#[tokio::test]
async fn delete_marks_and_the_default_queries_leave_the_row_out() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        assert_eq!(s.dune.delete().await?, 1);
        // Deleting a marked row again marks nothing (its time stays).
        assert_eq!(s.dune.delete().await?, 0);
        // The row is still there, its mark set; refresh_from_db reads it
        // (Django's base manager).
        let marked = SdBook::all().with_deleted().get(q!(id = s.dune.id)).await?;
        assert!(marked.removed_at.is_some());
        let mut dune = s.dune.clone();
        dune.refresh_from_db().await?;
        assert_eq!(dune.removed_at, marked.removed_at);
        assert_eq!(SdBook::all().with_deleted().count().await?, 3);
        // Every default query leaves it out.
        assert_eq!(titles(&SdBook::all().await?), ["Emma", "Persuasion"]);
        assert_eq!(SdBook::all().count().await?, 2);
        assert!(!SdBook::filter(q!(title = "Dune")).exists().await?);
        assert!(matches!(
            SdBook::get(q!(id = s.dune.id)).await,
            Err(Error::DoesNotExist { .. })
        ));
        assert!(SdBook::get_or_none(q!(title = "Dune")).await?.is_none());
        let pages: Vec<i32> = SdBook::all()
            .order_by(["pages"])
            .values_list_flat("pages")
            .await?;
        assert_eq!(pages, [250, 300]);
        let sum = SdBook::all().aggregate([Sum("pages")]).await?;
        assert_eq!(sum.get::<Option<i64>>("pages__sum")?, Some(550));
        let values = SdBook::all().values(["title"]).await?;
        assert_eq!(values.len(), 2);
        let mut streamed = Vec::new();
        let mut rows = SdBook::all().order_by(["id"]).iterator(1);
        while let Some(book) = rows.try_next().await? {
            streamed.push(book.title);
        }
        assert_eq!(streamed, ["Emma", "Persuasion"]);
        // update() leaves marked rows alone.
        assert_eq!(SdBook::all().update(q!(pages = 1)).await?, 2);
        let dune = SdBook::all().only_deleted().get(q!(id = s.dune.id)).await?;
        assert_eq!(dune.pages, 400);
        // only_deleted: just the marked one.
        assert_eq!(titles(&SdBook::all().only_deleted().await?), ["Dune"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn queryset_delete_counts_restore_and_hard_delete() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        // The number of rows marked, as delete() counts deleted ones.
        assert_eq!(
            SdTag::filter(q!(name__in = ["classic", "novel", "x"]))
                .delete()
                .await?,
            2
        );
        assert_eq!(SdTag::all().count().await?, 0);
        assert_eq!(SdTag::all().with_deleted().count().await?, 2);
        // restore() clears the mark, whether or not with_deleted is given.
        assert_eq!(SdTag::filter(q!(name = "classic")).restore().await?, 1);
        assert_eq!(SdTag::filter(q!(name = "classic")).restore().await?, 0);
        assert_eq!(s.novel.restore().await?, 1);
        assert_eq!(SdTag::all().count().await?, 2);
        // hard_delete() removes; only the rows the query sees.
        s.classic.delete().await?;
        assert_eq!(SdTag::all().hard_delete().await?, 1, "novel, live");
        assert_eq!(
            SdTag::all().with_deleted().count().await?,
            1,
            "classic, marked"
        );
        assert_eq!(SdTag::all().only_deleted().hard_delete().await?, 1);
        assert_eq!(SdTag::all().with_deleted().count().await?, 0);
        // An object's hard_delete.
        assert_eq!(s.dune.hard_delete().await?, 1);
        assert!(
            !SdBook::all()
                .with_deleted()
                .filter(q!(id = s.dune.id))
                .exists()
                .await?
        );
        // restore() of a model without soft delete is refused.
        let err = SdReview::all().restore().await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
        assert!(err.to_string().contains("soft_delete"), "{err}");
        // only_deleted() of a model without soft delete matches no row, so
        // a purge written for a soft delete model deletes nothing here.
        let reviews = SdReview::all().count().await?;
        assert!(reviews > 0);
        assert_eq!(SdReview::all().only_deleted().hard_delete().await?, 0);
        assert_eq!(SdReview::all().only_deleted().count().await?, 0);
        assert_eq!(SdReview::all().count().await?, reviews);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn lookups_across_relations_do_not_match_through_a_marked_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        s.classic.delete().await?;
        // Many-to-many: the marked tag is gone for the lookup.
        assert!(SdBook::filter(q!(tags__name = "classic")).await?.is_empty());
        assert_eq!(
            titles(&SdBook::filter(q!(tags__name = "novel")).await?),
            ["Emma"]
        );
        // Reverse: Bob's only book marked, so no author has a book of 400 pages.
        s.dune.delete().await?;
        assert!(SdAuthor::filter(q!(books__pages = 400)).await?.is_empty());
        // exclude: Bob has no live book called Dune, so he is kept.
        let kept = SdAuthor::all()
            .exclude(q!(books__title = "Dune"))
            .order_by(["name"])
            .await?;
        assert_eq!(kept.len(), 2);
        // Forward: Persuasion's editor Bob marked (with_deleted books, to
        // keep the books themselves in view).
        s.bob.delete().await?;
        assert!(SdBook::all()
            .with_deleted()
            .filter(q!(editor__name = "Bob"))
            .await?
            .is_empty());
        assert!(SdBook::all()
            .with_deleted()
            .filter(q!(author__name = "Bob"))
            .await?
            .is_empty());
        // The key column itself is still set: the row is not gone.
        assert_eq!(
            SdBook::filter(q!(editor = s.bob.id)).count().await?,
            1,
            "Persuasion"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn select_related_and_forward_keys_of_a_marked_row() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        // Bob's own book cascades; Persuasion (Ada's, edited by Bob) stays.
        s.bob.delete().await?;
        let books = SdBook::all()
            .select_related(["author", "editor"])
            .order_by(["title"])
            .await?;
        assert_eq!(titles(&books), ["Emma", "Persuasion"]);
        let persuasion = &books[1];
        // A nullable key to a marked row reads as None (its LEFT JOIN
        // finds no live row); the key column stays set.
        assert!(persuasion.editor.as_ref().unwrap().get().is_none());
        assert_eq!(*persuasion.editor.as_ref().unwrap().key(), s.bob.id);
        // A non-null key loads its row as it is, marked (Django's base
        // manager): the book does not vanish from the query.
        let dune = SdBook::all()
            .with_deleted()
            .select_related(["author"])
            .get(q!(id = s.dune.id))
            .await?;
        let bob = dune.author.get().expect("joined");
        assert_eq!(bob.name, "Bob");
        assert!(bob.deleted_at.is_some());
        // fetch() reads the row its key names, marked or not.
        let bob = persuasion.editor.as_ref().unwrap().fetch().await?;
        assert!(bob.deleted_at.is_some());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetch_and_managers_leave_marked_rows_out() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        s.persuasion.delete().await?;
        s.novel.delete().await?;
        let authors = SdAuthor::all()
            .prefetch_related(["books__tags"])
            .order_by(["name"])
            .await?;
        let ada_books = authors[0].books.get().expect("prefetched");
        assert_eq!(titles(ada_books), ["Emma"]);
        let tags: Vec<&str> = ada_books[0]
            .tags
            .get()
            .unwrap()
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tags, ["classic"]);
        // A query of its own decides which rows.
        let authors = SdAuthor::all()
            .prefetch_related_with("books", SdBook::all().with_deleted())
            .order_by(["name"])
            .await?;
        assert_eq!(authors[0].books.get().unwrap().len(), 2);
        // Nullable forward key to a marked row: None, as select_related.
        s.bob.delete().await?;
        let books = SdBook::all()
            .with_deleted()
            .prefetch_related(["editor", "author"])
            .order_by(["title"])
            .await?;
        let persuasion = books.iter().find(|b| b.title == "Persuasion").unwrap();
        assert!(persuasion.editor.as_ref().unwrap().get().is_none());
        assert_eq!(persuasion.author.get().unwrap().name, "Ada");
        // Non-null forward key: loaded as it is.
        let dune = books.iter().find(|b| b.title == "Dune").unwrap();
        assert!(dune.author.get().unwrap().deleted_at.is_some());
        // Managers: reverse and many-to-many.
        assert_eq!(titles(&s.ada.books().await?), ["Emma"]);
        assert_eq!(s.ada.books().with_deleted().count().await?, 2);
        let tags = s.emma.tags().all().await?;
        assert_eq!(tags.len(), 1);
        // Counts across relations (annotate) count live rows: Ada's
        // Persuasion is marked, and Bob (marked, with_deleted) has Dune,
        // marked by the cascade of his delete.
        let counted = SdAuthor::all()
            .with_deleted()
            .annotate([Count("books")])
            .order_by(["name"])
            .await?;
        let counts: Vec<(&str, i64)> = counted
            .iter()
            .map(|a| Ok((a.name.as_str(), a.get::<i64>("books__count")?)))
            .collect::<Result<_>>()?;
        assert_eq!(counts, [("Ada", 1), ("Bob", 0)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn soft_delete_cascades_to_soft_delete_children_and_restore_brings_them_back() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        // What a soft delete will mark: Ada, her two books, Emma's two
        // chapters; the review (not soft delete) and Persuasion's editor
        // link are left, nothing is refused.
        let preview = SdAuthor::filter(q!(id = s.ada.id)).delete_preview().await?;
        assert_eq!(preview.deleted.total, 5);
        assert_eq!(preview.deleted.per_model.get("SdBook"), Some(&2));
        assert_eq!(preview.deleted.per_model.get("SdChapter"), Some(&2));
        assert!(preview.set_null.is_empty() && preview.protected.is_empty());
        assert_eq!(s.ada.delete().await?, 1);
        assert_eq!(SdAuthor::all().count().await?, 1);
        assert_eq!(titles(&SdBook::all().await?), ["Dune"]);
        assert_eq!(SdChapter::all().count().await?, 0);
        // One moment for the whole cascade (the transaction's now()).
        let ada = SdAuthor::all()
            .with_deleted()
            .get(q!(id = s.ada.id))
            .await?;
        let emma = SdBook::all().with_deleted().get(q!(id = s.emma.id)).await?;
        assert_eq!(ada.deleted_at, emma.removed_at);
        // Not soft delete: left, its book's row is still there.
        assert_eq!(SdReview::all().count().await?, 1);
        // SET NULL children: left as they are.
        let persuasion = SdBook::all()
            .with_deleted()
            .get(q!(id = s.persuasion.id))
            .await?;
        assert_eq!(persuasion.editor.map(|e| *e.key()), Some(s.bob.id));
        // A chapter marked on its own before stays marked on restore.
        // (Dune has none; mark one of Bob's via a new chapter.)
        let extra = SdChapter::create(SdChapter {
            book: ForeignKey::to(&s.dune)?,
            title: "Alone".into(),
            ..Default::default()
        })
        .await?;
        extra.delete().await?;
        // Restoring Ada brings back what her delete marked, nothing else.
        assert_eq!(s.ada.restore().await?, 1);
        assert_eq!(SdBook::all().count().await?, 3);
        assert_eq!(SdChapter::all().count().await?, 2);
        assert_eq!(SdChapter::all().only_deleted().count().await?, 1);
        // delete_report says what was marked.
        let report = SdAuthor::filter(q!(name = "Bob")).delete_report().await?;
        assert_eq!(report.total, 2, "Bob and Dune: {report:?}");
        assert_eq!(report.per_model.get("SdAuthor"), Some(&1));
        // Hard delete cascades as the database's ON DELETE says.
        assert_eq!(s.ada.hard_delete().await?, 1);
        assert_eq!(SdBook::all().with_deleted().count().await?, 1, "Dune");
        assert_eq!(SdReview::all().count().await?, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_marked_row_frees_its_unique_values() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let s = shelf().await?;
        // Two live rows: the violation names the (partial unique) index.
        let err = SdAuthor::create(SdAuthor {
            name: "Ada".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.constraint(), Some("sd_authors_name_key"), "{err}");
        let err = SdBook::create(SdBook {
            author: ForeignKey::to(&s.bob)?,
            title: "Dune".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.constraint(),
            Some("sd_books_author_id_title_uniq"),
            "{err}"
        );
        // Marked, the name is free again (PostgreSQL's partial unique index).
        s.ada.delete().await?;
        let again = SdAuthor::create(SdAuthor {
            name: "Ada".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(
            SdAuthor::all()
                .with_deleted()
                .filter(q!(name = "Ada"))
                .count()
                .await?,
            2
        );
        // Restoring the old Ada would make two live ones: refused.
        let err = s.ada.restore().await.unwrap_err();
        assert_eq!(err.constraint(), Some("sd_authors_name_key"), "{err}");
        again.hard_delete().await?;
        assert_eq!(s.ada.restore().await?, 1);
        Ok(())
    })
    .await
}
