//! Many-to-many links between tenant models: the link table carries the
//! declaring model's tenant column (first in its key, its index and both
//! foreign keys), and every statement across it carries the tenant.

use super::*;
use crate::migrate::state::SchemaState;
use crate::sql::ddl::{self, Create};
use crate::sql::writes::{self, LinkKeys, LinkTenant};
use crate::tenant::{self, TenantId};

/// A tenant model (row-level security) linked to tenant cards and to
/// global topics.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_labels", crate = "crate")]
struct Label {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant, rls)]
    tenant_id: i64,
    name: String,
    #[orm(related_name = "labels")]
    cards: crate::ManyToMany<Card>,
    topics: crate::ManyToMany<Topic>,
}

/// A tenant model whose tenant column has another name.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_cards", crate = "crate")]
struct Card {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    account_id: i64,
    title: String,
    labels: Reverse<Label>,
}

/// Not a tenant model: shared by every tenant.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_topics", crate = "crate")]
struct Topic {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

/// No tenant field, linked to tenant cards: refused.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_strays", crate = "crate")]
struct Stray {
    #[orm(primary_key)]
    id: i64,
    cards: crate::ManyToMany<Card>,
}

/// A text tenant linked to integer-tenant cards: refused.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "tl_odds", crate = "crate")]
struct Odd {
    #[orm(primary_key)]
    id: i64,
    #[orm(tenant)]
    org: String,
    cards: crate::ManyToMany<Card>,
}

fn in_tenant<R>(t: impl Into<TenantId>, f: impl FnOnce() -> R) -> R {
    tenant::with_tenant(Some(t.into()), f)
}

fn sql_of<M: Model>(qs: QuerySet<M>) -> (String, Vec<Value>) {
    let stmt = qs.sql().expect("renders").expect("sends a query");
    (stmt.sql, stmt.binds)
}

const CARD_COLS: &str = r#""tl_cards"."id", "tl_cards"."account_id", "tl_cards"."title""#;

#[test]
fn a_tenant_link_table_carries_the_tenant_in_its_keys() {
    let state = SchemaState::from_models(&[Label::META, Card::META, Topic::META]);
    let sql = |name: &str| {
        let t = &state.tables[name];
        ddl::create_table(&t.ddl(name, |_| true), Create::New).expect("sql")
    };
    // Both sides tenant models: the tenant first in the key and in both
    // foreign keys (to each side's own tenant column).
    assert_eq!(
        sql("tl_labels_cards"),
        "CREATE TABLE \"tl_labels_cards\" (\n    \"tenant_id\" bigint NOT NULL,\n    \"label_id\" bigint NOT NULL,\n    \"card_id\" bigint NOT NULL,\n    CONSTRAINT \"tl_labels_cards_pkey\" PRIMARY KEY (\"tenant_id\", \"label_id\", \"card_id\"),\n    CONSTRAINT \"tl_labels_cards_label_id_fkey\" FOREIGN KEY (\"tenant_id\", \"label_id\") REFERENCES \"tl_labels\" (\"tenant_id\", \"id\") ON DELETE CASCADE,\n    CONSTRAINT \"tl_labels_cards_card_id_fkey\" FOREIGN KEY (\"tenant_id\", \"card_id\") REFERENCES \"tl_cards\" (\"account_id\", \"id\") ON DELETE CASCADE\n)"
    );
    let cards = &state.tables["tl_labels_cards"];
    assert_eq!(cards.indexes.len(), 1);
    assert_eq!(
        cards.indexes[0].name,
        "tl_labels_cards_tenant_id_card_id_idx"
    );
    assert_eq!(cards.indexes[0].columns, ["tenant_id", "card_id"]);
    // Row-level security as its owner's (`rls` on Label).
    let rls = cards.rls.as_ref().expect("rls");
    assert_eq!(
        (rls.column.as_str(), rls.sql_type.as_str()),
        ("tenant_id", "bigint")
    );
    // To a global model: the tenant in the key, the key to the global
    // side alone.
    assert_eq!(
        sql("tl_labels_topics"),
        "CREATE TABLE \"tl_labels_topics\" (\n    \"tenant_id\" bigint NOT NULL,\n    \"label_id\" bigint NOT NULL,\n    \"topic_id\" bigint NOT NULL,\n    CONSTRAINT \"tl_labels_topics_pkey\" PRIMARY KEY (\"tenant_id\", \"label_id\", \"topic_id\"),\n    CONSTRAINT \"tl_labels_topics_label_id_fkey\" FOREIGN KEY (\"tenant_id\", \"label_id\") REFERENCES \"tl_labels\" (\"tenant_id\", \"id\") ON DELETE CASCADE,\n    CONSTRAINT \"tl_labels_topics_topic_id_fkey\" FOREIGN KEY (\"topic_id\") REFERENCES \"tl_topics\" (\"id\") ON DELETE CASCADE\n)"
    );
    assert!(crate::schema::schema_sql(&[Label::META, Card::META, Topic::META]).is_ok());
    // A migration creates the link table after both sides and enables its
    // row-level security after it.
    let ops = crate::migrate::ops::diff(
        &SchemaState::default(),
        &state,
        &crate::migrate::state::Renames::default(),
        &Default::default(),
    )
    .expect("a diff");
    use crate::migrate::ops::Op;
    let at = |pred: &dyn Fn(&Op) -> bool| ops.iter().position(pred).expect("present");
    let link = at(&|op| matches!(op, Op::CreateTable(t, _) if t == "tl_labels_cards"));
    assert!(at(&|op| matches!(op, Op::CreateTable(t, _) if t == "tl_cards")) < link);
    assert!(at(&|op| matches!(op, Op::CreateTable(t, _) if t == "tl_labels")) < link);
    assert!(link < at(&|op| matches!(op, Op::EnableRls(t, _) if t == "tl_labels_cards")));
    // The label's `rls` holds its links to topics too; the cards' table
    // (no `rls`) has none.
    assert!(link < at(&|op| matches!(op, Op::EnableRls(t, _) if t == "tl_labels_topics")));
    assert!(!ops
        .iter()
        .any(|op| matches!(op, Op::EnableRls(t, _) if t == "tl_cards")));
}

#[test]
fn links_no_tenant_schema_can_hold_are_refused() {
    let err = crate::schema::schema_sql(&[Card::META, Stray::META])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid database configuration: Stray.cards is a many-to-many relation to Card, a \
         tenant model, declared on Stray, which has no tenant field: its link table would \
         have no tenant column, so neither Citus (which co-locates rows by the tenant) nor \
         row-level security could hold it. Declare the relation on Card (`pub stray: \
         ManyToMany<Stray>`, the link table then carries Card's tenant), or give Stray a \
         tenant field"
    );
    let err = crate::schema::schema_sql(&[Card::META, Odd::META])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid database configuration: Odd.cards is a many-to-many relation between tenant \
         models whose tenant fields differ in type (Odd.org: text, Card.account_id: bigint): \
         the link table's one tenant column cannot refer to both. Give them the same type"
    );
}

#[test]
fn link_writes_carry_the_tenant() {
    let link = ("tl_labels_cards", "label_id", "card_id");
    let keys = Value::Array(vec![Value::I64(Some(3)), Value::I64(Some(4))]);
    let stmt = writes::link_insert(
        link,
        Value::I64(Some(1)),
        keys.clone(),
        "bigint",
        Some(("tenant_id", LinkTenant::Value(Value::I64(Some(7))))),
    );
    assert_eq!(
        stmt.sql,
        r#"INSERT INTO "tl_labels_cards" ("tenant_id", "label_id", "card_id") SELECT $1, $2, "key" FROM UNNEST($3::bigint[]) AS "key" ON CONFLICT DO NOTHING"#
    );
    assert_eq!(
        stmt.binds,
        [Value::I64(Some(7)), Value::I64(Some(1)), keys.clone()]
    );
    // Across tenants by key: the owner row's tenant.
    let of_owner = LinkTenant::OfOwner {
        table: "tl_labels",
        column: "tenant_id",
        pk: "id",
    };
    let stmt = writes::link_insert(
        link,
        Value::I64(Some(1)),
        keys.clone(),
        "bigint",
        Some(("tenant_id", of_owner.clone())),
    );
    assert_eq!(
        stmt.sql,
        r#"INSERT INTO "tl_labels_cards" ("tenant_id", "label_id", "card_id") SELECT (SELECT "tenant_id" FROM "tl_labels" WHERE "id" = $1), $2, "key" FROM UNNEST($3::bigint[]) AS "key" ON CONFLICT DO NOTHING"#
    );
    assert_eq!(
        stmt.binds,
        [Value::I64(Some(1)), Value::I64(Some(1)), keys.clone()]
    );
    let tenant = || Some(("tenant_id", LinkTenant::Value(Value::I64(Some(7)))));
    let stmt = writes::link_delete(link, Value::I64(Some(1)), LinkKeys::All, tenant());
    assert_eq!(
        stmt.sql,
        r#"DELETE FROM "tl_labels_cards" WHERE "label_id" = $1 AND "tenant_id" = $2"#
    );
    let stmt = writes::link_delete(
        link,
        Value::I64(Some(1)),
        LinkKeys::Except(keys.clone()),
        tenant(),
    );
    assert_eq!(
        stmt.sql,
        r#"DELETE FROM "tl_labels_cards" WHERE "label_id" = $1 AND "tenant_id" = $2 AND NOT "card_id" = ANY($3)"#
    );
    assert_eq!(
        stmt.binds,
        [Value::I64(Some(1)), Value::I64(Some(7)), keys.clone()]
    );
    // Unknown tenant (by key, across tenants): the owner's key is enough.
    let stmt = writes::link_delete(
        link,
        Value::I64(Some(1)),
        LinkKeys::Only(keys),
        Some(("tenant_id", of_owner)),
    );
    assert_eq!(
        stmt.sql,
        r#"DELETE FROM "tl_labels_cards" WHERE "label_id" = $1 AND "card_id" = ANY($2)"#
    );
}

#[test]
fn a_managers_rows_are_its_tenants_links() {
    let label = Label {
        id: 1,
        tenant_id: 7,
        ..Label::default()
    };
    let (sql, binds) = in_tenant(7_i64, || sql_of(label.cards().all()));
    assert_eq!(
        sql,
        format!(
            r#"SELECT {CARD_COLS} FROM "tl_cards" WHERE "tl_cards"."id" IN (SELECT "card_id" FROM "tl_labels_cards" WHERE "label_id" = $1 AND "tenant_id" = $2) AND "tl_cards"."account_id" = $3"#
        )
    );
    assert_eq!(
        binds,
        [
            Value::I64(Some(1)),
            Value::I64(Some(7)),
            Value::I64(Some(7))
        ]
    );
    // Another tenant's label: refused, not an empty list.
    let err = in_tenant(8_i64, || label.cards().all().sql().unwrap_err().to_string());
    assert!(
        err.contains("the object belongs to tenant 7 but the current tenant is 8"),
        "{err}"
    );
    // Across tenants: the label's own tenant.
    let (_, binds) = tenant::with_tenant(None, || sql_of(label.cards().all()));
    assert_eq!(binds, [Value::I64(Some(1)), Value::I64(Some(7))]);
}

#[test]
fn lookups_across_a_tenant_link_carry_the_tenant() {
    // Forward: the link's tenant is the label's, the card's is the link's.
    let (sql, binds) = in_tenant(7_i64, || sql_of(Label::filter(q!(cards__title = "a"))));
    assert_eq!(
        sql,
        r#"SELECT "tl_labels"."id", "tl_labels"."tenant_id", "tl_labels"."name" FROM "tl_labels" WHERE EXISTS (SELECT 1 FROM "tl_labels_cards" AS "T1_link" JOIN "tl_cards" AS "T1" ON "T1"."id" = "T1_link"."card_id" AND "T1"."account_id" = "T1_link"."tenant_id" WHERE "T1_link"."label_id" = "tl_labels"."id" AND "T1_link"."tenant_id" = "tl_labels"."tenant_id" AND "T1"."title" = $1) AND "tl_labels"."tenant_id" = $2"#
    );
    assert_eq!(binds, [text("a"), Value::I64(Some(7))]);
    // Reverse: from the card, the link's tenant is the card's.
    let (sql, _) = in_tenant(7_i64, || sql_of(Card::filter(q!(labels__name = "x"))));
    assert_eq!(
        sql,
        format!(
            r#"SELECT {CARD_COLS} FROM "tl_cards" WHERE EXISTS (SELECT 1 FROM "tl_labels_cards" AS "T1_link" JOIN "tl_labels" AS "T1" ON "T1"."id" = "T1_link"."label_id" AND "T1"."tenant_id" = "T1_link"."tenant_id" WHERE "T1_link"."card_id" = "tl_cards"."id" AND "T1_link"."tenant_id" = "tl_cards"."account_id" AND "T1"."name" = $1) AND "tl_cards"."account_id" = $2"#
        )
    );
    // To a global model: the link's tenant is the label's; the topic has none.
    let (sql, _) = in_tenant(7_i64, || sql_of(Label::filter(q!(topics__name = "x"))));
    assert!(
        sql.contains(r#"JOIN "tl_topics" AS "T1" ON "T1"."id" = "T1_link"."topic_id" WHERE "T1_link"."label_id" = "tl_labels"."id" AND "T1_link"."tenant_id" = "tl_labels"."tenant_id" AND"#),
        "{sql}"
    );
}

#[test]
fn counts_and_prefetch_across_a_tenant_link_carry_the_tenant() {
    let stmt = in_tenant(7_i64, || {
        Label::all()
            .annotate([Count("cards")])
            .sql()
            .expect("renders")
            .expect("a query")
    });
    assert!(
        stmt.sql.contains(r#"(SELECT COUNT("A1"."id") FROM "tl_labels_cards" AS "A1_link" JOIN "tl_cards" AS "A1" ON "A1"."id" = "A1_link"."card_id" AND "A1"."account_id" = "A1_link"."tenant_id" WHERE "A1_link"."label_id" = "tl_labels"."id" AND "A1_link"."tenant_id" = "tl_labels"."tenant_id")"#),
        "{}",
        stmt.sql
    );
    let levels = in_tenant(7_i64, || {
        crate::query::related::pipelined_sql::<Label>(
            &Label::all().filter.simplify(),
            &Label::all().prefetch_related(["cards"]).prefetch,
        )
        .expect("renders")
    });
    assert_eq!(levels.len(), 1);
    assert_eq!(
        levels[0].sql,
        format!(
            r#"SELECT {CARD_COLS}, "prefetch_link"."label_id" FROM "tl_cards" JOIN "tl_labels_cards" AS "prefetch_link" ON "prefetch_link"."card_id" = "tl_cards"."id" AND "prefetch_link"."tenant_id" = "tl_cards"."account_id" WHERE "prefetch_link"."tenant_id" = $1 AND "prefetch_link"."label_id" IS NOT NULL AND ("tl_cards"."account_id" = $2)"#
        )
    );
    assert_eq!(levels[0].binds, [Value::I64(Some(7)), Value::I64(Some(7))]);
}

#[test]
fn values_across_a_tenant_link_join_it_by_the_tenant() {
    let stmt = in_tenant(7_i64, || {
        Label::all()
            .values(["name", "cards__title"])
            .sql()
            .expect("renders")
            .expect("a query")
    });
    assert_eq!(
        stmt.sql,
        r#"SELECT "tl_labels"."name", "r_cards"."title" FROM "tl_labels" LEFT JOIN "tl_labels_cards" AS "l_cards" ON "l_cards"."label_id" = "tl_labels"."id" AND "l_cards"."tenant_id" = "tl_labels"."tenant_id" LEFT JOIN "tl_cards" AS "r_cards" ON "r_cards"."id" = "l_cards"."card_id" AND "r_cards"."account_id" = "l_cards"."tenant_id" WHERE "tl_labels"."tenant_id" = $1"#
    );
}
