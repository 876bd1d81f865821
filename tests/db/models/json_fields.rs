//! A model with JSON fields (Django's `JSONField`), for
//! `tests/db/json_fields.rs`.

use orm_core::prelude::*;
use serde_json::json;

/// Django's "Querying JSONField" `Dog`: a non-null `data` and a nullable
/// `extra` (SQL NULL and JSON `null` apart).
#[derive(Model, Debug, Clone, Default, PartialEq)]
#[orm(table = "jf_dogs")]
pub(crate) struct Dog {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub data: serde_json::Value,
    pub extra: Option<serde_json::Value>,
}

/// The rows: Django's documentation examples (Rufus, Meg) with nested
/// objects, an array in an object, a JSON `null` at a key, numbers and
/// strings that look alike (`5` and `"5"`), a top-level array, SQL NULL
/// and JSON `null` in `extra`.
pub(crate) async fn dogs() -> Result<Vec<Dog>> {
    let rows = [
        (
            "Rufus",
            json!({"breed": "labrador", "owner": {"name": "Bob", "other_pets": [{"name": "Fishy"}]}}),
            None,
        ),
        (
            "Meg",
            json!({"breed": "collie", "owner": null}),
            Some(json!(null)),
        ),
        (
            "Fido",
            json!({"breed": "pug", "n": 5, "tags": ["good", "small"]}),
            Some(json!({"a": 1})),
        ),
        (
            "Rex",
            json!({"breed": "Pug", "n": "5", "tags": ["bad"]}),
            Some(json!({"a": 1, "b": 2})),
        ),
        ("Ace", json!({"n": 10, "flag": true}), None),
        ("Arr", json!([1, "x"]), None),
    ];
    let mut out = Vec::new();
    for (name, data, extra) in rows {
        out.push(
            Dog::create(Dog {
                name: name.to_owned(),
                data,
                extra,
                ..Default::default()
            })
            .await?,
        );
    }
    Ok(out)
}
