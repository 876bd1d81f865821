//! The statements of `iterator(chunk_size)`'s server-side cursor.

use super::*;
use crate::sql::cursor;

#[test]
fn the_cursor_wraps_the_rendered_select_and_keeps_its_parameters() {
    let select = select(User::filter(q!(karma__gt = 3)).order_by(["id"]));
    assert_eq!(
        cursor::declare("orm_iterator_7", &select.sql),
        format!(
            r#"DECLARE "orm_iterator_7" NO SCROLL CURSOR FOR SELECT {COLS} FROM "users" WHERE "users"."karma" > $1 ORDER BY "users"."id" ASC"#
        )
    );
    assert_eq!(select.binds, vec![Value::I32(Some(3))]);
    assert_eq!(
        cursor::fetch("orm_iterator_7", 2000),
        r#"FETCH FORWARD 2000 FROM "orm_iterator_7""#
    );
    assert_eq!(cursor::close("a\"b"), r#"CLOSE "a""b""#);
}
