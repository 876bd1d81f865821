use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

use crate::value::Value;

/// A rendered statement: SQL text with `$n` placeholders and the values
/// bound to them.
///
/// Its `Display` form is the SQL followed by `-- binds: [..]`, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text.
    pub sql: String,
    /// The values of `$1`, `$2`, ...
    pub binds: Vec<Value>,
}

/// A statement as it is sent: its text (kept for its query shape, or
/// just rendered) and its values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bound {
    pub sql: Cow<'static, str>,
    pub binds: Binds,
}

/// A [`Bound`] statement's values: up to two without allocating (a get or
/// a filter by one value, an update of one field by key).
pub(crate) type Binds = SmallVec<[Value; 2]>;

impl From<Statement> for Bound {
    fn from(stmt: Statement) -> Self {
        Bound {
            sql: Cow::Owned(stmt.sql),
            binds: Binds::from_vec(stmt.binds),
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)?;
        f.write_str(" -- binds: [")?;
        for (i, v) in self.binds.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v}")?;
        }
        f.write_str("]")
    }
}

/// Builds a [`Statement`]. Identifiers only enter the text through
/// [`push_ident`](SqlWriter::push_ident), values only through
/// [`push_bind`](SqlWriter::push_bind).
#[derive(Debug, Default)]
pub(crate) struct SqlWriter {
    sql: String,
    binds: Vec<Value>,
}

impl SqlWriter {
    pub(crate) fn new() -> Self {
        SqlWriter {
            sql: String::with_capacity(256),
            binds: Vec::new(),
        }
    }

    /// Appends a non-negative integer literal (e.g. a `LIMIT`).
    pub(crate) fn push_int(&mut self, n: i64) {
        if n < 0 {
            self.sql.push('-');
        }
        self.push_digits(n.unsigned_abs());
    }

    /// Appends the decimal digits of `n` (without `fmt`, which costs more
    /// than the rest of a short statement's rendering).
    fn push_digits(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            self.sql.push(char::from(d));
        }
    }

    /// Appends SQL keywords and punctuation (never user input).
    pub(crate) fn push_sql(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// Appends a double-quoted identifier; `"` inside it is doubled.
    pub(crate) fn push_ident(&mut self, ident: &str) {
        self.sql.push('"');
        if !ident.contains('"') {
            self.sql.push_str(ident);
            self.sql.push('"');
            return;
        }
        for c in ident.chars() {
            if c == '"' {
                self.sql.push('"');
            }
            self.sql.push(c);
        }
        self.sql.push('"');
    }

    /// Appends `"table"."column"`.
    pub(crate) fn push_column(&mut self, table: &str, column: &str) {
        self.push_ident(table);
        self.sql.push('.');
        self.push_ident(column);
    }

    /// Appends the next placeholder (`$n`) and records its value.
    pub(crate) fn push_bind(&mut self, value: Value) {
        self.binds.push(value);
        self.push_placeholder(self.binds.len());
    }

    /// Appends `$n` for a parameter the caller binds itself.
    pub(crate) fn push_placeholder(&mut self, n: usize) {
        self.sql.push('$');
        self.push_digits(n as u64);
    }

    /// Appends `items`, separated by `sep`, each written by `each`.
    pub(crate) fn push_list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        sep: &str,
        mut each: impl FnMut(&mut Self, T),
    ) {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            each(self, item);
        }
    }

    pub(crate) fn finish(self) -> Statement {
        Statement {
            sql: self.sql,
            binds: self.binds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_placeholders_are_written_in_decimal() {
        let mut w = SqlWriter::new();
        for n in [0, 7, 10, 12345, -7, i64::MAX, i64::MIN] {
            w.push_int(n);
            w.push_sql(" ");
        }
        w.push_placeholder(1);
        w.push_placeholder(10);
        assert_eq!(
            w.finish().sql,
            "0 7 10 12345 -7 9223372036854775807 -9223372036854775808 $1$10"
        );
    }

    #[test]
    fn identifiers_are_quoted_and_escaped() {
        let mut w = SqlWriter::new();
        w.push_ident("we\"ird");
        w.push_sql(" ");
        w.push_column("t", "c");
        assert_eq!(w.finish().sql, r#""we""ird" "t"."c""#);
    }

    #[test]
    fn binds_number_in_order() {
        let mut w = SqlWriter::new();
        w.push_bind(Value::I32(Some(1)));
        w.push_sql(", ");
        w.push_bind(Value::Text(None));
        let s = w.finish();
        assert_eq!(s.sql, "$1, $2");
        assert_eq!(s.to_string(), "$1, $2 -- binds: [1, NULL]");
    }
}
