//! Migration files as a history: gaps, conflicting branches and their merge, and the commands that show and run them.

use orm_core::migrate::MakeOptions;
use orm_core::prelude::*;

use crate::common::folder;
use crate::migration_support::{empty_db, generated, introspect, migrator, written};
use crate::models::migrated_people::{v1, v2, v3};

#[tokio::test]
async fn gaps_and_conflicts_are_reported_and_merged() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m1 = migrator(&dir, &db, &[v1::Person::META]);
    m1.make(&MakeOptions::default())?;
    // Two branches each add a migration after 0001.
    let a = written(migrator(&dir, &db, &[v2::Person::META]).make(&MakeOptions {
        name: Some("branch a".into()),
        ..Default::default()
    })?);
    let a_state = a.with_extension("state.json");
    let (a_sql, a_json) = (
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read(&a_state).unwrap(),
    );
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(&a_state).unwrap();
    let b = written(
        migrator(&dir, &db, &[v1::Person::META, v3::Team::META]).make(&MakeOptions {
            name: Some("branch b".into()),
            ..Default::default()
        })?,
    );
    assert!(b.ends_with("0002_branch_b.sql"));
    std::fs::write(dir.join("0002_branch_a.sql"), a_sql).unwrap();
    std::fs::write(dir.join("0002_branch_a.state.json"), a_json).unwrap();
    let err = m1.graph().unwrap_err().to_string();
    assert!(
        err.contains("0002_branch_a and 0002_branch_b all follow 0001_initial"),
        "{err}"
    );
    assert!(err.contains("makemigrations --merge"), "{err}");
    let err = m1.make(&MakeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--merge"), "{err}");
    // The merge joins them; its state has both branches' changes.
    let merge = m1.merge()?;
    assert!(merge.ends_with("0003_merge.sql"), "{}", merge.display());
    let both = [v2::Person::META, v3::Team::META];
    assert!(
        !migrator(&dir, &db, &both).check()?,
        "the merged state is both branches'"
    );
    let steps = m1.migrate(None, false).await?;
    assert_eq!(steps.len(), 4);
    assert_eq!(introspect(&db).await?, generated(&both).await?);
    // A gap: a migration whose parent is gone.
    std::fs::remove_file(dir.join("0002_branch_b.sql")).unwrap();
    let err = m1.graph().unwrap_err().to_string();
    assert!(err.contains("gap"), "{err}");
    assert!(err.contains("0003_merge follows 0002_branch_b"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn command_line_and_named_databases() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    migrator(&dir, &db, &[v1::Person::META]).make(&MakeOptions::default())?;
    let dir_arg = dir.to_str().unwrap().to_owned();
    let run = |args: Vec<String>| async move {
        let mut out = Vec::new();
        let code = orm_core::cli::run_args(args, &mut out).await?;
        Ok::<_, Error>((code, String::from_utf8(out).unwrap()))
    };
    let (code, sql) = run(vec![
        "--dir".into(),
        dir_arg.clone(),
        "sqlmigrate".into(),
        "0001".into(),
    ])
    .await?;
    assert_eq!(code, 0);
    assert!(sql.starts_with("CREATE TABLE \"mig_people\""), "{sql}");
    let (_, down) = run(vec![
        "--dir".into(),
        dir_arg.clone(),
        "sqlmigrate".into(),
        "0001".into(),
        "--revert".into(),
    ])
    .await?;
    assert_eq!(down.trim(), "DROP TABLE \"mig_people\";");
    // A named database, registered as the connection layer registers it.
    orm_core::register("mig_reports", db.clone());
    let (code, out) = run(vec![
        "--dir".into(),
        dir_arg.clone(),
        "--database".into(),
        "mig_reports".into(),
        "migrate".into(),
    ])
    .await?;
    assert_eq!((code, out.as_str()), (0, "Applied 0001_initial\n"));
    let (_, shown) = run(vec![
        "--dir".into(),
        dir_arg.clone(),
        "--database".into(),
        "mig_reports".into(),
        "showmigrations".into(),
    ])
    .await?;
    assert_eq!(shown, "[X] 0001_initial\n");
    let err = run(vec![
        "--dir".into(),
        dir_arg.clone(),
        "--database".into(),
        "nope".into(),
        "migrate".into(),
    ])
    .await
    .unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL_NOPE"), "{err}");
    let err = run(vec!["frobnicate".into()]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
