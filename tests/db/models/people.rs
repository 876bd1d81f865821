//! People in groups and on projects (two through models) and with friends (a self link).

use orm_core::prelude::*;

use super::names_of;

/// A person in groups (through a model with a role) and with friends.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_people")]
pub(crate) struct Person {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique name.
    #[orm(unique)]
    pub name: String,
    /// Linked through the `Membership` model's table.
    #[orm(through = "relx_memberships", related_name = "members")]
    pub groups: ManyToMany<Group>,
    /// Self-referential: columns from_person_id / to_person_id.
    #[orm(related_name = "friend_of")]
    pub friends: ManyToMany<Person>,
    /// `friends`, reversed: the people who list this one.
    pub friend_of: Reverse<Person>,
    /// Membership.person, reversed.
    pub memberships: Reverse<Membership>,
    /// Linked through `Assignment`, whose `hours` has no default.
    #[orm(through = "relx_assignments")]
    pub projects: ManyToMany<Project>,
}

/// A group of people.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_groups")]
pub(crate) struct Group {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Person.groups, reversed.
    pub members: Reverse<Person>,
    /// Membership.group, reversed.
    pub memberships: Reverse<Membership>,
}

/// The through model of `Person.groups`, with a column of its own.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_memberships", unique_together(person, group))]
pub(crate) struct Membership {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Column person_id.
    #[orm(related_name = "memberships")]
    pub person: ForeignKey<Person>,
    /// Column group_id (a reserved word as a field name).
    #[orm(related_name = "memberships")]
    pub group: ForeignKey<Group>,
    /// Extra column; its default lets `person.groups().add(..)` insert.
    #[orm(default = "member")]
    pub role: String,
}

/// A project people are assigned to.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_projects")]
pub(crate) struct Project {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
}

/// The through model of `Person.projects`: `hours` is required.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_assignments", unique_together(person, project))]
pub(crate) struct Assignment {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Column person_id.
    pub person: ForeignKey<Person>,
    /// Column project_id.
    pub project: ForeignKey<Project>,
    /// No default: a bare link cannot be inserted.
    pub hours: i32,
}

pub(crate) async fn person(name: &str) -> Result<Person> {
    Person::create(Person {
        name: name.into(),
        ..Default::default()
    })
    .await
}

pub(crate) async fn group(name: &str) -> Result<Group> {
    Group::create(Group {
        name: name.into(),
        ..Default::default()
    })
    .await
}

pub(crate) async fn member(p: &Person, g: &Group, role: &str) -> Result<Membership> {
    Membership::create(Membership {
        person: ForeignKey::to(p)?,
        group: ForeignKey::to(g)?,
        role: role.into(),
        ..Default::default()
    })
    .await
}

pub(crate) fn people(rows: &[Person]) -> Vec<String> {
    names_of(rows, |p| &p.name)
}

pub(crate) fn groups(rows: &[Group]) -> Vec<String> {
    names_of(rows, |g| &g.name)
}
