//! Migration files: `NNNN_name.sql` (a header, the SQL to apply, the SQL to
//! revert) and `NNNN_name.state.json` (the schema after it), and the graph
//! they form through their `parent` lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::migrate::state::SchemaState;

const UP: &str = "-- migrate:up";
const DOWN: &str = "-- migrate:down";

/// One migration as read from its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The file name without `.sql` (`0002_add_karma`).
    pub name: String,
    /// The migrations it follows: none for the first, two for a merge.
    pub parents: Vec<String>,
    /// The SQL that applies it, as written in the file.
    pub up: String,
    /// The SQL that reverts it.
    pub down: String,
    /// What applying it can lose (`-- destructive:` lines, and any
    /// `DROP TABLE` / `DROP COLUMN` in the SQL).
    pub destructive: Vec<String>,
    /// What reverting it can lose.
    pub destructive_down: Vec<String>,
    /// SHA-256 of the `.sql` file, hex.
    pub checksum: String,
    /// `false` with a `-- atomic: false` line (Django's `atomic = False`):
    /// each statement runs on its own, outside a transaction, as `CREATE
    /// INDEX CONCURRENTLY` must; a failure leaves the statements before it
    /// applied.
    pub atomic: bool,
    /// The schema after it.
    pub state: SchemaState,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Migration(format!("{}: {why}", path.display()))
}

/// SHA-256 of `text` with `\r\n` read as `\n`, hex.
pub(crate) fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.replace("\r\n", "\n").as_bytes());
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Statements that drop data, found in hand-written or edited SQL.
fn scan_destructive(sql: &str) -> Vec<String> {
    let upper = sql.to_uppercase();
    ["DROP TABLE", "DROP COLUMN", "TRUNCATE", "DELETE FROM"]
        .iter()
        .filter(|k| upper.contains(*k))
        .map(|k| format!("the SQL contains {k}"))
        .collect()
}

impl Migration {
    /// Reads `dir/name.sql` and `dir/name.state.json`.
    ///
    /// # Errors
    /// [`Error::Migration`] for a missing file or a malformed header.
    pub fn read(dir: &Path, name: &str) -> Result<Migration> {
        let path = dir.join(format!("{name}.sql"));
        let text = std::fs::read_to_string(&path).map_err(|e| bad(&path, e))?;
        let state_path = dir.join(format!("{name}.state.json"));
        let state_text = std::fs::read_to_string(&state_path).map_err(|e| bad(&state_path, e))?;
        let state: SchemaState =
            serde_json::from_str(&state_text).map_err(|e| bad(&state_path, e))?;
        let mut parents = None;
        let mut destructive = Vec::new();
        let mut destructive_down = Vec::new();
        let mut atomic = true;
        let (mut up, mut down) = (String::new(), String::new());
        let mut section = 0;
        for line in text.lines() {
            match line.trim_end() {
                UP => section = 1,
                DOWN => section = 2,
                _ if section == 1 => {
                    up.push_str(line);
                    up.push('\n');
                }
                _ if section == 2 => {
                    down.push_str(line);
                    down.push('\n');
                }
                header => {
                    if let Some(v) = header.strip_prefix("-- parent:") {
                        parents = Some(
                            v.split(',')
                                .map(str::trim)
                                .filter(|p| !p.is_empty() && *p != "none")
                                .map(str::to_owned)
                                .collect::<Vec<_>>(),
                        );
                    } else if let Some(v) = header.strip_prefix("-- destructive:") {
                        destructive.push(v.trim().to_owned());
                    } else if let Some(v) = header.strip_prefix("-- destructive-down:") {
                        destructive_down.push(v.trim().to_owned());
                    } else if let Some(v) = header.strip_prefix("-- atomic:") {
                        atomic = match v.trim() {
                            "true" => true,
                            "false" => false,
                            other => {
                                return Err(bad(
                                    &path,
                                    format!("`-- atomic: {other}`: write `true` or `false`"),
                                ))
                            }
                        };
                    }
                }
            }
        }
        let parents = parents.ok_or_else(|| {
            bad(
                &path,
                "no `-- parent:` line (write `-- parent: none` for the first migration)",
            )
        })?;
        if section == 0 || !text.contains(DOWN) {
            return Err(bad(
                &path,
                format!("expected a `{UP}` section and a `{DOWN}` section"),
            ));
        }
        for found in scan_destructive(&up) {
            if destructive.is_empty() {
                destructive.push(found);
            }
        }
        for found in scan_destructive(&down) {
            if destructive_down.is_empty() {
                destructive_down.push(found);
            }
        }
        Ok(Migration {
            name: name.to_owned(),
            parents,
            up,
            down,
            destructive,
            destructive_down,
            checksum: checksum(&text),
            atomic,
            state,
        })
    }

    /// Refuses SQL that [`read`](Migration::read) would split differently
    /// than it was written: a line of the up or down SQL that is a section
    /// marker (a quoted name holding a line break can make one), which
    /// would move the SQL after it into the other section.
    fn check_sections(&self, path: &Path) -> Result<()> {
        for (section, sql) in [("up", &self.up), ("down", &self.down)] {
            if let Some(line) = sql.lines().find(|l| matches!(l.trim_end(), UP | DOWN)) {
                return Err(bad(
                    path,
                    format!(
                        "the {section} SQL holds a line `{}`, which would end its section \
                         when the file is read back (a table or column name with a line break?)",
                        line.trim_end()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The text of the `.sql` file.
    pub fn render(&self, comment: &str) -> String {
        let mut s = format!("-- orm migration: {}\n", self.name);
        let parents = if self.parents.is_empty() {
            "none".to_owned()
        } else {
            self.parents.join(", ")
        };
        let _ = writeln!(s, "-- parent: {parents}");
        // A header is one line: a line break in a description (from a
        // name) would start a line of SQL.
        let one_line = |d: &str| d.replace(['\n', '\r'], " ");
        for d in &self.destructive {
            let _ = writeln!(s, "-- destructive: {}", one_line(d));
        }
        for d in &self.destructive_down {
            let _ = writeln!(s, "-- destructive-down: {}", one_line(d));
        }
        if !self.atomic {
            s.push_str("-- atomic: false\n");
        }
        s.push_str("--\n");
        for line in comment.lines() {
            let _ = writeln!(s, "-- {line}");
        }
        s.push_str("-- Review and edit freely: this file is applied as written, in one\n");
        s.push_str("-- transaction (with an `-- atomic: false` line above `--`: each statement\n");
        s.push_str(
            "-- on its own, as CREATE INDEX CONCURRENTLY needs; one that fails leaves those\n",
        );
        s.push_str(
            "-- before it applied). Steps marked destructive need `migrate --allow-destructive`.\n\n",
        );
        let _ = writeln!(s, "{UP}");
        s.push_str(&self.up);
        let _ = writeln!(s, "\n{DOWN}");
        s.push_str(&self.down);
        s
    }

    /// Writes `dir/name.sql` and `dir/name.state.json`; returns the SQL path.
    ///
    /// # Errors
    /// [`Error::Migration`] when the files cannot be written.
    pub fn write(&self, dir: &Path, comment: &str) -> Result<PathBuf> {
        let path = dir.join(format!("{}.sql", self.name));
        self.check_sections(&path)?;
        std::fs::create_dir_all(dir).map_err(|e| bad(dir, e))?;
        std::fs::write(&path, self.render(comment)).map_err(|e| bad(&path, e))?;
        let state_path = dir.join(format!("{}.state.json", self.name));
        let json = serde_json::to_string_pretty(&self.state).map_err(|e| bad(&state_path, e))?;
        std::fs::write(&state_path, json + "\n").map_err(|e| bad(&state_path, e))?;
        Ok(path)
    }
}

/// Every migration in a folder, checked as one history.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// In the order they apply: each after its parents, ties by name.
    pub ordered: Vec<Migration>,
}

impl Graph {
    /// Reads every `*.sql` migration of `dir` (none when it does not exist).
    ///
    /// # Errors
    /// [`Error::Migration`] naming the files involved when one names a parent
    /// that is not there (a gap), or when two branches have no merge (a
    /// conflict, resolved with `makemigrations --merge`).
    pub fn load(dir: &Path) -> Result<Graph> {
        Graph::new(read_all(dir)?)
    }

    /// Orders and checks `all`.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn new(mut all: Vec<Migration>) -> Result<Graph> {
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let known: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
        for m in &all {
            if let Some(p) = m.parents.iter().find(|p| !known.contains(&p.as_str())) {
                return Err(Error::Migration(format!(
                    "gap in the migration history: {} follows {p}, which is not in the folder \
                     (deleted, renamed, or not pulled yet?); restore {p}.sql or edit the \
                     `-- parent:` line of {}.sql",
                    m.name, m.name
                )));
            }
        }
        let roots: Vec<&str> = all
            .iter()
            .filter(|m| m.parents.is_empty())
            .map(|m| m.name.as_str())
            .collect();
        if roots.len() > 1 {
            return Err(Error::Migration(format!(
                "conflicting migrations: {} all start the history (`-- parent: none`); \
                 keep one and make the others follow it",
                roots.join(", ")
            )));
        }
        let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &all {
            for p in &m.parents {
                children.entry(p.as_str()).or_default().push(&m.name);
            }
        }
        let leaves: Vec<&str> = all
            .iter()
            .filter(|m| !children.contains_key(m.name.as_str()))
            .map(|m| m.name.as_str())
            .collect();
        if leaves.len() > 1 {
            let forks: Vec<String> = children
                .iter()
                .filter(|(_, c)| c.len() > 1)
                .map(|(p, c)| format!("{} all follow {p}", c.join(" and ")))
                .collect();
            return Err(Error::Migration(format!(
                "conflicting migrations: {} (as after merging two branches); the latest are {}. \
                 Run `makemigrations --merge` to join them",
                forks.join("; "),
                leaves.join(", ")
            )));
        }
        // Topological order, ties by name.
        let mut ordered: Vec<Migration> = Vec::with_capacity(all.len());
        let mut rest = all;
        while !rest.is_empty() {
            let Some(i) = rest.iter().position(|m| {
                m.parents
                    .iter()
                    .all(|p| ordered.iter().any(|o| &o.name == p))
            }) else {
                let names: Vec<&str> = rest.iter().map(|m| m.name.as_str()).collect();
                return Err(Error::Migration(format!(
                    "the migrations {} follow each other in a cycle; fix their `-- parent:` lines",
                    names.join(", ")
                )));
            };
            ordered.push(rest.remove(i));
        }
        Ok(Graph { ordered })
    }

    /// The last migration (the only leaf), if any.
    pub fn leaf(&self) -> Option<&Migration> {
        self.ordered.last()
    }

    /// The migration whose name is `name` or starts with it (`0003`).
    ///
    /// # Errors
    /// [`Error::Migration`] when none or several match.
    pub fn find(&self, name: &str) -> Result<&Migration> {
        if let Some(m) = self.ordered.iter().find(|m| m.name == name) {
            return Ok(m);
        }
        let found: Vec<&Migration> = self
            .ordered
            .iter()
            .filter(|m| m.name.starts_with(name))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::Migration(format!(
                "no migration named {name}; there are: {}",
                self.names().join(", ")
            ))),
            many => Err(Error::Migration(format!(
                "{name} names several migrations: {}",
                many.iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.ordered.iter().map(|m| m.name.as_str()).collect()
    }

    /// `name` and every migration it follows, directly or not.
    pub fn ancestry(&self, name: &str) -> Vec<&str> {
        ancestry(&self.ordered, name)
    }

    /// The number of the next migration (`0001` when there is none).
    pub fn next_number(&self) -> u32 {
        next_number(&self.ordered)
    }
}

/// Every `*.sql` migration of `dir`, by name, unchecked (none when the
/// folder does not exist).
///
/// # Errors
/// [`Error::Migration`] for an unreadable folder or file.
pub(crate) fn read_all(dir: &Path) -> Result<Vec<Migration>> {
    let mut names = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir).map_err(|e| bad(dir, e))? {
            let path = entry.map_err(|e| bad(dir, e))?.path();
            if path.extension().is_some_and(|e| e == "sql") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_owned());
                }
            }
        }
    }
    names.sort();
    names.iter().map(|n| Migration::read(dir, n)).collect()
}

/// `name` and every migration of `all` it follows, directly or not.
pub(crate) fn ancestry<'a>(all: &'a [Migration], name: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let mut todo = vec![name];
    while let Some(n) = todo.pop() {
        if out.contains(&n) {
            continue;
        }
        if let Some(m) = all.iter().find(|m| m.name == n) {
            out.push(&m.name);
            todo.extend(m.parents.iter().map(String::as_str));
        }
    }
    out
}

/// The number after the highest `NNNN_` prefix in `all` (1 when none).
pub(crate) fn next_number(all: &[Migration]) -> u32 {
    all.iter()
        .filter_map(|m| m.name.get(..4)?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(up: &str, down: &str, destructive: &str) -> Migration {
        Migration {
            name: "0002_x".into(),
            parents: vec!["0001_initial".into()],
            up: up.into(),
            down: down.into(),
            destructive: vec![destructive.into()],
            destructive_down: Vec::new(),
            checksum: String::new(),
            atomic: true,
            state: SchemaState::default(),
        }
    }

    #[test]
    fn sql_that_would_be_split_differently_is_refused() {
        let dir = std::env::temp_dir().join(format!("orm-file-test-{}", std::process::id()));
        // A quoted table name whose line break makes a marker line.
        let up = "CREATE TABLE \"a\n-- migrate:down\nDROP TABLE users; --\" (\"id\" bigint);\n";
        let err = migration(up, "DROP TABLE \"a\";\n", "")
            .write(&dir, "")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("the up SQL holds a line `-- migrate:down`"),
            "{err}"
        );
        assert!(!dir.join("0002_x.sql").exists(), "nothing written");
        let err = migration("SELECT 1;\n", "-- migrate:up  \n", "")
            .write(&dir, "")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("the down SQL holds a line `-- migrate:up`"),
            "{err}"
        );
    }

    #[test]
    fn atomic_false_is_read_back_and_anything_else_refused() {
        let dir = std::env::temp_dir().join(format!("orm-file-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut m = migration("CREATE INDEX CONCURRENTLY i ON t (c);\n", "SELECT 1;\n", "");
        m.destructive.clear();
        m.atomic = false;
        let path = m.write(&dir, "").expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\n-- atomic: false\n--\n"), "{text}");
        let read = Migration::read(&dir, "0002_x").expect("read back");
        assert!(!read.atomic);
        assert_eq!(read.up.trim_end(), m.up.trim_end());
        // Atomic is the default, and is not written.
        m.atomic = true;
        m.write(&dir, "").expect("written");
        assert!(Migration::read(&dir, "0002_x").expect("read").atomic);
        std::fs::write(&path, text.replace("-- atomic: false", "-- atomic: no")).expect("w");
        let err = Migration::read(&dir, "0002_x").unwrap_err().to_string();
        assert!(
            err.contains("`-- atomic: no`: write `true` or `false`"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_description_stays_on_its_header_line() {
        let text = migration(
            "DROP TABLE \"t\";\n",
            "SELECT 1;\n",
            "drops \"t\nDROP TABLE users\"",
        )
        .render("");
        assert!(
            text.contains("-- destructive: drops \"t DROP TABLE users\"\n"),
            "{text}"
        );
        assert!(!text.lines().any(|l| l == "DROP TABLE users\""), "{text}");
    }
}
