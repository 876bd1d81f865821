//! Strings: quotes, LIKE wildcards, backslashes, Unicode, long text, varchar lengths in characters.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::types::AllTypes;

/// Strings that break naive quoting or LIKE escaping.
const TRICKY: &[&str] = &[
    "100%",
    "a_b",
    r"back\slash",
    r"\",
    r"\\",
    "%",
    "_",
    "it's",
    "''",
    "say \"hi\"",
    "ü",
    "中文",
    "emoji 😀",
    "",
    " leading and trailing ",
    "line\nbreak\ttab",
    "$1",
    "'); DROP TABLE types_all; --",
];

#[tokio::test]
async fn tricky_strings_round_trip_and_match_exactly() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let mut ids = Vec::new();
        for s in TRICKY {
            let obj = AllTypes::create(AllTypes {
                text: (*s).into(),
                short: (*s).into(),
                ..Default::default()
            })
            .await?;
            assert_eq!(obj.text, *s);
            assert_eq!(obj.short, *s);
            ids.push(obj.id);
        }
        for (s, id) in TRICKY.iter().zip(&ids) {
            let fetched = AllTypes::get(q!(id = *id)).await?;
            assert_eq!((fetched.text.as_str(), fetched.short.as_str()), (*s, *s));
            // Exact filters on both columns find exactly this row.
            let by_text = AllTypes::filter(q!(text = *s)).await?;
            assert_eq!(
                by_text.iter().map(|o| o.id).collect::<Vec<_>>(),
                [*id],
                "{s:?}"
            );
            let by_short = AllTypes::filter(q!(short = *s)).await?;
            assert_eq!(
                by_short.iter().map(|o| o.id).collect::<Vec<_>>(),
                [*id],
                "{s:?}"
            );
        }
        // `in` on varchar and on text.
        let picked = AllTypes::filter(q!(short__in = ["%", "_", r"\"]))
            .order_by(["id"])
            .await?;
        assert_eq!(
            picked.iter().map(|o| o.short.as_str()).collect::<Vec<_>>(),
            [r"\", "%", "_"]
        );
        let picked = AllTypes::filter(q!(text__in = ["", "it's", "emoji 😀"]))
            .order_by(["id"])
            .await?;
        assert_eq!(
            picked.iter().map(|o| o.text.as_str()).collect::<Vec<_>>(),
            ["it's", "emoji 😀", ""]
        );
        // The injection attempt was stored as data, the table is intact.
        assert_eq!(AllTypes::all().count().await?, TRICKY.len() as i64);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn long_strings_and_varchar_length_in_characters() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let long: String = "abc😀ü中\\%_'".repeat(50_000);
        // varchar(40) counts characters, not bytes: 40 emoji (160 bytes) fit.
        let forty = "😀".repeat(40);
        let obj = AllTypes::create(AllTypes {
            text: long.clone(),
            short: forty.clone(),
            ..Default::default()
        })
        .await?;
        let fetched = AllTypes::get(q!(id = obj.id)).await?;
        assert_eq!(fetched.text.len(), long.len());
        assert_eq!(fetched.text, long);
        assert_eq!(fetched.short, forty);
        assert_eq!(AllTypes::filter(q!(text = &long)).count().await?, 1);

        let err = AllTypes::create(AllTypes {
            short: "😀".repeat(41),
            ..Default::default()
        })
        .await
        .unwrap_err();
        // max_length is checked before sending, in characters as varchar counts.
        match &err {
            Error::Validation(e) => {
                assert_eq!(e.field, "short");
                assert!(e.message.contains("it has 41"), "{err}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(AllTypes::all().count().await?, 1);
        Ok(())
    })
    .await
}
