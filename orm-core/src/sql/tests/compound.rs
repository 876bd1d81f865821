//! The SQL of `union`, `union_all`, `intersection` and `difference`: each
//! part in parentheses with its own clauses, the combined rows ordered by
//! output column, parts that match nothing left out as Django does.

use super::*;
use crate::sql::Key;

fn sql(qs: QuerySet<User>) -> Option<Statement> {
    qs.sql().expect("renders")
}

fn part(cond: &str) -> String {
    format!(r#"(SELECT {COLS} FROM "users" WHERE {cond})"#)
}

#[test]
fn each_part_keeps_its_clauses_and_the_whole_is_ordered_by_output_columns() {
    let top = User::all().order_by(["-karma"]).limit(3);
    let named = User::filter(q!(name__startswith = "A"));
    let stmt = sql(top
        .union(named)
        .order_by(["name", "-id"])
        .limit(10)
        .offset(5))
    .unwrap();
    assert_eq!(
        stmt.sql,
        format!(
            r#"(SELECT {COLS} FROM "users" ORDER BY "users"."karma" DESC LIMIT 3) UNION {} ORDER BY "name" ASC, "id" DESC LIMIT 10 OFFSET $2"#,
            part(r#""users"."name" LIKE $1"#)
        )
    );
    assert_eq!(stmt.binds, vec![text("A%"), Value::I64(Some(5))]);
}

#[test]
fn every_operator_and_nesting() {
    let a = || User::filter(q!(karma__gt = 1));
    let b = || User::filter(q!(karma__lt = 9));
    let (pa, pb) = (
        part(r#""users"."karma" > $1"#),
        part(r#""users"."karma" < $2"#),
    );
    for (qs, op) in [
        (a().union(b()), "UNION"),
        (a().union_all(b()), "UNION ALL"),
        (a().intersection(b()), "INTERSECT"),
        (a().difference(b()), "EXCEPT"),
    ] {
        let stmt = sql(qs).unwrap();
        assert_eq!(stmt.sql, format!("{pa} {op} {pb}"));
        assert_eq!(stmt.binds, vec![Value::I32(Some(1)), Value::I32(Some(9))]);
    }
    // (a ∪ b) ∩ c: the inner combination is one parenthesized part.
    let c = User::filter(q!(name = "c"));
    let stmt = sql(a().union(b()).intersection(c)).unwrap();
    assert_eq!(
        stmt.sql,
        format!(
            "({pa} UNION {pb}) INTERSECT {}",
            part(r#""users"."name" = $3"#)
        )
    );
}

#[test]
fn parts_that_match_nothing_are_left_out_as_django_does() {
    let a = || User::filter(q!(karma__gt = 1));
    let none = || User::filter(q!(id__in = Vec::<i64>::new()));
    let pa = part(r#""users"."karma" > $1"#);
    // union: the empty part is dropped; nothing left: no query.
    assert_eq!(sql(a().union(none())).unwrap().sql, pa);
    assert_eq!(sql(none().union(a())).unwrap().sql, pa);
    assert_eq!(sql(none().union(none())), None);
    assert_eq!(sql(a().union(User::all().limit(0))).unwrap().sql, pa);
    // difference: an empty first part empties it, a later one is dropped.
    assert_eq!(sql(none().difference(a())), None);
    assert_eq!(sql(a().difference(none())).unwrap().sql, pa);
    // intersection: any empty part empties it.
    assert_eq!(sql(a().intersection(none())), None);
    assert_eq!(sql(none().intersection(a())), None);
    // A combined query with limit 0 sends nothing either.
    assert_eq!(sql(a().union(a()).limit(0)), None);
}

#[test]
fn count_exists_first_and_last_wrap_or_order_the_combination() {
    let a = || User::filter(q!(karma__gt = 1));
    let b = || User::filter(q!(karma__lt = 9));
    let inner = format!(
        "{} UNION {}",
        part(r#""users"."karma" > $1"#),
        part(r#""users"."karma" < $2"#)
    );
    let count = a().union(b()).count_or_exists(false).unwrap().unwrap();
    assert_eq!(
        count.sql,
        format!(r#"SELECT COUNT(*) FROM ({inner}) AS "subquery""#)
    );
    let exists = a().union(b()).count_or_exists(true).unwrap().unwrap();
    assert_eq!(
        exists.sql,
        format!(r#"SELECT 1 FROM ({inner}) AS "subquery" LIMIT 1"#)
    );
    assert_eq!(
        sql(a().union(b()).first_query()).unwrap().sql,
        format!(r#"{inner} ORDER BY "id" ASC LIMIT 1"#)
    );
    assert_eq!(
        sql(a().union(b()).order_by(["karma"]).reverse())
            .unwrap()
            .sql,
        format!(r#"{inner} ORDER BY "karma" DESC"#)
    );
}

#[test]
fn what_django_refuses_after_combining_is_an_error_not_a_wrong_query() {
    let u = || User::filter(q!(karma__gt = 1)).union(User::filter(q!(karma__lt = 9)));
    let message = |r: crate::Result<Option<Statement>>| r.unwrap_err().to_string();
    let filtered = message(u().filter(q!(name = "x")).sql());
    assert!(
        filtered.contains("filter() or exclude() after union()"),
        "{filtered}"
    );
    assert!(message(u().distinct().sql()).contains("distinct() after union()"));
    assert!(message(u().select_related(["x"]).sql()).contains("select_related() after union()"));
    // Paths that do not know combined queries (update, delete, values,
    // aggregate) report it instead of running on every row.
    let mut update = u();
    let err = update.update_bound(q!(karma = 0)).unwrap_err().to_string();
    assert!(err.contains("only order_by, reverse"), "{err}");
    let mut delete = u();
    assert!(delete.delete_bound().is_err());
    let mut plan =
        crate::query::paths::PathPlan::new(User::META, &[], crate::query::paths::Reach::Own);
    let pk = [crate::sql::joins::ColumnRef::root(User::META.pk_field())];
    assert!(u().select_columns(&mut plan, &pk).is_err());
    // Ordering by an unknown field names the model and its fields.
    let err = message(u().order_by(["nope"]).sql());
    assert!(err.contains("User has no field `nope`"), "{err}");
    // A part with select_related cannot be combined (its columns differ).
    let err = message(User::all().select_related(["x"]).union(User::all()).sql());
    assert!(
        err.contains("select_related() in a part of union()"),
        "{err}"
    );
}

#[test]
fn a_combined_query_is_kept_by_its_key_like_any_other() {
    let q = |n: i32| User::filter(q!(karma__gt = n)).union(User::filter(q!(karma__lt = n)));
    let key = |qs: QuerySet<User>| {
        let mut w = crate::sql::SqlWriter::key_only();
        qs.write_combined(&mut w).unwrap().unwrap();
        w.finish_key().0
    };
    let (k1, k2): (Option<Key>, Option<Key>) = (key(q(1)), key(q(2)));
    assert!(k1.is_some());
    assert_eq!(k1, k2);
    assert_ne!(k1, key(q(1).order_by(["name"])));
    assert_ne!(
        key(q(1)),
        key(User::filter(q!(karma__gt = 1)).union_all(User::filter(q!(karma__lt = 1))))
    );
}
