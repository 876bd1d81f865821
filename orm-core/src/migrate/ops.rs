//! Schema changes: the difference between two [`SchemaState`]s as a list
//! of [`Op`]s, each with the SQL that applies it and the SQL that reverts it.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::migrate::state::{
    ColumnState, Constraint, ForeignKeyState, Renames, RlsState, SchemaState, TableState,
};
use crate::sql::ddl::{self, Create, Ddl};
use crate::sql::quote_ident;

/// One schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `CREATE TABLE` (its indexes and foreign keys are separate ops).
    CreateTable(String, TableState),
    /// `DROP TABLE`; reverting recreates it empty.
    DropTable(String, TableState),
    /// `ALTER TABLE .. RENAME TO ..`.
    RenameTable {
        /// The name or value before.
        from: String,
        /// The name or value after.
        to: String,
    },
    /// `ADD COLUMN`; `fill` is the one-off value for existing rows of a
    /// `NOT NULL` column without a default.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: ColumnState,
        /// The value for existing rows, if one is needed.
        fill: Option<String>,
    },
    /// `DROP COLUMN`.
    DropColumn {
        /// The table.
        table: String,
        /// The column.
        column: ColumnState,
    },
    /// `RENAME COLUMN`.
    RenameColumn {
        /// The table.
        table: String,
        /// The name or value before.
        from: String,
        /// The name or value after.
        to: String,
    },
    /// `ALTER COLUMN .. TYPE .. USING ..`.
    AlterType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The name or value before.
        from: String,
        /// The name or value after.
        to: String,
    },
    /// `SET NOT NULL` (`not_null`) or `DROP NOT NULL`; `fill` replaces the
    /// NULLs first.
    SetNotNull {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// True for `SET NOT NULL`.
        not_null: bool,
        /// The value for existing rows, if one is needed.
        fill: Option<String>,
    },
    /// `SET DEFAULT` / `DROP DEFAULT`.
    SetDefault {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The name or value before.
        from: Option<String>,
        /// The name or value after.
        to: Option<String>,
    },
    /// `ADD CONSTRAINT .. UNIQUE`.
    AddUnique(String, Constraint),
    /// `DROP CONSTRAINT` of a unique constraint.
    DropUnique(String, Constraint),
    /// `CREATE INDEX`.
    AddIndex(String, Constraint),
    /// `DROP INDEX`.
    DropIndex(String, Constraint),
    /// `ADD CONSTRAINT .. FOREIGN KEY`.
    AddForeignKey(String, ForeignKeyState),
    /// `DROP CONSTRAINT` of a foreign key.
    DropForeignKey(String, ForeignKeyState),
    /// `RENAME CONSTRAINT` (`index: false`) or `ALTER INDEX .. RENAME`.
    RenameConstraint {
        /// The table.
        table: String,
        /// The name or value before.
        from: String,
        /// The name or value after.
        to: String,
        /// True for an index (not a constraint).
        index: bool,
    },
    /// `CREATE EXTENSION IF NOT EXISTS` (Django's `CreateExtension`, as
    /// `CITextExtension`), before the tables whose types need it.
    CreateExtension(String),
    /// `DROP EXTENSION IF EXISTS`: the revert of [`Op::CreateExtension`],
    /// as Django's.
    DropExtension(String),
    /// Row-level security on a tenant model's table (`#[orm(tenant,
    /// rls)]`): `ENABLE`, `FORCE`, and the policy `tenant_isolation`.
    EnableRls(String, RlsState),
    /// Drops the policy, `NO FORCE`, `DISABLE`.
    DisableRls(String, RlsState),
}

/// Why the models' changes cannot be written as a migration as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffError {
    /// `NOT NULL` columns added (or made `NOT NULL`) without a default:
    /// `(table.column, type)` of those that need a value for the rows
    /// already there.
    NeedsDefault(Vec<(String, String)>),
    /// A change makemigrations does not write (a primary key change).
    Unsupported(String),
}

/// A value of `sql_type` that any row can take, for a `NOT NULL` column
/// restored by a revert (its data is gone): SQL of our own, constant. (The
/// empty `bytea` is `''`: `'\x'` would read differently without
/// `standard_conforming_strings`.)
fn zero_of(sql_type: &str) -> &'static str {
    match sql_type {
        "smallint" | "integer" | "bigint" | "real" | "double precision" => "0",
        "boolean" => "false",
        "date" => "CURRENT_DATE",
        "time" => "'00:00'",
        "timestamp" => "LOCALTIMESTAMP",
        "timestamptz" => "now()",
        "uuid" => "gen_random_uuid()",
        "jsonb" => "'null'",
        "inet" => "'0.0.0.0'",
        "interval" => "'0'",
        t if t == "numeric" || t.starts_with("numeric(") => "0",
        // The empty array.
        t if t.ends_with("[]") => "'{}'",
        // The empty range.
        "int4range" | "int8range" | "numrange" | "daterange" | "tsrange" | "tstzrange" => "'empty'",
        _ => "''",
    }
}

/// Whether every value of type `from` converts to `to` unchanged.
fn widens(from: &str, to: &str) -> bool {
    let rank = |t: &str| match t {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        _ => None,
    };
    let varchar = |t: &str| {
        t.strip_prefix("varchar(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    if let (Some(a), Some(b)) = (rank(from), rank(to)) {
        return a <= b;
    }
    // An array widens when its elements do (`integer[]` to `bigint[]`).
    if let (Some(a), Some(b)) = (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        return a == b || widens(a, b);
    }
    // `numeric(p,s)` widens to `numeric` and to a `numeric(p2,s2)` with as
    // many places and whole digits.
    let numeric = |t: &str| {
        let (p, s) = t
            .strip_prefix("numeric(")?
            .strip_suffix(')')?
            .split_once(',')?;
        Some((p.trim().parse::<u32>().ok()?, s.trim().parse::<u32>().ok()?))
    };
    if let (Some(_), "numeric") = (numeric(from), to) {
        return true;
    }
    if let (Some((p1, s1)), Some((p2, s2))) = (numeric(from), numeric(to)) {
        return s2 >= s1 && p2.saturating_sub(s2) >= p1.saturating_sub(s1);
    }
    match (from, to) {
        ("real", "double precision") => true,
        ("smallint" | "integer" | "bigint", "numeric") => true,
        ("text", "citext") | ("citext", "text") => true,
        ("smallint" | "integer", "double precision") => true,
        ("smallint", "real") => true,
        ("timestamp", "timestamptz") => true,
        (f, "text") if varchar(f).is_some() => true,
        (f, t) => match (varchar(f), varchar(t)) {
            (Some(a), Some(b)) => a <= b,
            _ => false,
        },
    }
}

impl Op {
    /// The SQL that applies the change (one or more statements, without a
    /// final `;`).
    ///
    /// # Errors
    /// [`Error::Migration`] when it cannot be written: a name, type or
    /// value with a NUL in it, an `ON DELETE` action PostgreSQL does not
    /// have (both only from an edited state file).
    pub fn up(&self) -> Result<String> {
        self.sql()
            .map_err(|why| Error::Migration(format!("cannot write the SQL of a change: {why}")))
    }

    fn sql(&self) -> Ddl {
        match self {
            // Its foreign keys and indexes are ops of their own.
            Op::CreateTable(name, t) => ddl::create_table(&t.ddl(name, |_| false), Create::New),
            Op::DropTable(name, _) => ddl::drop_table(name),
            Op::RenameTable { from, to } => ddl::rename_table(from, to),
            Op::AddColumn {
                table,
                column: c,
                fill,
            } => {
                // Only a NOT NULL column without a default needs a value for
                // the rows already there.
                let fill = fill
                    .as_deref()
                    .filter(|_| c.default.is_none() && !c.nullable);
                ddl::add_column(table, &c.ddl(), fill)
            }
            Op::DropColumn { table, column } => ddl::drop_column(table, &column.name),
            Op::RenameColumn { table, from, to } => ddl::rename_column(table, from, to),
            Op::AlterType {
                table, column, to, ..
            } => ddl::alter_type(table, column, to),
            Op::SetNotNull {
                table,
                column,
                not_null: true,
                fill,
            } => ddl::set_not_null(table, column, fill.as_deref()),
            Op::SetNotNull { table, column, .. } => ddl::drop_not_null(table, column),
            Op::SetDefault {
                table, column, to, ..
            } => ddl::set_default(table, column, to.as_deref()),
            Op::AddUnique(table, u) => ddl::add_unique(table, &u.name, &u.columns),
            Op::DropUnique(table, Constraint { name, .. })
            | Op::DropForeignKey(table, ForeignKeyState { name, .. }) => {
                ddl::drop_constraint(table, name)
            }
            Op::AddIndex(table, i) => ddl::create_index_with(table, &i.index_ddl(), Create::New),
            Op::DropIndex(_, i) => ddl::drop_index(&i.name),
            Op::AddForeignKey(table, f) => ddl::add_foreign_key(table, &f.ddl(), Create::New),
            Op::RenameConstraint {
                from,
                to,
                index: true,
                ..
            } => ddl::rename_index(from, to),
            Op::RenameConstraint {
                table, from, to, ..
            } => ddl::rename_constraint(table, from, to),
            Op::CreateExtension(name) => ddl::create_extension(name),
            Op::DropExtension(name) => ddl::drop_extension(name),
            Op::EnableRls(table, r) => ddl::enable_rls(table, &r.column, &r.sql_type, Create::New),
            Op::DisableRls(table, _) => ddl::disable_rls(table),
        }
    }

    /// The op that undoes this one.
    pub fn inverse(&self) -> Op {
        match self.clone() {
            Op::CreateTable(n, t) => Op::DropTable(n, t),
            Op::DropTable(n, t) => Op::CreateTable(n, t),
            Op::RenameTable { from, to } => Op::RenameTable { from: to, to: from },
            Op::AddColumn { table, column, .. } => Op::DropColumn { table, column },
            Op::DropColumn { table, column } => {
                let fill = (!column.nullable && column.default.is_none())
                    .then(|| zero_of(&column.sql_type).to_owned());
                Op::AddColumn {
                    table,
                    column,
                    fill,
                }
            }
            Op::RenameColumn { table, from, to } => Op::RenameColumn {
                table,
                from: to,
                to: from,
            },
            Op::AlterType {
                table,
                column,
                from,
                to,
            } => Op::AlterType {
                table,
                column,
                from: to,
                to: from,
            },
            Op::SetNotNull {
                table,
                column,
                not_null,
                ..
            } => {
                let fill = None;
                Op::SetNotNull {
                    table,
                    column,
                    not_null: !not_null,
                    fill,
                }
            }
            Op::SetDefault {
                table,
                column,
                from,
                to,
            } => Op::SetDefault {
                table,
                column,
                from: to,
                to: from,
            },
            Op::AddUnique(t, u) => Op::DropUnique(t, u),
            Op::DropUnique(t, u) => Op::AddUnique(t, u),
            Op::AddIndex(t, i) => Op::DropIndex(t, i),
            Op::DropIndex(t, i) => Op::AddIndex(t, i),
            Op::AddForeignKey(t, f) => Op::DropForeignKey(t, f),
            Op::DropForeignKey(t, f) => Op::AddForeignKey(t, f),
            Op::RenameConstraint {
                table,
                from,
                to,
                index,
            } => Op::RenameConstraint {
                table,
                from: to,
                to: from,
                index,
            },
            Op::CreateExtension(name) => Op::DropExtension(name),
            Op::DropExtension(name) => Op::CreateExtension(name),
            Op::EnableRls(t, r) => Op::DisableRls(t, r),
            Op::DisableRls(t, r) => Op::EnableRls(t, r),
        }
    }

    /// What data applying this op can lose, if any: dropped tables and
    /// columns, narrowed types.
    pub fn destructive(&self) -> Option<String> {
        match self {
            Op::DropTable(name, _) => Some(format!("drops table {}", quote_ident(name))),
            Op::DropColumn { table, column } => Some(format!(
                "drops column {}.{}",
                quote_ident(table),
                quote_ident(&column.name)
            )),
            Op::AlterType {
                table,
                column,
                from,
                to,
            } if !widens(from, to) => Some(format!(
                "narrows {}.{} from {from} to {to}",
                quote_ident(table),
                quote_ident(column)
            )),
            _ => None,
        }
    }
}

/// The ops that turn `old` into `new`: declared renames first, then
/// constraints that go, tables and columns, constraints that come.
/// `fills` gives, by `table.column`, the value for existing rows of a
/// `NOT NULL` column that is added (or made `NOT NULL`) without a default.
///
/// # Errors
/// [`DiffError::NeedsDefault`] naming every such column with no fill;
/// [`DiffError::Unsupported`] for a primary key change.
pub fn diff(
    old: &SchemaState,
    new: &SchemaState,
    renames: &Renames,
    fills: &BTreeMap<String, String>,
) -> Result<Vec<Op>, DiffError> {
    let mut cur = old.clone();
    let mut renames_out = Vec::new();
    for (from, to) in &renames.tables {
        if cur.tables.contains_key(from)
            && !cur.tables.contains_key(to)
            && new.tables.contains_key(to)
            && !new.tables.contains_key(from)
        {
            let t = cur.tables.remove(from).unwrap_or_default();
            cur.tables.insert(to.clone(), t);
            renames_out.push(Op::RenameTable {
                from: from.clone(),
                to: to.clone(),
            });
            // Keys elsewhere that pointed at the old name follow the table.
            for t in cur.tables.values_mut() {
                for f in &mut t.foreign_keys {
                    if &f.references == from {
                        f.references = to.clone();
                    }
                }
            }
        }
    }
    for (table, from, to) in &renames.columns {
        let (Some(t), Some(n)) = (cur.tables.get_mut(table), new.tables.get(table)) else {
            continue;
        };
        if t.column(from).is_some()
            && t.column(to).is_none()
            && n.column(to).is_some()
            && n.column(from).is_none()
        {
            rename_column(t, from, to);
            renames_out.push(Op::RenameColumn {
                table: table.clone(),
                from: from.clone(),
                to: to.clone(),
            });
            for other in cur.tables.values_mut() {
                for f in &mut other.foreign_keys {
                    if &f.references == table && &f.target_column == from {
                        f.target_column = to.clone();
                    }
                }
            }
        }
    }
    // Constraints and indexes keep their old names through a rename:
    // match them by definition and rename them to the names the models give.
    for (name, n) in &new.tables {
        let Some(t) = cur.tables.get_mut(name) else {
            continue;
        };
        let mut rename = |from: &mut String, to: &str, index: bool| {
            if from != to {
                renames_out.push(Op::RenameConstraint {
                    table: name.clone(),
                    from: from.clone(),
                    to: to.to_owned(),
                    index,
                });
                *from = to.to_owned();
            }
        };
        if t.primary_key.columns == n.primary_key.columns {
            rename(&mut t.primary_key.name, &n.primary_key.name, false);
        }
        for u in &mut t.uniques {
            if let Some(m) = n.uniques.iter().find(|m| m.columns == u.columns) {
                rename(&mut u.name, &m.name, false);
            }
        }
        for i in &mut t.indexes {
            if let Some(m) = n.indexes.iter().find(|m| m.same_definition(i)) {
                rename(&mut i.name, &m.name, true);
            }
        }
        for f in &mut t.foreign_keys {
            if let Some(m) = n.foreign_keys.iter().find(|m| {
                m.column == f.column
                    && m.references == f.references
                    && m.target_column == f.target_column
            }) {
                rename(&mut f.name, &m.name, false);
            }
        }
    }

    let mut drop_constraints = Vec::new();
    let mut create_tables = Vec::new();
    let mut columns = Vec::new();
    let mut drop_tables = Vec::new();
    let mut add_constraints = Vec::new();
    let mut missing = Vec::new();

    for (name, t) in &cur.tables {
        match new.tables.get(name) {
            None => {
                for f in &t.foreign_keys {
                    drop_constraints.push(Op::DropForeignKey(name.clone(), f.clone()));
                }
                if let Some(r) = &t.rls {
                    drop_constraints.push(Op::DisableRls(name.clone(), r.clone()));
                }
                let bare = TableState {
                    foreign_keys: Vec::new(),
                    indexes: Vec::new(),
                    rls: None,
                    ..t.clone()
                };
                for i in &t.indexes {
                    drop_constraints.push(Op::DropIndex(name.clone(), i.clone()));
                }
                drop_tables.push(Op::DropTable(name.clone(), bare));
            }
            Some(n) => {
                if t.primary_key.columns != n.primary_key.columns {
                    return Err(DiffError::Unsupported(format!(
                        "the primary key of {} changes from ({}) to ({}); write this migration by hand (makemigrations --empty)",
                        quote_ident(name),
                        t.primary_key.columns.join(", "),
                        n.primary_key.columns.join(", ")
                    )));
                }
                for f in t
                    .foreign_keys
                    .iter()
                    .filter(|f| !n.foreign_keys.contains(f))
                {
                    drop_constraints.push(Op::DropForeignKey(name.clone(), f.clone()));
                }
                if t.rls != n.rls {
                    if let Some(r) = &t.rls {
                        drop_constraints.push(Op::DisableRls(name.clone(), r.clone()));
                    }
                    if let Some(r) = &n.rls {
                        add_constraints.push(Op::EnableRls(name.clone(), r.clone()));
                    }
                }
                for u in t.uniques.iter().filter(|u| !n.uniques.contains(u)) {
                    drop_constraints.push(Op::DropUnique(name.clone(), u.clone()));
                }
                for i in t.indexes.iter().filter(|i| !n.indexes.contains(i)) {
                    drop_constraints.push(Op::DropIndex(name.clone(), i.clone()));
                }
                diff_columns(name, t, n, fills, &mut columns, &mut missing)?;
                for u in n.uniques.iter().filter(|u| !t.uniques.contains(u)) {
                    add_constraints.push(Op::AddUnique(name.clone(), u.clone()));
                }
                for i in n.indexes.iter().filter(|i| !t.indexes.contains(i)) {
                    add_constraints.push(Op::AddIndex(name.clone(), i.clone()));
                }
                for f in n
                    .foreign_keys
                    .iter()
                    .filter(|f| !t.foreign_keys.contains(f))
                {
                    add_constraints.push(Op::AddForeignKey(name.clone(), f.clone()));
                }
            }
        }
    }
    for (name, n) in &new.tables {
        if cur.tables.contains_key(name) {
            continue;
        }
        create_tables.push(Op::CreateTable(
            name.clone(),
            TableState {
                foreign_keys: Vec::new(),
                indexes: Vec::new(),
                rls: None,
                ..n.clone()
            },
        ));
        if let Some(r) = &n.rls {
            add_constraints.push(Op::EnableRls(name.clone(), r.clone()));
        }
        for i in &n.indexes {
            add_constraints.push(Op::AddIndex(name.clone(), i.clone()));
        }
        for f in &n.foreign_keys {
            add_constraints.push(Op::AddForeignKey(name.clone(), f.clone()));
        }
    }
    if !missing.is_empty() {
        return Err(DiffError::NeedsDefault(missing));
    }
    let mut ops = renames_out;
    // Extensions first, before a table or column of their types. One no
    // longer needed is left in place (Django never drops one by itself).
    ops.extend(
        new.extensions
            .difference(&old.extensions)
            .map(|name| Op::CreateExtension(name.clone())),
    );
    ops.extend(drop_constraints);
    ops.extend(create_tables);
    ops.extend(columns);
    ops.extend(drop_tables);
    // Foreign keys last, once every table and unique key they need exists.
    add_constraints.sort_by_key(|op| matches!(op, Op::AddForeignKey(..)));
    ops.extend(add_constraints);
    Ok(ops)
}

fn rename_column(t: &mut TableState, from: &str, to: &str) {
    let fix = |c: &mut String| {
        if c == from {
            *c = to.to_owned();
        }
    };
    for c in &mut t.columns {
        fix(&mut c.name);
    }
    t.primary_key.columns.iter_mut().for_each(fix);
    for c in t.uniques.iter_mut().chain(t.indexes.iter_mut()) {
        c.columns.iter_mut().for_each(fix);
        c.where_null.iter_mut().for_each(fix);
    }
    for f in &mut t.foreign_keys {
        fix(&mut f.column);
    }
}

fn diff_columns(
    table: &str,
    t: &TableState,
    n: &TableState,
    fills: &BTreeMap<String, String>,
    ops: &mut Vec<Op>,
    missing: &mut Vec<(String, String)>,
) -> Result<(), DiffError> {
    let key = |c: &str| format!("{table}.{c}");
    for c in &n.columns {
        let Some(o) = t.column(&c.name) else {
            let fill = fills.get(&key(&c.name)).cloned();
            if !c.nullable && c.default.is_none() && !c.identity && fill.is_none() {
                missing.push((key(&c.name), c.sql_type.clone()));
            }
            ops.push(Op::AddColumn {
                table: table.to_owned(),
                column: c.clone(),
                fill,
            });
            continue;
        };
        if o.identity != c.identity {
            return Err(DiffError::Unsupported(format!(
                "{}.{} {} an identity column; write this migration by hand (makemigrations --empty)",
                quote_ident(table),
                quote_ident(&c.name),
                if c.identity { "becomes" } else { "stops being" }
            )));
        }
        if o.sql_type != c.sql_type {
            ops.push(Op::AlterType {
                table: table.to_owned(),
                column: c.name.clone(),
                from: o.sql_type.clone(),
                to: c.sql_type.clone(),
            });
        }
        if o.default != c.default {
            ops.push(Op::SetDefault {
                table: table.to_owned(),
                column: c.name.clone(),
                from: o.default.clone(),
                to: c.default.clone(),
            });
        }
        if o.nullable != c.nullable {
            let fill = if c.nullable {
                None
            } else {
                fills
                    .get(&key(&c.name))
                    .cloned()
                    .or_else(|| c.default.clone())
            };
            if !c.nullable && fill.is_none() {
                missing.push((key(&c.name), c.sql_type.clone()));
            }
            ops.push(Op::SetNotNull {
                table: table.to_owned(),
                column: c.name.clone(),
                not_null: !c.nullable,
                fill,
            });
        }
    }
    for o in &t.columns {
        if n.column(&o.name).is_none() {
            ops.push(Op::DropColumn {
                table: table.to_owned(),
                column: o.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
