//! The statements of keyset pages (`keyset_page`, `keyset_last_page`):
//! the row's sort key as bound parameters, the first term's bound alone
//! as well so that an index on it starts the scan there.

use super::*;

fn user(id: i64, karma: i32, name: &str) -> User {
    User {
        id,
        karma,
        name: name.to_owned(),
        ..Default::default()
    }
}

#[test]
fn next_page_of_a_descending_ordering_with_the_key_as_tie_breaker() {
    let qs = User::all().order_by(["-karma"]);
    let cursor = qs
        .keyset_cursor(&user(7, 3, "u"), true)
        .expect("an ordering a cursor follows")
        .expect("a cursor");
    let stmt = select(qs.keyset_query(10, Some(&cursor)).expect("a query"));
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {COLS} FROM "users" WHERE "users"."karma" <= $1 AND ("users"."karma" < $2 OR ("users"."karma" = $3 AND "users"."id" > $4)) ORDER BY "users"."karma" DESC, "users"."id" ASC LIMIT 11"#
        )
    );
    assert_eq!(
        stmt.binds,
        vec![
            Value::I32(Some(3)),
            Value::I32(Some(3)),
            Value::I32(Some(3)),
            Value::I64(Some(7)),
        ]
    );
}

#[test]
fn previous_page_reads_backwards_and_last_page_reverses_the_ordering() {
    let qs = User::all().order_by(["name"]);
    let cursor = qs
        .keyset_cursor(&user(2, 0, "x'); DROP TABLE users; --"), false)
        .expect("an ordering a cursor follows")
        .expect("a cursor");
    let stmt = select(qs.clone().keyset_query(5, Some(&cursor)).expect("a query"));
    assert_eq!(
        stmt.sql,
        format!(
            r#"SELECT {COLS} FROM "users" WHERE "users"."name" <= $1 AND ("users"."name" < $2 OR ("users"."name" = $3 AND "users"."id" < $4)) ORDER BY "users"."name" DESC, "users"."id" DESC LIMIT 6"#
        )
    );
    let text = Value::Text(Some("x'); DROP TABLE users; --".to_owned()));
    assert_eq!(
        stmt.binds,
        vec![text.clone(), text.clone(), text, Value::I64(Some(2))]
    );
    // The last page: no condition, the ordering reversed.
    let last = select(qs.keyset_query(5, None).expect("a query"));
    assert_eq!(
        last.sql,
        format!(
            r#"SELECT {COLS} FROM "users" ORDER BY "users"."name" DESC, "users"."id" DESC LIMIT 6"#
        )
    );
    assert!(last.binds.is_empty());
}

#[test]
fn a_nullable_ordering_has_no_cursor() {
    let qs = User::all().order_by(["email"]);
    let err = qs.keyset_cursor(&user(1, 0, "a"), true).unwrap_err();
    assert!(err.to_string().contains("may be NULL"), "{err}");
}
