//! The statements of a migration's SQL, for a migration that runs outside
//! a transaction (`-- atomic: false`): PostgreSQL runs a query string of
//! several statements as one implicit transaction, in which `CREATE INDEX
//! CONCURRENTLY` cannot run, so each statement is sent on its own.
//!
//! A statement ends at a `;` outside quotes (`'..'`, `E'..'`, `".."`),
//! dollar quotes (`$tag$..$tag$`) and comments (`-- ..`, nested
//! `/* .. */`), as psql splits a script. A SQL-standard function body
//! (`BEGIN ATOMIC .. END`) holds `;`s of its own and is not supported
//! here: put such a function in an atomic migration.

/// The statements of `sql`, trimmed, without the empty ones and those that
/// are only comments.
pub(crate) fn statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut code = false;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match bytes[i] {
            b'-' if rest.starts_with(b"--") => {
                i = find(bytes, i, b"\n").map_or(bytes.len(), |e| e + 1);
                continue;
            }
            b'/' if rest.starts_with(b"/*") => {
                i = block_comment_end(bytes, i);
                continue;
            }
            b'\'' => {
                // `E'..'` (a backslash escapes the next byte) when the
                // quote follows an `E` that starts a word.
                let escapes =
                    i > 0 && matches!(bytes[i - 1], b'E' | b'e') && (i < 2 || !word(bytes[i - 2]));
                i = quoted_end(bytes, i, b'\'', escapes);
                code = true;
                continue;
            }
            b'"' => {
                i = quoted_end(bytes, i, b'"', false);
                code = true;
                continue;
            }
            b'$' if i == 0 || !word(bytes[i - 1]) => {
                if let Some(tag_len) = dollar_tag(rest) {
                    let tag = &rest[..tag_len];
                    i = find(bytes, i + tag_len, tag).map_or(bytes.len(), |e| e + tag_len);
                    code = true;
                    continue;
                }
            }
            b';' => {
                if code {
                    out.push(sql[start..i].trim());
                }
                start = i + 1;
                code = false;
                i += 1;
                continue;
            }
            b if !b.is_ascii_whitespace() => code = true,
            _ => {}
        }
        i += 1;
    }
    if code {
        out.push(sql[start..].trim());
    }
    out
}

/// A byte of an identifier or keyword.
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The index of the first `needle` in `bytes` at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Past the quoted text starting at `bytes[at]` (a doubled quote is one
/// quote; with `escapes`, a backslash escapes the next byte).
fn quoted_end(bytes: &[u8], at: usize, quote: u8, escapes: bool) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            q if q == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past the (nested) block comment starting at `bytes[at]`.
fn block_comment_end(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0;
    let mut i = at;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if bytes[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The length of the dollar-quote tag `$tag$` (or `$$`) `rest` starts with;
/// `None` for a parameter (`$1`) or a lone `$`.
fn dollar_tag(rest: &[u8]) -> Option<usize> {
    let body = &rest[1..];
    let end = body.iter().position(|&b| b == b'$')?;
    let tag = &body[..end];
    let ok = tag.first().is_none_or(|b| !b.is_ascii_digit()) && tag.iter().all(|&b| word(b));
    ok.then_some(end + 2)
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            statements("CREATE INDEX CONCURRENTLY a ON t (x);\n\nDROP INDEX CONCURRENTLY b;\n"),
            [
                "CREATE INDEX CONCURRENTLY a ON t (x)",
                "DROP INDEX CONCURRENTLY b"
            ]
        );
        // No trailing semicolon; empty statements and comments dropped.
        assert_eq!(
            statements("-- a comment; not SQL\n;;  SELECT 1 ; /* c; */ SELECT 2"),
            ["SELECT 1", "/* c; */ SELECT 2"]
        );
        assert!(statements("-- only a comment;\n  \n/* and; this */").is_empty());
    }

    #[test]
    fn semicolons_in_strings_identifiers_and_dollar_quotes_stay() {
        let sql = "INSERT INTO \"a;b\" VALUES ('x;''y', E'z\\';w');\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $x$ $body$ LANGUAGE sql;\n\
                   DO $$ BEGIN PERFORM 1; END $$;\n\
                   SELECT $1::int; SELECT 'it''s' /* nested /* ; */ ; */";
        assert_eq!(
            statements(sql),
            [
                "INSERT INTO \"a;b\" VALUES ('x;''y', E'z\\';w')",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $x$ $body$ LANGUAGE sql",
                "DO $$ BEGIN PERFORM 1; END $$",
                "SELECT $1::int",
                "SELECT 'it''s' /* nested /* ; */ ; */",
            ]
        );
        // A plain string's backslash escapes nothing (standard strings).
        assert_eq!(
            statements("SELECT 'a\\'; SELECT 2"),
            ["SELECT 'a\\'", "SELECT 2"]
        );
    }

    #[test]
    fn unterminated_text_is_one_statement() {
        assert_eq!(
            statements("SELECT 'open; SELECT 2"),
            ["SELECT 'open; SELECT 2"]
        );
        assert_eq!(statements("SELECT $$ open;"), ["SELECT $$ open;"]);
    }
}
