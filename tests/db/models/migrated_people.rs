//! Versions of a person (`mig_people`) and a team that the migration tests migrate between.
//!
//! Every version is the table `mig_people`: the migration tests make their
//! schema with migrations, so which one `generate_schemas` keeps elsewhere
//! does not matter to them.

/// Version 1: a person with a name, an age and a bio.
pub(crate) mod v1 {
    use orm_core::prelude::*;

    /// A person.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_people")]
    pub(crate) struct Person {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Name.
        pub name: String,
        /// Age.
        pub age: i32,
        /// Optional text.
        pub bio: Option<String>,
    }
}

/// Version 2: `name` renamed to `full_name`, `age` widened to bigint and
/// indexed, `karma` added with a default.
pub(crate) mod v2 {
    use orm_core::prelude::*;

    /// A person.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_people")]
    pub(crate) struct Person {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Renamed from `name`.
        #[orm(renamed_from = "name")]
        pub full_name: String,
        /// Now bigint, indexed.
        #[orm(index)]
        pub age: i64,
        /// Optional text.
        pub bio: Option<String>,
        /// New, DEFAULT 0.
        #[orm(default = 0)]
        pub karma: i32,
    }
}

/// Version 3: a team table and a foreign key to it; `bio` dropped.
pub(crate) mod v3 {
    use orm_core::prelude::*;

    /// A team.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_teams")]
    pub(crate) struct Team {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Unique name.
        #[orm(unique, max_length = 50)]
        pub name: String,
    }

    /// A person.
    #[derive(Model, Debug, Clone, Default)]
    #[orm(table = "mig_people")]
    pub(crate) struct Person {
        /// Key.
        #[orm(primary_key)]
        pub id: i64,
        /// Full name.
        pub full_name: String,
        /// Indexed.
        #[orm(index)]
        pub age: i64,
        /// DEFAULT 0.
        #[orm(default = 0)]
        pub karma: i32,
        /// New: the person's team, if any.
        #[orm(on_delete = "set_null")]
        pub team: Option<ForeignKey<Team>>,
    }
}
