//! Tenant models (`#[orm(tenant)]`): organisations (the tenants, not a
//! tenant model), their projects (tenant: the `org` foreign key) and
//! tasks (tenant: a plain `tenant_id`, with row-level security).

use orm_core::prelude::*;

/// A tenant: not a tenant model itself.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tn_orgs")]
pub(crate) struct TnOrg {
    /// Key (the tenant id).
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// TnProject.org, reversed: restricted to the current tenant.
    pub projects: Reverse<TnProject>,
}

/// A project of one organisation.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tn_projects")]
pub(crate) struct TnProject {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The tenant, by a foreign key to it.
    #[orm(tenant, related_name = "projects")]
    pub org: ForeignKey<TnOrg>,
    /// Name, unique per tenant (the constraint includes the tenant column).
    #[orm(unique)]
    pub name: String,
    /// TnTask.project, reversed.
    pub tasks: Reverse<TnTask>,
}

/// A task: tenant by a plain column, enforced by PostgreSQL too.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tn_tasks")]
pub(crate) struct TnTask {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// The tenant.
    #[orm(tenant, rls)]
    pub tenant_id: i64,
    /// Its project (same tenant: the foreign key includes the tenant column).
    #[orm(related_name = "tasks")]
    pub project: ForeignKey<TnProject>,
    /// Title.
    pub title: String,
    /// Estimate, for aggregates.
    pub points: i32,
}
