// Tenant fields (`#[orm(tenant)]`): two on one model, one of a type a
// tenant cannot be, an `Option`, the single primary key, `rls` without
// `tenant`, and `tenant` given a value.

use orm_core::prelude::*;

#[derive(Model)]
struct TwoTenants {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    tenant_id: i64,
    #[orm(tenant)]
    org_id: i64,
}

#[derive(Model)]
struct FloatTenant {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    tenant: f64,
}

#[derive(Model)]
struct OptionalTenant {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    tenant_id: Option<i64>,
}

#[derive(Model)]
struct KeyTenant {
    #[orm(primary_key, tenant)]
    id: i64,
}

#[derive(Model)]
struct RlsAlone {
    #[orm(primary_key)]
    id: i64,
    #[orm(rls)]
    tenant_id: i64,
}

#[derive(Model)]
struct TenantValue {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant = true)]
    tenant_id: i64,
}

fn main() {}
