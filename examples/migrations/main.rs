//! Migrations end to end: a model changes, `makemigrations` writes the SQL,
//! `migrate` applies it (and reverts it) while the rows stay.
//!
//! `cargo run --example migrations`. With `DATABASE_URL` unset it starts a
//! throwaway PostgreSQL; the migration files go to a temporary folder and
//! are printed as they are written.
//!
//! In an application the same steps are commands of a `manage` binary
//! (`fn main() { orm_core::cli::main() }`, see `examples/manage.rs`); this
//! example calls the library directly because it holds two versions of one
//! model, which a real application never does.

use orm_core::migrate::{Made, MakeOptions, Migrator};
use orm_core::prelude::*;

/// The model as first deployed.
mod v1 {
    use orm_core::prelude::*;

    /// A customer.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "customers")]
    pub(crate) struct Customer {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Name.
        pub name: String,
        /// Loyalty points.
        pub points: i32,
    }
}

/// The model a release later: `name` renamed, `points` widened, a new
/// column with a default, an index.
mod v2 {
    use orm_core::prelude::*;

    /// A customer.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "customers")]
    pub(crate) struct Customer {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Renamed: the column is renamed, its data kept.
        #[orm(renamed_from = "name")]
        pub full_name: String,
        /// Widened to bigint.
        #[orm(index)]
        pub points: i64,
        /// New, with a default for the rows already there.
        #[orm(default = "bronze", max_length = 20)]
        pub tier: String,
    }
}

fn show(made: Made) -> std::io::Result<()> {
    match made {
        Made::NoChanges => println!("No changes detected."),
        Made::Written { path, .. } => {
            println!("--- {} ---", path.display());
            print!("{}", std::fs::read_to_string(path)?);
            println!("---");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = orm_core::testing::test_db().await?;
    let dir = std::env::temp_dir().join(format!("orm-example-migrations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    println!("== makemigrations (v1)");
    let v1 = Migrator::new(&dir)
        .models(&[v1::Customer::META])
        .database(&db);
    show(v1.make(&MakeOptions::default())?)?;
    println!("== migrate");
    for step in v1.migrate(None, false).await? {
        println!("{:?} {}", step.direction, step.name);
    }
    orm_core::scope(&db, async {
        for (name, points) in [("Ada", 120), ("Grace", 40)] {
            v1::Customer::create(v1::Customer {
                name: name.into(),
                points,
                ..Default::default()
            })
            .await?;
        }
        Ok::<_, orm_core::Error>(())
    })
    .await?;

    println!("\n== makemigrations (v2)");
    let v2 = Migrator::new(&dir)
        .models(&[v2::Customer::META])
        .database(&db);
    show(v2.make(&MakeOptions::default())?)?;
    println!("== showmigrations");
    for s in v2.status().await? {
        println!("[{}] {}", if s.applied { "X" } else { " " }, s.name);
    }
    println!("== migrate");
    for step in v2.migrate(None, false).await? {
        println!("{:?} {}", step.direction, step.name);
    }
    let customers =
        orm_core::scope(&db, async { v2::Customer::all().order_by(["id"]).await }).await?;
    for c in &customers {
        println!("  {} has {} points, tier {}", c.full_name, c.points, c.tier);
    }

    println!("\n== migrate 0001 (revert; narrowing points back needs the flag)");
    match v2.migrate(Some("0001"), false).await {
        Err(err) => println!("refused: {err}"),
        Ok(_) => println!("unexpected: reverted without the flag"),
    }
    for step in v2.migrate(Some("0001"), true).await? {
        println!("{:?} {}", step.direction, step.name);
    }
    let back = orm_core::scope(&db, async { v1::Customer::all().order_by(["id"]).await }).await?;
    println!(
        "  rows kept: {:?}",
        back.iter().map(|c| (&c.name, c.points)).collect::<Vec<_>>()
    );
    println!(
        "== makemigrations --check: the v2 models differ from the files: {} (the files, not the database, are compared)",
        v2.check()?
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
