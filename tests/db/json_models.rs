//! The `serde` feature against a real database: rows read with
//! `select_related`, `prefetch_related`, `only`, `annotate` and `values`
//! as JSON, and request bodies read back into models with `from_json`.

use orm_core::prelude::*;
use orm_core::serde::from_json;

use crate::common::setup;
use crate::models::json_blog::{JsonAuthor, JsonPost, JsonTag};

/// `ada` with the posts "Rust" (tags rust and db) and "Empty" (no tags).
async fn sample() -> Result<(JsonAuthor, JsonPost, JsonPost)> {
    let ada = JsonAuthor::create(JsonAuthor {
        name: "ada".into(),
        ..Default::default()
    })
    .await?;
    let rust = JsonPost::create(JsonPost {
        author: ForeignKey::to(&ada)?,
        title: "Rust".into(),
        views: 7,
        published_on: chrono::NaiveDate::from_ymd_opt(2024, 5, 1),
        ..Default::default()
    })
    .await?;
    let empty = JsonPost::create(JsonPost {
        author: ForeignKey::to(&ada)?,
        title: "Empty".into(),
        ..Default::default()
    })
    .await?;
    let tags = JsonTag::bulk_create(vec![
        JsonTag {
            name: "rust".into(),
            ..Default::default()
        },
        JsonTag {
            name: "db".into(),
            ..Default::default()
        },
    ])
    .await?;
    rust.tags().add(&[&tags[0], &tags[1]]).await?;
    Ok((ada, rust, empty))
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("serializable")
}

/// The field errors of a failed `from_json`.
fn field_errors(result: Result<JsonPost>) -> Vec<(&'static str, String)> {
    match result {
        Err(Error::Validation(e)) => e.errors().map(|e| (e.field, e.message)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn select_related_nests_the_author_else_the_key() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, rust, _) = sample().await?;
        let ada_json = json(&ada);
        assert!(
            ada_json.starts_with(&format!(r#"{{"id":{},"name":"ada","email":null,"joined":""#, ada.id)),
            "{ada_json}"
        );
        assert!(!ada_json.contains("posts"), "unloaded: no key");

        let plain = JsonPost::get(q!(id = rust.id)).await?;
        assert_eq!(
            json(&plain),
            format!(
                r#"{{"id":{},"author":{},"title":"Rust","views":7,"published_on":"2024-05-01"}}"#,
                rust.id, ada.id
            )
        );
        let joined = JsonPost::filter(q!(id = rust.id))
            .select_related(["author"])
            .first()
            .await?
            .expect("the post");
        assert_eq!(
            json(&joined),
            format!(
                r#"{{"id":{},"author":{ada_json},"title":"Rust","views":7,"published_on":"2024-05-01"}}"#,
                rust.id
            )
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn prefetched_relations_are_lists_unloaded_ones_left_out() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, rust, empty) = sample().await?;
        let posts = JsonPost::all()
            .prefetch_related(["tags"])
            .order_by(["title"])
            .await?;
        let tag_ids = JsonTag::all().order_by(["id"]).values_list_flat::<i64>("id").await?;
        assert_eq!(
            json(&posts),
            format!(
                concat!(
                    r#"[{{"id":{e},"author":{a},"title":"Empty","views":0,"published_on":null,"tags":[]}},"#,
                    r#"{{"id":{r},"author":{a},"title":"Rust","views":7,"published_on":"2024-05-01","#,
                    r#""tags":[{{"id":{t0},"name":"rust"}},{{"id":{t1},"name":"db"}}]}}]"#
                ),
                e = empty.id,
                r = rust.id,
                a = ada.id,
                t0 = tag_ids[0],
                t1 = tag_ids[1],
            )
        );
        // The reverse side, two levels: the author's posts with their tags.
        let authors = JsonAuthor::all().prefetch_related(["posts__tags"]).await?;
        let tree: serde_json::Value = serde_json::to_value(&authors[0]).expect("serializable");
        let titles: Vec<&str> = tree["posts"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles.len(), 2);
        assert!(titles.contains(&"Rust") && titles.contains(&"Empty"), "{tree}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn only_annotate_and_values_rows_are_objects() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, rust, _) = sample().await?;
        let rows = JsonPost::filter(q!(id = rust.id)).only(["title"]).await?;
        assert_eq!(
            json(&rows),
            format!(r#"[{{"id":{},"title":"Rust"}}]"#, rust.id),
            "the unread fields are left out"
        );
        let rows = JsonPost::filter(q!(id = rust.id))
            .defer(["title", "published_on"])
            .await?;
        assert_eq!(
            json(&rows[0]),
            format!(r#"{{"id":{},"author":{},"views":7}}"#, rust.id, ada.id)
        );

        let authors = JsonAuthor::all()
            .annotate([Count("posts"), Max("posts__views").alias("top")])
            .await?;
        let out = json(&authors[0]);
        assert!(
            out.starts_with(&format!(
                r#"{{"id":{},"name":"ada","email":null,"joined":"#,
                ada.id
            )),
            "{out}"
        );
        assert!(out.ends_with(r#","posts__count":2,"top":7}"#), "{out}");

        let rows = JsonPost::all()
            .order_by(["title"])
            .values(["title", "author", "published_on"])
            .await?;
        assert_eq!(
            json(&rows),
            format!(
                concat!(
                    r#"[{{"title":"Empty","author":{a},"published_on":null}},"#,
                    r#"{{"title":"Rust","author":{a},"published_on":"2024-05-01"}}]"#
                ),
                a = ada.id
            )
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn round_trip_save_serialize_deserialize_save() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, rust, _) = sample().await?;
        let stored = JsonPost::filter(q!(id = rust.id))
            .select_related(["author"])
            .prefetch_related(["tags"])
            .first()
            .await?
            .expect("the post");
        let body = json(&stored);
        // The nested author and the tag list come back as a key and an
        // unloaded field.
        let mut back: JsonPost = from_json(&body)?;
        assert_eq!((back.id, *back.author.key()), (rust.id, ada.id));
        assert!(!back.author.is_loaded() && !back.tags.is_loaded());
        assert_eq!(back.published_on, rust.published_on);
        back.views = 8;
        back.save().await?;
        let again = JsonPost::get(q!(id = rust.id)).await?;
        assert_eq!((again.title.as_str(), again.views), ("Rust", 8));
        assert_eq!(JsonPost::all().count().await?, 2, "updated, not inserted");
        assert_eq!(rust.tags().all().count().await?, 2, "links untouched");

        // A body without a key is a new row.
        let mut new: JsonPost = from_json(&format!(
            r#"{{"author": {}, "title": "New", "views": 1, "published_on": null, "tags": [1, 2]}}"#,
            ada.id
        ))?;
        new.save().await?;
        assert!(new.id > 0);
        let saved = JsonPost::get(q!(title = "New")).await?;
        assert_eq!(json(&saved), json(&new));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_body_with_three_invalid_fields_reports_all_three() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, _, _) = sample().await?;
        let body = format!(
            r#"{{"author": {}, "title": "{}", "views": -1, "published_on": "May 1st"}}"#,
            ada.id,
            "x".repeat(41)
        );
        assert_eq!(
            field_errors(from_json::<JsonPost>(&body)),
            [
                (
                    "published_on",
                    "input contains invalid characters".to_owned()
                ),
                (
                    "title",
                    "at most 40 characters allowed (max_length), it has 41".to_owned()
                ),
                ("views", "must not be negative".to_owned()),
            ]
        );
        // save() checks the same rules, also all at once.
        let err = JsonPost::create(JsonPost {
            author: ForeignKey::to(&ada)?,
            title: " ".into(),
            views: -5,
            ..Default::default()
        })
        .await
        .unwrap_err();
        let Error::Validation(e) = &err else {
            panic!("{err}")
        };
        assert_eq!(e.fields(), ["title", "views"]);
        assert_eq!(JsonPost::all().count().await?, 2, "nothing written");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn hostile_bodies_are_errors_never_panics() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (ada, _, _) = sample().await?;
        let a = ada.id;
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("".into(), vec!["__all__"]),
            ("\"a post\"".into(), vec!["__all__"]),
            ("{}".into(), vec!["author", "title", "views"]),
            (
                format!(r#"{{"author": {a}, "title": "{}", "views": 1, "published_on": null}}"#, "é".repeat(100_000)),
                vec!["title"],
            ),
            (
                format!(r#"{{"author": {a}, "title": "a\u0000b", "views": 1, "published_on": null}}"#),
                vec!["title"],
            ),
            (
                r#"{"author": "1; DROP TABLE json_posts", "title": ["x"], "views": 1e400, "published_on": 5}"#.into(),
                vec!["__all__"],
            ),
            (
                r#"{"author": -1.5, "title": {"a": 1}, "views": "7", "published_on": true, "id": "x", "evil": "\u0000"}"#.into(),
                vec!["author", "id", "published_on", "title", "views"],
            ),
        ];
        for (body, fields) in cases {
            let errors = field_errors(from_json::<JsonPost>(&body));
            let named: Vec<&str> = errors.iter().map(|e| e.0).collect();
            assert_eq!(named, fields, "{errors:?}");
            assert!(errors.iter().all(|e| !e.1.is_empty()));
        }
        // A key to no row passes from_json (it is a well-formed key) and
        // is refused by the database on save, naming the constraint.
        let mut dangling: JsonPost = from_json(
            r#"{"author": 999999, "title": "x", "views": 1, "published_on": null}"#,
        )?;
        let err = dangling.save().await.unwrap_err();
        assert!(err.is_integrity(IntegrityKind::ForeignKey), "{err}");
        assert_eq!(JsonPost::all().count().await?, 2, "nothing written");
        Ok(())
    })
    .await
}
