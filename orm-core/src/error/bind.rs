//! A value that could not be bound to a parameter, naming the parameter,
//! both types and where it is in the statement.

use std::fmt;

use tokio_postgres::types::Type;

use super::*;

/// A value that could not be bound to a statement's parameter
/// ([`Error::Bind`]): the driver's error is its source.
#[derive(Debug)]
pub struct BindError {
    pub(super) index: usize,
    pub(super) expected: Option<Type>,
    pub(super) value_type: Option<&'static str>,
    pub(super) sql: String,
    pub(super) source: tokio_postgres::Error,
}

impl BindError {
    /// The parameter's number: `1` for `$1`.
    pub fn parameter(&self) -> usize {
        self.index + 1
    }

    /// The type PostgreSQL expects for the parameter (it infers it from
    /// the statement: `"a32" * $1` makes `$1` an `integer`).
    pub fn expected_type(&self) -> Option<&Type> {
        self.expected.as_ref()
    }

    /// The Rust type of the value, when the ORM knows it.
    pub fn value_type(&self) -> Option<&str> {
        self.value_type
    }

    /// The statement.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The text around the parameter: `"a32" * $1`.
    fn near(&self) -> Option<&str> {
        let at = find_param(&self.sql, self.parameter())?;
        let end = at + 1 + self.parameter().to_string().len();
        // Up to about 40 bytes before it, from the start of a word.
        let mut start = at.saturating_sub(40);
        while !self.sql.is_char_boundary(start) {
            start -= 1;
        }
        if start > 0 {
            if let Some(space) = self.sql[start..at].find(' ') {
                start += space + 1;
            }
        }
        Some(&self.sql[start..end])
    }
}

/// Where `$n` (not `$n0`, `$n1`..) is in `sql`.
pub(super) fn find_param(sql: &str, n: usize) -> Option<usize> {
    let token = format!("${n}");
    let mut from = 0;
    while let Some(found) = sql[from..].find(&token) {
        let at = from + found;
        let after = at + token.len();
        if !sql[after..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some(at);
        }
        from = after;
    }
    None
}

/// `integer (int4)` for the common types, else PostgreSQL's name.
fn sql_type(ty: &Type) -> String {
    let sql = match *ty {
        Type::BOOL => "boolean",
        Type::INT2 => "smallint",
        Type::INT4 => "integer",
        Type::INT8 => "bigint",
        Type::FLOAT4 => "real",
        Type::FLOAT8 => "double precision",
        Type::VARCHAR => "character varying",
        Type::TIMESTAMP => "timestamp without time zone",
        Type::TIMESTAMPTZ => "timestamp with time zone",
        _ => return ty.name().to_owned(),
    };
    format!("{sql} ({})", ty.name())
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot bind parameter ${}", self.parameter())?;
        if let Some(ty) = &self.expected {
            write!(f, ": PostgreSQL expects {}", sql_type(ty))?;
        }
        if let Some(value) = self.value_type {
            write!(f, ", the value is {value}")?;
        }
        write!(f, " ({})", reason(&self.source))?;
        if let Some(near) = self.near() {
            write!(f, ", at `{near}`")?;
        }
        write!(f, " in: {}", self.sql)
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
