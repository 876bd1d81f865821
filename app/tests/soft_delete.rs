//! A soft delete model declared in the application's library crate
//! (`orm_test_app::Note`), used from this crate: delete marks, the default
//! queries hide, with_deleted / restore / hard_delete, and a title freed
//! by its note's delete (django-safedelete's behaviour).

use orm_core::prelude::*;
use orm_test_app::{Note, User};

#[orm_core::test]
async fn a_library_crates_soft_delete_model() -> Result<()> {
    let ada = User::create(User {
        name: "ada".into(),
        ..Default::default()
    })
    .await?;
    let note = |title: &str| Note {
        author: ForeignKey::to(&ada).expect("saved"),
        title: title.into(),
        ..Default::default()
    };
    let todo = Note::create(note("todo")).await?;
    Note::create(note("ideas")).await?;
    assert_eq!(todo.delete().await?, 1);
    assert_eq!(Note::all().count().await?, 1);
    assert_eq!(Note::all().with_deleted().count().await?, 2);
    assert!(Note::get_or_none(q!(title = "todo")).await?.is_none());
    // Across the relation from the user's side: a filter on the note.
    assert_eq!(Note::filter(q!(author__name = "ada")).count().await?, 1);
    // The title is free again; a second live "todo" is not.
    let again = Note::create(note("todo")).await?;
    let err = Note::create(note("todo")).await.unwrap_err();
    assert_eq!(err.constraint(), Some("app_notes_title_key"), "{err}");
    again.hard_delete().await?;
    assert_eq!(todo.restore().await?, 1);
    let titles: Vec<String> = Note::all()
        .order_by(["title"])
        .values_list_flat("title")
        .await?;
    assert_eq!(titles, ["ideas", "todo"]);
    Ok(())
}
