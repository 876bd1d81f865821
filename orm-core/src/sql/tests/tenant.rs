//! Tenant scoping (`#[orm(tenant)]`, `orm_core::tenant`): the tenant
//! condition every statement on a tenant model gets, the writes by key,
//! and the Citus-shaped, row-level-secured DDL.

use super::*;
use crate::migrate::ops::{diff, Op};
use crate::migrate::state::{Renames, SchemaState};
use crate::sql::ddl::{self, Create};
use crate::sql::writes;
use crate::tenant::{self, TenantId};

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "orgs", crate = "crate")]
struct Org {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

/// Tenant by a foreign key to the tenant model.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "projects", crate = "crate")]
struct Project {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    org: ForeignKey<Org>,
    #[orm(unique)]
    slug: String,
}

/// Tenant by a plain column, with row-level security.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tasks", crate = "crate", unique_together(project, title))]
struct Task {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant, rls)]
    tenant_id: i64,
    project: ForeignKey<Project>,
    title: String,
    reviewer: Option<ForeignKey<Org>>,
    #[orm(on_delete = "set_null")]
    parent: Option<ForeignKey<Task>>,
}

const TASK_COLS: &str = r#""tasks"."id", "tasks"."tenant_id", "tasks"."project_id", "tasks"."title", "tasks"."reviewer_id", "tasks"."parent_id""#;

fn in_tenant<R>(t: impl Into<TenantId>, f: impl FnOnce() -> R) -> R {
    tenant::with_tenant(Some(t.into()), f)
}

fn sql_of<M: Model>(qs: QuerySet<M>) -> (String, Vec<Value>) {
    let stmt = qs.sql().expect("renders").expect("sends a query");
    (stmt.sql, stmt.binds)
}

#[test]
fn no_current_tenant_is_an_error_not_every_row() {
    let err = Task::all().sql().unwrap_err().to_string();
    assert!(
        err.contains("Task is a tenant model and no tenant is current"),
        "{err}"
    );
    assert!(err.contains("orm_core::tenant::scope("), "{err}");
    assert!(err.contains("all_tenants()"), "{err}");
    let err = Task::filter(q!(title = "a"))
        .count_or_exists(false)
        .unwrap_err();
    assert!(err.to_string().contains("no tenant is current"), "{err}");
    let err = Task::all().delete_bound().unwrap_err();
    assert!(err.to_string().contains("no tenant is current"), "{err}");
    // A model without a tenant field needs none.
    assert!(Org::all().sql().is_ok());
}

#[test]
fn a_query_in_a_tenant_scope_is_filtered_by_it() {
    let (sql, binds) = in_tenant(7_i64, || sql_of(Task::filter(q!(title = "a"))));
    assert_eq!(
        sql,
        format!(
            r#"SELECT {TASK_COLS} FROM "tasks" WHERE "tasks"."title" = $1 AND "tasks"."tenant_id" = $2"#
        )
    );
    assert_eq!(
        binds,
        vec![Value::Text(Some("a".into())), Value::I64(Some(7))]
    );
    // An `OR` of the user's stays inside its parentheses: the tenant's
    // condition holds for every row.
    let (sql, _) = in_tenant(7_i64, || {
        sql_of(Task::filter(q!(title = "a") | q!(title = "b")))
    });
    assert_eq!(
        sql,
        format!(
            r#"SELECT {TASK_COLS} FROM "tasks" WHERE ("tasks"."title" = $1 OR "tasks"."title" = $2) AND "tasks"."tenant_id" = $3"#
        )
    );
    // No filter of its own: the tenant's alone.
    let (sql, binds) = in_tenant(7_i64, || sql_of(Task::all()));
    assert_eq!(
        sql,
        format!(r#"SELECT {TASK_COLS} FROM "tasks" WHERE "tasks"."tenant_id" = $1"#)
    );
    assert_eq!(binds, vec![Value::I64(Some(7))]);
    // A foreign key as the tenant: its column, the tenant as its key's type.
    let (sql, binds) = in_tenant(3_i32, || sql_of(Project::all()));
    assert_eq!(
        sql,
        r#"SELECT "projects"."id", "projects"."org_id", "projects"."slug" FROM "projects" WHERE "projects"."org_id" = $1"#
    );
    assert_eq!(binds, vec![Value::I64(Some(3))]);
}

#[test]
fn a_tenant_of_another_type_is_refused() {
    let err = in_tenant("acme", || Task::all().sql().unwrap_err().to_string());
    assert!(
        err.contains("the current tenant acme is not a value of the tenant field's type (bigint)"),
        "{err}"
    );
}

#[test]
fn count_exists_update_delete_are_filtered_too() {
    in_tenant(7_i64, || {
        let count = Task::filter(q!(title = "a"))
            .count_or_exists(false)
            .unwrap()
            .unwrap();
        assert_eq!(
            count.sql,
            r#"SELECT COUNT(*) FROM "tasks" WHERE "tasks"."title" = $1 AND "tasks"."tenant_id" = $2"#
        );
        let delete = Task::filter(q!(id = 5)).delete_bound().unwrap().unwrap();
        // Not the text by key (one `field = value`): the tenant's condition too.
        assert_eq!(
            delete.sql,
            r#"DELETE FROM "tasks" WHERE "tasks"."id" = $1 AND "tasks"."tenant_id" = $2"#
        );
        assert_eq!(
            &delete.binds[..],
            &[Value::I64(Some(5)), Value::I64(Some(7))]
        );
        let update = Task::filter(q!(id = 5))
            .update_bound(q!(title = "b"))
            .unwrap()
            .unwrap();
        assert_eq!(
            update.sql,
            r#"UPDATE "tasks" SET "title" = $1 WHERE "tasks"."id" = $2 AND "tasks"."tenant_id" = $3"#
        );
        assert_eq!(
            &update.binds[..],
            &[
                Value::Text(Some("b".into())),
                Value::I64(Some(5)),
                Value::I64(Some(7))
            ]
        );
    });
}

#[test]
fn a_subquery_of_a_tenant_model_is_filtered() {
    let (sql, binds) = in_tenant(7_i64, || {
        sql_of(Org::filter(q!(
            id__in = Task::filter(q!(title = "a")).values("reviewer")
        )))
    });
    assert_eq!(
        sql,
        r#"SELECT "orgs"."id", "orgs"."name" FROM "orgs" WHERE "orgs"."id" IN (SELECT "tasks"."reviewer_id" FROM "tasks" WHERE "tasks"."title" = $1 AND "tasks"."tenant_id" = $2)"#
    );
    assert_eq!(
        binds,
        vec![Value::Text(Some("a".into())), Value::I64(Some(7))]
    );
}

#[test]
fn all_tenants_and_unscoped_are_the_explicit_escape() {
    let plain = format!(r#"SELECT {TASK_COLS} FROM "tasks""#);
    // Without a current tenant, and inside one: not filtered.
    assert_eq!(sql_of(Task::objects_all_tenants()).0, plain);
    assert_eq!(
        in_tenant(7_i64, || sql_of(Task::all().all_tenants())).0,
        plain
    );
    assert_eq!(tenant::with_tenant(None, || sql_of(Task::all())).0, plain);
    assert!(tenant::with_tenant(None, tenant::is_unscoped));
    assert_eq!(tenant::with_tenant(None, tenant::current), None);
    assert_eq!(
        in_tenant(7_i64, tenant::current),
        Some(TenantId::from(7_i64))
    );
    // Scopes nest: the innermost wins.
    let inner = in_tenant(7_i64, || in_tenant(8_i64, tenant::current));
    assert_eq!(inner, Some(TenantId::from(8_i64)));
}

#[test]
fn writes_by_key_name_the_row_in_its_tenant() {
    assert_eq!(
        writes::delete_by_pk(Task::META),
        r#"DELETE FROM "tasks" WHERE "id" = $1 AND "tenant_id" = $2"#
    );
    assert_eq!(
        writes::update_by_pk(Task::META),
        r#"UPDATE "tasks" SET "tenant_id" = $1, "project_id" = $2, "title" = $3, "reviewer_id" = $4, "parent_id" = $5 WHERE "id" = $6 AND "tenant_id" = $7"#
    );
    assert_eq!(
        writes::bulk_update(Task::META, &[&Task::META.fields[3]]),
        r#"UPDATE "tasks" SET "title" = "v"."k2" FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS "v"("k0", "k1", "k2") WHERE "tasks"."id" = "v"."k0" AND "tasks"."tenant_id" = "v"."k1""#
    );
    // A model without a tenant: by its key alone, as before.
    assert_eq!(
        writes::delete_by_pk(Org::META),
        r#"DELETE FROM "orgs" WHERE "id" = $1"#
    );
}

#[test]
fn stamping_sets_an_unset_tenant_and_refuses_another() {
    in_tenant(7_i64, || {
        let mut task = Task::default();
        tenant::stamp(&mut task).expect("stamped");
        assert_eq!(task.tenant_id, 7);
        let mut other = Task {
            tenant_id: 8,
            ..Task::default()
        };
        let err = tenant::stamp(&mut other).unwrap_err().to_string();
        assert!(
            err.contains("the object belongs to tenant 8 but the current tenant is 7"),
            "{err}"
        );
        assert!(tenant::check_row(&other).is_err());
        assert!(tenant::check_row(&task).is_ok());
    });
    // Without a tenant: an error; unscoped: kept as given.
    assert!(tenant::stamp(&mut Task::default()).is_err());
    let mut given = Task {
        tenant_id: 8,
        ..Task::default()
    };
    tenant::with_tenant(None, || tenant::stamp(&mut given)).expect("unscoped");
    assert_eq!(given.tenant_id, 8);
}

#[test]
fn tenant_tables_are_shaped_for_citus() {
    let state = SchemaState::from_models(&[Org::META, Project::META, Task::META]);
    let sql = |name: &str| {
        let t = &state.tables[name];
        ddl::create_table(&t.ddl(name, |_| true), Create::New).expect("sql")
    };
    // The key and unique constraints include the tenant column; a foreign
    // key to another tenant model includes both tenant columns.
    assert_eq!(
        sql("projects"),
        "CREATE TABLE \"projects\" (\n    \"id\" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,\n    \"org_id\" bigint NOT NULL,\n    \"slug\" text NOT NULL,\n    CONSTRAINT \"projects_pkey\" PRIMARY KEY (\"org_id\", \"id\"),\n    CONSTRAINT \"projects_org_id_slug_uniq\" UNIQUE (\"org_id\", \"slug\"),\n    CONSTRAINT \"projects_org_id_fkey\" FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\") ON DELETE CASCADE\n)"
    );
    assert_eq!(
        sql("tasks"),
        "CREATE TABLE \"tasks\" (\n    \"id\" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,\n    \"tenant_id\" bigint NOT NULL,\n    \"project_id\" bigint NOT NULL,\n    \"title\" text NOT NULL,\n    \"reviewer_id\" bigint NULL,\n    \"parent_id\" bigint NULL,\n    CONSTRAINT \"tasks_pkey\" PRIMARY KEY (\"tenant_id\", \"id\"),\n    CONSTRAINT \"tasks_tenant_id_project_id_title_uniq\" UNIQUE (\"tenant_id\", \"project_id\", \"title\"),\n    CONSTRAINT \"tasks_project_id_fkey\" FOREIGN KEY (\"tenant_id\", \"project_id\") REFERENCES \"projects\" (\"org_id\", \"id\") ON DELETE CASCADE,\n    CONSTRAINT \"tasks_reviewer_id_fkey\" FOREIGN KEY (\"reviewer_id\") REFERENCES \"orgs\" (\"id\") ON DELETE CASCADE,\n    CONSTRAINT \"tasks_parent_id_fkey\" FOREIGN KEY (\"tenant_id\", \"parent_id\") REFERENCES \"tasks\" (\"tenant_id\", \"id\") ON DELETE SET NULL (\"parent_id\")\n)"
    );
}

#[test]
fn rls_is_enabled_forced_and_keyed_on_the_setting() {
    assert_eq!(
        ddl::enable_rls("tasks", "tenant_id", "bigint", Create::New).expect("sql"),
        "ALTER TABLE \"tasks\" ENABLE ROW LEVEL SECURITY;\nALTER TABLE \"tasks\" FORCE ROW LEVEL SECURITY;\nCREATE POLICY \"tenant_isolation\" ON \"tasks\" USING (\"tenant_id\" = NULLIF(current_setting('orm.tenant', true), '')::bigint) WITH CHECK (\"tenant_id\" = NULLIF(current_setting('orm.tenant', true), '')::bigint)"
    );
    // generate_schemas runs again: the policy is dropped first.
    assert!(ddl::enable_rls("tasks", "tenant_id", "bigint", Create::IfMissing)
        .expect("sql")
        .contains("FORCE ROW LEVEL SECURITY;\nDROP POLICY IF EXISTS \"tenant_isolation\" ON \"tasks\";\nCREATE POLICY"));
    assert_eq!(
        ddl::disable_rls("tasks").expect("sql"),
        "DROP POLICY IF EXISTS \"tenant_isolation\" ON \"tasks\";\nALTER TABLE \"tasks\" NO FORCE ROW LEVEL SECURITY;\nALTER TABLE \"tasks\" DISABLE ROW LEVEL SECURITY"
    );
    // A migration creating the table enables it after the table (and
    // its revert disables it); a model without `rls` has none.
    let new = SchemaState::from_models(&[Org::META, Project::META, Task::META]);
    let ops = diff(
        &SchemaState::default(),
        &new,
        &Renames::default(),
        &Default::default(),
    )
    .expect("a diff");
    let rls: Vec<&Op> = ops
        .iter()
        .filter(|op| matches!(op, Op::EnableRls(..)))
        .collect();
    assert_eq!(rls.len(), 1, "{ops:?}");
    let Op::EnableRls(table, state) = rls[0] else {
        unreachable!()
    };
    assert_eq!(
        (
            table.as_str(),
            state.column.as_str(),
            state.sql_type.as_str()
        ),
        ("tasks", "tenant_id", "bigint")
    );
    let at = |pred: &dyn Fn(&Op) -> bool| ops.iter().position(pred).expect("present");
    assert!(
        at(&|op| matches!(op, Op::CreateTable(t, _) if t == "tasks"))
            < at(&|op| matches!(op, Op::EnableRls(..)))
    );
    assert_eq!(
        rls[0].inverse(),
        Op::DisableRls("tasks".into(), state.clone())
    );
    // Switching it off later is one op; nothing changed, none.
    let again = diff(&new, &new, &Renames::default(), &Default::default()).expect("a diff");
    assert!(again.is_empty(), "{again:?}");
    let mut off = new.clone();
    off.tables.get_mut("tasks").expect("tasks").rls = None;
    let ops = diff(&new, &off, &Renames::default(), &Default::default()).expect("a diff");
    assert_eq!(ops, vec![Op::DisableRls("tasks".into(), state.clone())]);
}

#[test]
fn a_select_related_tenant_model_is_joined_in_the_tenant_only() {
    let (sql, binds) = in_tenant(7_i64, || {
        sql_of(Task::filter(q!(title = "a")).select_related(["project"]))
    });
    assert_eq!(
        sql,
        format!(
            r#"SELECT {TASK_COLS}, "sr_project"."id", "sr_project"."org_id", "sr_project"."slug" FROM "tasks" INNER JOIN "projects" AS "sr_project" ON "sr_project"."id" = "tasks"."project_id" AND "sr_project"."org_id" = $1 WHERE "tasks"."title" = $2 AND "tasks"."tenant_id" = $3"#
        )
    );
    assert_eq!(
        binds,
        vec![
            Value::I64(Some(7)),
            Value::Text(Some("a".into())),
            Value::I64(Some(7))
        ]
    );
    // The escape reaches the joined model's every tenant too.
    let (sql, binds) = sql_of(Task::objects_all_tenants().select_related(["project"]));
    assert!(!sql.contains("$1"), "{sql}");
    assert!(binds.is_empty());
    // Without a tenant, the query with its joins is an error.
    assert!(Task::all().select_related(["project"]).sql().is_err());
}

/// Not a tenant model, with a foreign key to one (no schema can hold it).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "task_notes", crate = "crate")]
struct TaskNote {
    #[orm(primary_key)]
    id: i64,
    task: ForeignKey<Task>,
}

#[test]
fn relations_no_tenant_schema_can_hold_are_refused_before_any_sql() {
    let err = crate::schema::schema_sql(&[Org::META, Project::META, Task::META, TaskNote::META])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid database configuration: TaskNote.task is a foreign key to Task, a tenant \
         model: Task's primary key includes its tenant column `tenant_id`, so a key from \
         TaskNote, which has no tenant field, has nothing to refer to. Give TaskNote a tenant \
         field (`#[orm(tenant)] pub tenant_id: ..` of the type of Task.tenant_id); the \
         foreign key then includes it"
    );
    // Many-to-many links: `tenant_links.rs`.
    // The models without them are fine.
    assert!(crate::schema::schema_sql(&[Org::META, Project::META, Task::META]).is_ok());
    // Migrations say the same, before writing anything.
    let dir = std::env::temp_dir().join(format!("orm_tenant_check_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary dir");
    let migrator = crate::migrate::Migrator::new(&dir).models(&[
        Org::META,
        Project::META,
        Task::META,
        TaskNote::META,
    ]);
    let err = migrator.check().unwrap_err().to_string();
    assert!(
        err.contains("TaskNote.task is a foreign key to Task"),
        "{err}"
    );
    let err = migrator
        .changes(&Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TaskNote.task is a foreign key to Task"),
        "{err}"
    );
    let made = migrator
        .make(&Default::default())
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(
        made.contains("TaskNote.task is a foreign key to Task"),
        "{made}"
    );
    let written = std::fs::read_dir(&dir).expect("the dir").count();
    std::fs::remove_dir_all(&dir).expect("removed");
    assert_eq!(written, 0, "nothing written");
}
