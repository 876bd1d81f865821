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

/// A statement as it is sent: its text (kept for its key, or just
/// rendered) and its values.
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

/// Why a DDL text cannot be written: a name or string holds a NUL (no
/// PostgreSQL name or string can), or a keyword is not one PostgreSQL has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unwritable(pub String);

impl fmt::Display for Unwritable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds a [`Statement`]. Identifiers only enter the text through
/// [`push_ident`](SqlWriter::push_ident), values only through
/// [`push_bind`](SqlWriter::push_bind), or, in DDL (which takes no
/// parameters), through [`push_literal`](SqlWriter::push_literal).
///
/// A writer made with [`key_only`](SqlWriter::key_only) writes no text:
/// it records the statement's [`Key`] (every call, with what decides its
/// text) and its values. Walked through the one rendering code, a query
/// yields the key its kept text is found under and the values sent with
/// it in one pass; the text, when rendered, comes from the same calls, so
/// the three cannot disagree.
#[derive(Debug)]
pub(crate) struct SqlWriter {
    sql: String,
    binds: Binds,
    /// The first reason the text cannot be written, if any (see
    /// [`finish_text`](SqlWriter::finish_text)).
    unwritable: Option<String>,
    /// The key recorded so far, when [`recording`](Self::recording).
    key: Key,
    recording: Recording,
    /// Whether text is written (not for [`key_only`](SqlWriter::key_only)).
    text: bool,
}

impl Default for SqlWriter {
    fn default() -> Self {
        SqlWriter::new()
    }
}

/// The longest key recorded, in words; a statement with a longer one is
/// not kept (rendered every time). A plain get takes about 20 words, a
/// leaf on a model's own field about 8.
pub(crate) const KEY_WORDS: usize = 256;

/// What decides a statement's text, recorded as it is written: one tag
/// word per writer call (with the length of its text), then its argument.
/// A `&'static str` of SQL is recorded by address (with its tag and length
/// in the same word when they fit) (equal addresses and
/// lengths are equal texts: static memory never changes); every other
/// string by its bytes, eight to a word; an integer by its value; a bound
/// value by its tag only (its placeholder number follows from the order).
/// Two statements with equal keys therefore have equal texts, whatever
/// rendering code wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key(pub(crate) SmallVec<[u64; 32]>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recording {
    Off,
    On,
    /// Longer than [`KEY_WORDS`]: no key.
    Lost,
}

// Tags: the top byte of a call's first word.
const SQL: u64 = 1;
const TEXT: u64 = 2;
const IDENT: u64 = 3;
const QUALIFIER: u64 = 4;
const LITERAL: u64 = 5;
const VERBATIM: u64 = 6;
const DOLLAR: u64 = 7;
const INT: u64 = 8;
const BIND: u64 = 9;
const PLACEHOLDER: u64 = 10;
const SHORT_SQL: u64 = 11;

impl SqlWriter {
    /// A writer of text and values.
    pub(crate) fn new() -> Self {
        SqlWriter {
            sql: String::with_capacity(256),
            binds: Binds::new(),
            unwritable: None,
            key: Key(SmallVec::new()),
            recording: Recording::Off,
            text: true,
        }
    }

    /// A writer that records the [`Key`] and the values only: no text.
    pub(crate) fn key_only() -> Self {
        SqlWriter {
            sql: String::new(),
            binds: Binds::new(),
            unwritable: None,
            key: Key(SmallVec::new()),
            recording: Recording::On,
            text: false,
        }
    }

    /// Records one word of the key.
    #[inline]
    fn word(&mut self, word: u64) {
        if self.recording == Recording::On {
            if self.key.0.len() < KEY_WORDS {
                self.key.0.push(word);
            } else {
                self.recording = Recording::Lost;
            }
        }
    }

    /// Records a call with no argument but `n`.
    #[inline]
    fn record(&mut self, tag: u64, n: u64) {
        if self.recording == Recording::On {
            self.word(tag << 56);
            self.word(n);
        }
    }

    /// Records a call with a string argument, by its bytes.
    #[inline]
    fn record_bytes(&mut self, tag: u64, text: &str) {
        if self.recording != Recording::On {
            return;
        }
        let bytes = text.as_bytes();
        if bytes.len() >= 1 << 56 {
            self.recording = Recording::Lost;
            return;
        }
        self.word(tag << 56 | bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |word, &b| word << 8 | u64::from(b));
            self.word(word);
        }
    }

    #[inline]
    fn raw(&mut self, sql: &str) {
        if self.text {
            self.sql.push_str(sql);
        }
    }

    #[inline]
    fn raw_char(&mut self, c: char) {
        if self.text {
            self.sql.push(c);
        }
    }

    /// Records why the text cannot be written (the first reason is kept).
    pub(crate) fn reject(&mut self, why: impl FnOnce() -> String) {
        if self.unwritable.is_none() {
            self.unwritable = Some(why());
        }
    }

    /// Appends an integer literal (e.g. a `LIMIT`).
    pub(crate) fn push_int(&mut self, n: i64) {
        self.record(INT, n as u64);
        if n < 0 {
            self.raw_char('-');
        }
        self.push_digits(n.unsigned_abs());
    }

    /// Appends the decimal digits of `n` (without `fmt`, which costs more
    /// than the rest of a short statement's rendering).
    fn push_digits(&mut self, mut n: u64) {
        if !self.text {
            return;
        }
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

    /// Appends SQL keywords and punctuation written in the source (never
    /// user input).
    #[inline]
    pub(crate) fn push_sql(&mut self, sql: &'static str) {
        if self.recording == Recording::On {
            let (at, len) = (sql.as_ptr() as usize as u64, sql.len() as u64);
            if at >> 48 == 0 && len < 1 << 8 {
                // The usual case, in one word: a short text at an address
                // below 2^48 (every user-space address on x86-64 and
                // AArch64 with 4-level tables).
                self.word(SHORT_SQL << 56 | len << 48 | at);
            } else {
                self.word(SQL << 56 | len);
                self.word(at);
            }
        }
        self.raw(sql);
    }

    /// Appends SQL keywords built at run time (a type's name, a function's
    /// name in capitals; never user input).
    pub(crate) fn push_text(&mut self, sql: &str) {
        self.record_bytes(TEXT, sql);
        self.raw(sql);
    }

    /// Appends SQL a developer wrote (a column type, a default, a one-off
    /// value for existing rows; from a model or a migration's state) as it
    /// is. A NUL in it makes the text unwritable.
    pub(crate) fn push_verbatim(&mut self, sql: &str) {
        self.record_bytes(VERBATIM, sql);
        if sql.contains('\0') {
            self.reject(|| format!("the SQL {sql:?} holds a NUL character"));
        }
        self.raw(sql);
    }

    /// Appends a double-quoted identifier; `"` inside it is doubled. This is
    /// the only place names are quoted. A NUL (which no PostgreSQL name can
    /// hold, and which the driver refuses to send) makes the text unwritable.
    pub(crate) fn push_ident(&mut self, ident: &str) {
        self.record_bytes(IDENT, ident);
        self.quote(ident);
    }

    fn quote(&mut self, ident: &str) {
        if !self.text {
            // A key holds the name's bytes, NUL or quote included.
            return;
        }
        if !ident.bytes().any(|b| b == b'"' || b == 0) {
            self.sql.push('"');
            self.sql.push_str(ident);
            self.sql.push('"');
            return;
        }
        if ident.contains('\0') {
            self.reject(|| format!("the name {ident:?} holds a NUL character"));
        }
        self.sql.push('"');
        for c in ident.chars() {
            if c == '"' {
                self.sql.push('"');
            }
            self.sql.push(c);
        }
        self.sql.push('"');
    }

    /// Appends a string literal, for DDL (which takes no bind parameters).
    /// `'` is doubled; a string with a backslash is written `E'..'` with the
    /// backslashes doubled, so it reads the same whatever
    /// `standard_conforming_strings` is (libpq's `PQescapeLiteral`). A NUL
    /// (which no PostgreSQL string can hold) makes the text unwritable.
    /// This is the only place literals are quoted.
    pub(crate) fn push_literal(&mut self, text: &str) {
        self.record_bytes(LITERAL, text);
        if text.contains('\0') {
            self.reject(|| format!("the string {text:?} holds a NUL character"));
        }
        if !self.text {
            return;
        }
        if text.contains('\\') {
            self.sql.push('E');
        }
        self.sql.push('\'');
        for c in text.chars() {
            if c == '\'' || c == '\\' {
                self.sql.push(c);
            }
            self.sql.push(c);
        }
        self.sql.push('\'');
    }

    /// Appends `body` dollar-quoted (a `DO` block's code): `$$body$$`, or
    /// `$orm1$body$orm1$` (`$orm2$`, ..) when `$$` would end it early, so no
    /// name or string inside it can.
    pub(crate) fn push_dollar_quoted(&mut self, body: &str) {
        self.record_bytes(DOLLAR, body);
        if !self.text {
            return;
        }
        // The string ends at the first tag after it opens: that must be the
        // closing one (also when the body ends in `$`).
        let ends_early = |tag: &str| format!("{body}{tag}").find(tag) != Some(body.len());
        let mut tag = "$$".to_owned();
        let mut n = 0;
        while ends_early(&tag) {
            n += 1;
            tag = format!("$orm{n}$");
        }
        self.sql.push_str(&tag);
        self.sql.push_str(body);
        self.sql.push_str(&tag);
    }

    /// Appends `"table"."column"`.
    pub(crate) fn push_column(&mut self, table: &str, column: &str) {
        self.record_bytes(QUALIFIER, table);
        self.quote(table);
        self.raw_char('.');
        self.push_ident(column);
    }

    /// Appends the next placeholder (`$n`) and records its value.
    pub(crate) fn push_bind(&mut self, value: Value) {
        self.word(BIND << 56);
        self.binds.push(value);
        if self.text {
            self.sql.push('$');
            self.push_digits(self.binds.len() as u64);
        }
    }

    /// Appends `$n` for a parameter the caller binds itself.
    pub(crate) fn push_placeholder(&mut self, n: usize) {
        self.record(PLACEHOLDER, n as u64);
        if self.text {
            self.sql.push('$');
            self.push_digits(n as u64);
        }
    }

    /// Appends `items`, separated by `sep`, each written by `each`.
    pub(crate) fn push_list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        sep: &'static str,
        mut each: impl FnMut(&mut Self, T),
    ) {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push_sql(sep);
            }
            each(self, item);
        }
    }

    /// The statement. Its names come from model metadata; should one hold
    /// a NUL, the driver refuses to send the text.
    pub(crate) fn finish(self) -> Statement {
        debug_assert!(self.text, "a key-only writer has no text");
        Statement {
            sql: self.sql,
            binds: self.binds.into_vec(),
        }
    }

    /// The statement as it is sent.
    pub(crate) fn finish_bound(self) -> Bound {
        debug_assert!(self.text, "a key-only writer has no text");
        Bound {
            sql: Cow::Owned(self.sql),
            binds: self.binds,
        }
    }

    /// The key a [`key_only`](SqlWriter::key_only) writer recorded
    /// (`None` when longer than [`KEY_WORDS`]), and the values.
    pub(crate) fn finish_key(self) -> (Option<Key>, Binds) {
        let key = (self.recording == Recording::On).then_some(self.key);
        (key, self.binds)
    }

    /// The text of a statement without binds (DDL), or why it cannot be
    /// written (a NUL in a name, string or verbatim SQL; a keyword refused
    /// with [`reject`](SqlWriter::reject)).
    pub(crate) fn finish_text(self) -> Result<String, Unwritable> {
        debug_assert!(self.binds.is_empty(), "DDL takes no bind parameters");
        match self.unwritable {
            Some(why) => Err(Unwritable(why)),
            None => Ok(self.sql),
        }
    }
}

/// `name` double-quoted as [`SqlWriter::push_ident`] writes it, for
/// messages that name a table or column.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut w = SqlWriter::new();
    w.push_ident(name);
    w.sql
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
    fn hostile_identifiers_stay_one_name() {
        let mut w = SqlWriter::new();
        w.push_ident(r#"x"; DROP TABLE "users"; --"#);
        assert_eq!(
            w.finish_text().unwrap(),
            r#""x""; DROP TABLE ""users""; --""#
        );
        // Quoted in full, however long (PostgreSQL itself cuts a name at
        // 63 bytes, the same way in every statement).
        let long = "\"é".repeat(5000);
        let quoted = quote_ident(&long);
        assert_eq!(quoted.len(), 2 + long.len() + 5000);
        assert_eq!(quoted, format!("\"{}\"", long.replace('"', "\"\"")));
        let mut w = SqlWriter::new();
        w.push_ident("a\0b");
        w.push_ident("c\0d");
        assert_eq!(
            w.finish_text(),
            Err(Unwritable(
                r#"the name "a\0b" holds a NUL character"#.into()
            )),
            "the first reason is kept"
        );
    }

    #[test]
    fn literals_escape_quotes_and_backslashes_and_refuse_nul() {
        let literal = |text: &str| {
            let mut w = SqlWriter::new();
            w.push_literal(text);
            w.finish_text()
        };
        assert_eq!(literal("").unwrap(), "''");
        assert_eq!(literal("O'Neil").unwrap(), "'O''Neil'");
        assert_eq!(
            literal("'; DROP TABLE x; --").unwrap(),
            "'''; DROP TABLE x; --'"
        );
        // Read the same with or without standard_conforming_strings.
        assert_eq!(literal(r"a\b").unwrap(), r"E'a\\b'");
        assert_eq!(
            literal(r"\'; DROP TABLE x; --").unwrap(),
            r"E'\\''; DROP TABLE x; --'"
        );
        assert_eq!(
            literal("a\0b"),
            Err(Unwritable(
                r#"the string "a\0b" holds a NUL character"#.into()
            ))
        );
        let mut w = SqlWriter::new();
        w.push_verbatim("now()\0");
        assert_eq!(
            w.finish_text(),
            Err(Unwritable(
                r#"the SQL "now()\0" holds a NUL character"#.into()
            ))
        );
    }

    #[test]
    fn dollar_quotes_cannot_end_early() {
        let quoted = |body: &str| {
            let mut w = SqlWriter::new();
            w.push_dollar_quoted(body);
            w.finish_text().unwrap()
        };
        assert_eq!(quoted(" BEGIN END "), "$$ BEGIN END $$");
        assert_eq!(quoted(r#" "a$$b" "#), r#"$orm1$ "a$$b" $orm1$"#);
        assert_eq!(quoted("ends in $"), "$orm1$ends in $$orm1$");
        assert_eq!(quoted("$$ $orm1$"), "$orm2$$$ $orm1$$orm2$");
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
