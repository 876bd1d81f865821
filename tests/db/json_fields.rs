//! JSON fields (Django's `JSONField`) against a real server: key, index
//! and path transforms, `has_key` / `has_keys` / `has_any_keys`,
//! `contains` / `contained_by`, JSON `null` against SQL NULL against a
//! missing key, `5` against `"5"`; the typed handle, `q!` and
//! `Lookup::parse` agree; hostile keys.
//!
//! Expected rows are what Django returns for the same data on PostgreSQL:
//! the examples of Django's "Querying JSONField" documentation where it
//! has one (`data__breed="collie"` is Meg, `data__owner__name="Bob"` and
//! `data__owner__other_pets__0__name="Fishy"` Rufus, `data__owner=None`
//! Meg, `data__owner__isnull=True` the dogs without an owner key,
//! `data=None` the JSON null and `data__isnull=True` SQL NULL), else worked
//! out from the SQL Django writes (`->`, `#>`, `->>`, `?`, `@>`, jsonb
//! comparison of JSON-encoded values) and PostgreSQL's `jsonb` semantics:
//! strings sort before numbers, numbers before booleans; an array
//! contains a primitive it holds; `?` also finds a string element of a
//! top-level array.

use orm_core::prelude::*;
use serde_json::json;

use crate::common::setup;
use crate::models::json_fields::{dogs, Dog};

/// The names of the matching dogs, sorted.
async fn names(q: impl IntoQ<Dog>) -> Result<Vec<String>> {
    let mut names: Vec<String> = Dog::filter(q).await?.into_iter().map(|d| d.name).collect();
    names.sort();
    Ok(names)
}

/// The names `Lookup::parse(key, value)` matches.
async fn parsed(key: &str, value: &str) -> Result<Vec<String>> {
    names(Lookup::parse::<Dog>(key, value)?).await
}

#[tokio::test]
async fn round_trip_keeps_json_null_apart_from_sql_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let made = dogs().await?;
        let read = Dog::all().order_by(["id"]).await?;
        assert_eq!(read, made);
        assert_eq!(read[0].extra, None);
        assert_eq!(read[1].extra, Some(json!(null)));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn key_and_path_transforms() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        dogs().await?;
        let f = Dog::fields();
        // Django's documentation examples.
        assert_eq!(names(q!(data__breed = "collie")).await?, ["Meg"]);
        assert_eq!(names(f.data.key("breed").eq("collie")).await?, ["Meg"]);
        assert_eq!(parsed("data__breed", "collie").await?, ["Meg"]);
        assert_eq!(names(q!(data__owner__name = "Bob")).await?, ["Rufus"]);
        assert_eq!(
            names(q!(data__owner__other_pets__0__name = "Fishy")).await?,
            ["Rufus"]
        );
        assert_eq!(
            names(
                f.data
                    .key("owner")
                    .key("other_pets")
                    .key(0)
                    .key("name")
                    .eq("Fishy")
            )
            .await?,
            ["Rufus"]
        );
        assert_eq!(
            parsed("data__owner__other_pets__0__name", "Fishy").await?,
            ["Rufus"]
        );
        // An index at the top: the first element of a top-level array.
        assert_eq!(names(q!(data__0 = 1)).await?, ["Arr"]);
        assert_eq!(names(q!(data__tags__0 = "good")).await?, ["Fido"]);
        assert_eq!(
            names(f.data.key("tags").key(-1).eq("small")).await?,
            ["Fido"]
        );
        // `5` and `"5"` are different JSON values.
        assert_eq!(names(q!(data__n = 5)).await?, ["Fido"]);
        assert_eq!(names(q!(data__n = "5")).await?, ["Rex"]);
        assert_eq!(parsed("data__n", "5").await?, ["Fido"]);
        assert_eq!(parsed("data__n", "\"5\"").await?, ["Rex"]);
        // A whole object at a key.
        assert_eq!(
            names(q!(
                data__owner = json!({"name": "Bob", "other_pets": [{"name": "Fishy"}]})
            ))
            .await?,
            ["Rufus"]
        );
        // `in` compares JSON values.
        assert_eq!(
            names(q!(data__breed__in = ["collie", "pug"])).await?,
            ["Fido", "Meg"]
        );
        assert_eq!(
            parsed("data__breed__in", "collie,pug").await?,
            ["Fido", "Meg"]
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn null_at_a_key_missing_key_and_sql_null() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        dogs().await?;
        // Django: `data__owner=None` is Meg, whose owner is JSON null.
        assert_eq!(names(q!(data__owner = None)).await?, ["Meg"]);
        assert_eq!(parsed("data__owner", "null").await?, ["Meg"]);
        // `isnull=True`: no `owner` key (a top-level array has none).
        assert_eq!(
            names(q!(data__owner__isnull = true)).await?,
            ["Ace", "Arr", "Fido", "Rex"]
        );
        assert_eq!(
            names(q!(data__owner__isnull = false)).await?,
            ["Meg", "Rufus"]
        );
        // On the field: `None` is JSON null, `isnull` SQL NULL.
        assert_eq!(names(q!(extra = None)).await?, ["Meg"]);
        assert_eq!(parsed("extra", "null").await?, ["Meg"]);
        assert_eq!(
            names(q!(extra__isnull = true)).await?,
            ["Ace", "Arr", "Rufus"]
        );
        assert_eq!(
            names(q!(extra__isnull = false)).await?,
            ["Fido", "Meg", "Rex"]
        );
        // `exclude` keeps the rows without the key out, as Django's
        // `NOT (... AND col IS NOT NULL)` does only for a nullable column:
        // `data` is NOT NULL, so a missing key (NULL) is excluded too.
        let mut kept: Vec<String> = Dog::exclude(q!(data__breed = "pug"))
            .await?
            .into_iter()
            .map(|d| d.name)
            .collect();
        kept.sort();
        assert_eq!(kept, ["Meg", "Rex", "Rufus"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn text_lookups_and_jsonb_order() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        dogs().await?;
        let f = Dog::fields();
        assert_eq!(
            names(q!(data__breed__iexact = "PUG")).await?,
            ["Fido", "Rex"]
        );
        assert_eq!(names(q!(data__breed__icontains = "LAB")).await?, ["Rufus"]);
        assert_eq!(
            names(f.data.key("breed").icontains("lab")).await?,
            ["Rufus"]
        );
        assert_eq!(parsed("data__breed__icontains", "lab").await?, ["Rufus"]);
        assert_eq!(names(q!(data__breed__startswith = "P")).await?, ["Rex"]);
        assert_eq!(
            names(q!(data__breed__istartswith = "p")).await?,
            ["Fido", "Rex"]
        );
        assert_eq!(names(q!(data__breed__endswith = "ie")).await?, ["Meg"]);
        assert_eq!(names(q!(data__breed__regex = "^[a-c]")).await?, ["Meg"]);
        assert_eq!(
            names(q!(data__owner__name__iregex = "^b")).await?,
            ["Rufus"]
        );
        // The text form of a number is its digits (`->>`).
        assert_eq!(names(q!(data__n__startswith = "1")).await?, ["Ace"]);
        // jsonb order: `"5"` (a string) sorts before every number, `true`
        // after them.
        assert_eq!(names(q!(data__n__gt = 5)).await?, ["Ace"]);
        assert_eq!(names(q!(data__n__lt = 5)).await?, ["Rex"]);
        assert_eq!(names(q!(data__n__gte = 5)).await?, ["Ace", "Fido"]);
        assert_eq!(parsed("data__n__lte", "5").await?, ["Fido", "Rex"]);
        assert_eq!(names(q!(data__flag__gt = 100)).await?, ["Ace"]);
        assert_eq!(names(f.data.key("n").range((1, 9))).await?, ["Fido"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn has_key_and_containment() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        dogs().await?;
        let f = Dog::fields();
        assert_eq!(names(q!(data__has_key = "owner")).await?, ["Meg", "Rufus"]);
        assert_eq!(names(f.data.has_key("owner")).await?, ["Meg", "Rufus"]);
        assert_eq!(parsed("data__has_key", "owner").await?, ["Meg", "Rufus"]);
        // `?` also finds a string element of a top-level array.
        assert_eq!(names(q!(data__has_key = "x")).await?, ["Arr"]);
        assert_eq!(
            names(q!(data__has_keys = ["breed", "n"])).await?,
            ["Fido", "Rex"]
        );
        assert_eq!(parsed("data__has_keys", "breed,n").await?, ["Fido", "Rex"]);
        assert_eq!(
            names(q!(data__has_any_keys = ["owner", "flag"])).await?,
            ["Ace", "Meg", "Rufus"]
        );
        assert_eq!(names(q!(data__owner__has_key = "name")).await?, ["Rufus"]);
        assert_eq!(names(f.data.key("owner").has_key("name")).await?, ["Rufus"]);
        // Containment of JSON (Django's `contains` on a JSONField).
        assert_eq!(
            names(q!(data__contains = json!({"breed": "pug"}))).await?,
            ["Fido"]
        );
        assert_eq!(
            parsed("data__contains", r#"{"tags": ["bad"]}"#).await?,
            ["Rex"]
        );
        // After a key too: an array contains a primitive it holds.
        assert_eq!(names(q!(data__tags__contains = "good")).await?, ["Fido"]);
        assert_eq!(
            names(q!(
                data__tags__contained_by = json!(["good", "small", "big"])
            ))
            .await?,
            ["Fido"]
        );
        assert_eq!(
            names(q!(extra__contained_by = json!({"a": 1, "b": 2}))).await?,
            ["Fido", "Rex"]
        );
        assert_eq!(names(f.extra.contains(json!({"b": 2}))).await?, ["Rex"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn hostile_keys_are_data() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        dogs().await?;
        let keys = [
            "it's",
            "a}b",
            "a,b",
            r"back\slash",
            "\"q\"",
            "ключ",
            "😀",
            "{x,y}",
            "-1",
        ];
        let mut data = serde_json::Map::new();
        for (i, key) in keys.iter().enumerate() {
            data.insert((*key).to_owned(), json!({ "v": i }));
        }
        Dog::create(Dog {
            name: "Hostile".to_owned(),
            data: serde_json::Value::Object(data),
            ..Default::default()
        })
        .await?;
        let f = Dog::fields();
        for (i, key) in keys.iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            assert_eq!(names(f.data.has_key(*key)).await?, ["Hostile"], "{key}");
            assert_eq!(
                names(f.data.key(*key).key("v").eq(i)).await?,
                ["Hostile"],
                "{key}"
            );
            assert_eq!(
                names(f.data.key(*key).has_key("v")).await?,
                ["Hostile"],
                "{key}"
            );
            assert_eq!(parsed("data__has_key", key).await?, ["Hostile"], "{key}");
            // From a query string. In a path of several names an index is
            // sent as its digits (`#> '{-1,v}'`, as Django does), which
            // PostgreSQL reads as a key on an object: `-1` finds the key.
            let found = parsed(&format!("data__{key}__v"), &i.to_string()).await?;
            assert_eq!(found, ["Hostile"], "{key}");
            // Alone, `-1` is an index (`-> -1`), as in Django: no object
            // has one.
            if *key == "-1" {
                assert!(parsed("data__-1", r#"{"v": 8}"#).await?.is_empty());
            }
        }
        // A NUL in a key: a clear error, nothing sent.
        let err = Dog::filter(f.data.key("a\0b").eq(1)).await.unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = Lookup::parse::<Dog>("data__a\0b", "1").unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = Dog::filter(f.data.has_key("a\0b")).await.unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        // A 10,000-name path from a query string: refused, bounded.
        let huge = format!("data{}", "__k".repeat(10_000));
        let err = Lookup::parse::<Dog>(&huge, "1").unwrap_err();
        assert!(err.to_string().len() < 2_000, "{err}");
        let long = format!("data{}", "__k".repeat(40));
        let err = Lookup::parse::<Dog>(&long, "1").unwrap_err();
        assert!(err.to_string().contains("more than 32 keys"), "{err}");
        // A JSON NUL (`\u0000`) in a value: PostgreSQL refuses it; an
        // error, not a panic.
        assert!(names(f.data.key("k").eq("a\0b")).await.is_err());
        // The table is unharmed.
        assert_eq!(Dog::all().count().await?, 7);
        Ok(())
    })
    .await
}
