//! migrate: migrations applied and reverted with rows kept, failures rolled back, edits reported, runs serialized.

use orm_core::migrate::{Direction, Made, MakeOptions};
use orm_core::prelude::*;

use crate::common::folder;
use crate::migration_support::{count, empty_db, generated, introspect, migrator, query, written};
use crate::models::migrated_people::{v1, v2, v3};

/// Version 1 with its fields in another order: the same schema.
mod v1_reordered {
    use orm_core::prelude::*;

    /// A person.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_people")]
    pub(super) struct Person {
        /// Optional text.
        pub bio: Option<String>,
        /// Age.
        pub age: i32,
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Name.
        pub name: String,
    }
}

fn names(steps: &[orm_core::migrate::Step]) -> Vec<(String, Direction)> {
    steps
        .iter()
        .map(|s| (s.name.clone(), s.direction))
        .collect()
}

#[tokio::test]
async fn v1_v2_v3_applied_and_reverted_with_rows_kept() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    // v1: the first migration creates the table.
    let m1 = migrator(&dir, &db, &[v1::Person::META]);
    let path = written(m1.make(&MakeOptions::default())?);
    assert!(path.ends_with("0001_initial.sql"), "{}", path.display());
    assert_eq!(m1.make(&MakeOptions::default())?, Made::NoChanges);
    assert!(!m1.check()?, "models and migrations agree");
    let reordered = migrator(&dir, &db, &[v1_reordered::Person::META]);
    assert!(!reordered.check()?, "reordered fields need no migration");
    assert_eq!(reordered.make(&MakeOptions::default())?, Made::NoChanges);
    assert_eq!(
        names(&m1.migrate(None, false).await?),
        [("0001_initial".to_owned(), Direction::Apply)]
    );
    orm_core::scope(&db, async {
        for (name, age) in [("Ada", 36), ("Bob", 41), ("Cy", 7)] {
            v1::Person::create(v1::Person {
                name: name.into(),
                age,
                bio: Some(format!("{name}'s bio")),
                ..Default::default()
            })
            .await?;
        }
        Ok::<_, Error>(())
    })
    .await?;

    // v2: rename, widen, index, add with default.
    let m2 = migrator(&dir, &db, &[v2::Person::META]);
    assert!(m2.check()?, "the models changed");
    let path = written(m2.make(&MakeOptions::default())?);
    let sql = std::fs::read_to_string(&path).unwrap();
    assert!(
        sql.contains(r#"ALTER TABLE "mig_people" RENAME COLUMN "name" TO "full_name";"#),
        "{sql}"
    );
    assert!(
        sql.contains(
            r#"ALTER TABLE "mig_people" ALTER COLUMN "age" TYPE bigint USING "age"::bigint;"#
        ),
        "{sql}"
    );
    assert!(
        sql.contains(r#"ADD COLUMN "karma" integer NOT NULL DEFAULT 0;"#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"CREATE INDEX "mig_people_age_idx""#),
        "{sql}"
    );
    assert!(!sql.contains("-- destructive:"), "nothing is lost: {sql}");
    assert!(
        sql.contains("-- destructive-down: narrows"),
        "reverting narrows age: {sql}"
    );
    assert!(
        !sql.contains("DROP COLUMN \"name\""),
        "a rename, not a drop: {sql}"
    );
    m2.migrate(None, false).await?;
    let people = orm_core::scope(&db, async { v2::Person::all().order_by(["id"]).await }).await?;
    let seen: Vec<(&str, i64, i32, Option<&str>)> = people
        .iter()
        .map(|p| (p.full_name.as_str(), p.age, p.karma, p.bio.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Ada", 36, 0, Some("Ada's bio")),
            ("Bob", 41, 0, Some("Bob's bio")),
            ("Cy", 7, 0, Some("Cy's bio")),
        ]
    );

    // Back to 0001 (reverting narrows age: the flag), then forward again.
    let err = m2.migrate(Some("0001"), false).await.unwrap_err();
    assert!(err.to_string().contains("--allow-destructive"), "{err}");
    assert_eq!(
        names(&m2.migrate(Some("0001"), true).await?),
        [(
            "0002_rename_mig_people_full_name_and_more".to_owned(),
            Direction::Revert
        )]
    );
    let back = orm_core::scope(&db, async { v1::Person::all().order_by(["id"]).await }).await?;
    assert_eq!(
        back.iter()
            .map(|p| (p.name.as_str(), p.age))
            .collect::<Vec<_>>(),
        [("Ada", 36), ("Bob", 41), ("Cy", 7)]
    );
    m2.migrate(None, false).await?;
    assert_eq!(count(&db, "mig_people").await?, 3);

    // v3: a new table and key; dropping bio needs the flag.
    let models3 = [v3::Team::META, v3::Person::META];
    let m3 = migrator(&dir, &db, &models3);
    let path = written(m3.make(&MakeOptions::default())?);
    let sql = std::fs::read_to_string(&path).unwrap();
    assert!(
        sql.contains(r#"-- destructive: drops column "mig_people"."bio""#),
        "{sql}"
    );
    let err = m3.migrate(None, false).await.unwrap_err();
    assert!(err.to_string().contains("drops column"), "{err}");
    assert!(err.to_string().contains("nothing was run"), "{err}");
    let status = m3.status().await?;
    assert_eq!(
        status.iter().map(|s| s.applied).collect::<Vec<_>>(),
        [true, true, false]
    );
    m3.migrate(None, true).await?;
    assert_eq!(count(&db, "mig_people").await?, 3, "rows kept");
    orm_core::scope(&db, async {
        let team = v3::Team::create(v3::Team {
            name: "core".into(),
            ..Default::default()
        })
        .await?;
        let mut ada = v3::Person::get(q!(full_name = "Ada")).await?;
        ada.team = Some(ForeignKey::to(&team)?);
        ada.save().await?;
        team.delete().await?;
        ada.refresh_from_db().await?;
        assert!(ada.team.is_none(), "ON DELETE SET NULL from the migration");
        Ok::<_, Error>(())
    })
    .await?;
    assert!(!m3.check()?);

    // The migrated schema is the one generate_schemas creates.
    let schema = introspect(&db).await?;
    for expected in [
        "column mig_people.age bigint not_null=true",
        "column mig_people.karma integer not_null=true default=Some(\"0\")",
        "constraint mig_people.mig_people_team_id_fkey FOREIGN KEY (team_id) REFERENCES mig_teams(id) ON DELETE SET NULL",
        "constraint mig_teams.mig_teams_name_key UNIQUE (name)",
        "index mig_people.mig_people_age_idx",
    ] {
        assert!(schema.iter().any(|l| l.starts_with(expected)), "{expected} in {schema:#?}");
    }
    assert!(!schema.iter().any(|l| l.contains(".bio ")), "bio is gone");
    assert_eq!(schema, generated(&models3).await?);

    // All the way back: only the history table is left.
    m3.migrate(Some("zero"), true).await?;
    assert!(introspect(&db).await?.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_failing_migration_changes_nothing_and_edits_are_reported() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m = migrator(&dir, &db, &[v1::Person::META]);
    m.make(&MakeOptions::default())?;
    m.migrate(None, false).await?;
    let path = m.make_empty(Some("broken data fix"))?;
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "-- Write the SQL to apply here.\n",
        "ALTER TABLE mig_people ADD COLUMN x integer;\nINSERT INTO mig_people (name, age) VALUES ('Zed', 1);\nSELECT 1/0;\n",
    );
    std::fs::write(&path, text).unwrap();
    let err = m.migrate(None, false).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("0002_broken_data_fix failed and was rolled back"),
        "{message}"
    );
    assert!(message.contains("division by zero"), "{message}");
    assert_eq!(
        count(&db, "mig_people").await?,
        0,
        "the insert was rolled back"
    );
    assert!(
        !introspect(&db)
            .await?
            .iter()
            .any(|l| l.contains("mig_people.x ")),
        "the column was rolled back"
    );
    assert_eq!(
        m.status()
            .await?
            .iter()
            .map(|s| s.applied)
            .collect::<Vec<_>>(),
        [true, false]
    );
    // An edited file is applied as edited.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("SELECT 1/0;\n", "");
    std::fs::write(&path, text).unwrap();
    m.migrate(None, false).await?;
    assert_eq!(count(&db, "mig_people").await?, 1);
    // Editing it again after it was applied is reported, not re-run.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("'Zed'", "'Zoe'");
    std::fs::write(&path, text).unwrap();
    let err = m.migrate(None, false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("0002_broken_data_fix was edited after it was applied"),
        "{err}"
    );
    let status = m.status().await?;
    assert!(status[1].applied && status[1].edited, "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn concurrent_runs_are_serialized() -> Result<()> {
    let dir = folder();
    let db = empty_db().await;
    let m = migrator(&dir, &db, &[v3::Team::META, v3::Person::META]);
    m.make(&MakeOptions::default())?;
    let (a, b) = tokio::join!(m.migrate(None, false), m.migrate(None, false));
    let (a, b) = (a?, b?);
    assert_eq!(a.len() + b.len(), 1, "applied once: {a:?} {b:?}");
    let applied: Vec<(i64,)> = query(&db, "SELECT count(*) FROM orm_migrations").await?;
    assert_eq!(applied[0].0, 1);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
