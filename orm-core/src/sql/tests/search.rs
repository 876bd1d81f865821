//! Full-text search (Django's `django.contrib.postgres.search`): the exact
//! SQL and binds of the `search` lookup, `SearchVector`, `SearchQuery`,
//! `SearchRank` and `SearchHeadline`, in Django's shapes, and the checks
//! that run before anything is sent.

use crate::prelude::*;
use crate::query::{Expr, HavingQ, HQ};
use crate::search::{SearchHeadline, SearchQuery, SearchRank, SearchType, SearchVector};
use crate::sql::condition::Scope;
use crate::sql::SqlWriter;
use crate::Value;

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "writers", crate = "crate")]
struct Writer {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "entries", crate = "crate")]
struct Entry {
    #[orm(primary_key)]
    id: i64,
    title: String,
    body: Option<String>,
    views: i32,
    writer: ForeignKey<Writer>,
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_owned()))
}

fn where_of(q: impl IntoQ<Entry>) -> (String, Vec<Value>) {
    let stmt = Entry::filter(q).sql().expect("renders").expect("a query");
    let (_, clause) = stmt.sql.split_once(" WHERE ").expect("a WHERE");
    (clause.to_owned(), stmt.binds)
}

fn render(e: impl Into<Expr>) -> (String, Vec<Value>) {
    let e = e.into();
    e.check(Entry::META, None).expect("checks");
    let mut w = SqlWriter::new();
    e.push_sql(&mut w, Scope::root(Entry::META));
    let stmt = w.finish();
    (stmt.sql, stmt.binds)
}

fn error(e: impl Into<Expr>) -> String {
    let e = e.into();
    e.check(Entry::META, None)
        .and_then(|()| e.result_type(Entry::META).map(|_| ()))
        .unwrap_err()
        .to_string()
}

#[test]
fn search_lookup_is_djangos_search_vector_exact() {
    // Django: `body__search="cheese"` is
    // `to_tsvector(COALESCE("body", '')) @@ plainto_tsquery('cheese')`.
    let expected = (
        r#"to_tsvector(COALESCE("entries"."body", '')) @@ plainto_tsquery($1)"#.to_owned(),
        vec![text("cheese")],
    );
    assert_eq!(where_of(q!(body__search = "cheese")), expected);
    assert_eq!(where_of(Entry::fields().body.search("cheese")), expected);
    assert_eq!(
        Lookup::parse::<Entry>("body__search", "cheese")
            .map(where_of)
            .unwrap(),
        expected
    );
    // A SearchQuery value gives the field's vector its configuration
    // (Django's SearchLookup.process_lhs).
    assert_eq!(
        where_of(q!(title__search = SearchQuery("cheeses").config("english"))),
        (
            "to_tsvector('english'::regconfig, COALESCE(\"entries\".\"title\", '')) @@ \
             plainto_tsquery('english'::regconfig, $1)"
                .to_owned(),
            vec![text("cheeses")]
        )
    );
    // Across a relation, as every lookup.
    let (sql, binds) = where_of(q!(writer__name__search = "ann"));
    assert!(
        sql.contains(r#"to_tsvector(COALESCE("T1"."name", '')) @@ plainto_tsquery($1)"#),
        "{sql}"
    );
    assert_eq!(binds, vec![text("ann")]);
    // Negated: Django's exclude.
    let stmt = Entry::exclude(q!(title__search = "x"))
        .sql()
        .unwrap()
        .unwrap();
    assert!(
        stmt.sql.ends_with(
            r#"WHERE NOT (to_tsvector(COALESCE("entries"."title", '')) @@ plainto_tsquery($1))"#
        ),
        "{}",
        stmt.sql
    );
}

#[test]
fn search_lookup_refuses_non_text_and_bad_configs_at_run_time() {
    let err = Lookup::parse::<Entry>("views__search", "1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("search"), "{err}");
    // A configuration of another form is refused before anything is sent,
    // and never reaches the SQL.
    let err = Entry::filter(q!(title__search = SearchQuery("x").config("english'; DROP")))
        .sql()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a text search configuration name"),
        "{err}"
    );
    assert!(!err.contains("DROP TABLE"));
    // A NUL in the text is refused as in every lookup.
    assert!(Entry::filter(q!(title__search = "a\0b")).sql().is_err());
}

#[test]
fn search_vector_shapes() {
    // Django: to_tsvector(COALESCE(a, '') || ' ' || COALESCE(b, '')).
    assert_eq!(
        render(SearchVector(["title", "body"])),
        (
            r#"to_tsvector(COALESCE("entries"."title", '') || ' ' || COALESCE("entries"."body", ''))"#
                .to_owned(),
            vec![]
        )
    );
    // Non-text fields are cast to text (Django's Cast(.., TextField())).
    assert_eq!(
        render(SearchVector(["views"])).0,
        r#"to_tsvector(COALESCE(("entries"."views")::text, ''))"#
    );
    // Configuration, weight, and vectors added together.
    assert_eq!(
        render(
            SearchVector(["title"]).weight('A').config("english")
                + SearchVector(["body"]).weight('B').config("english")
        )
        .0,
        "(setweight(to_tsvector('english'::regconfig, COALESCE(\"entries\".\"title\", '')), 'A') || \
         setweight(to_tsvector('english'::regconfig, COALESCE(\"entries\".\"body\", '')), 'B'))"
    );
    // Across a foreign key, as F() is.
    assert_eq!(
        render(SearchVector(["writer__name"])).0,
        "to_tsvector(COALESCE((SELECT \"F0_1\".\"name\" FROM \"writers\" AS \"F0_1\" WHERE \
         \"F0_1\".\"id\" = \"entries\".\"writer_id\"), ''))"
    );
    assert!(error(SearchVector(["title"]).weight('E')).contains("not a search weight"));
    assert!(error(SearchVector(["nope"])).contains("nope"));
    assert!(error(SearchVector(Vec::<&str>::new())).contains("at least one field"));
    assert!(error(SearchVector(["title"]).config("Eng lish")).contains("configuration name"));
}

#[test]
fn search_query_types_and_combinations() {
    let q = |query: SearchQuery| {
        let mut w = SqlWriter::new();
        query.push_sql(&mut w);
        let stmt = w.finish();
        (stmt.sql, stmt.binds)
    };
    assert_eq!(q(SearchQuery("a")).0, "plainto_tsquery($1)");
    assert_eq!(
        q(SearchQuery("a").search_type(SearchType::Phrase)).0,
        "phraseto_tsquery($1)"
    );
    assert_eq!(
        q(SearchQuery("a").search_type(SearchType::Raw)).0,
        "to_tsquery($1)"
    );
    assert_eq!(
        q(SearchQuery("a")
            .search_type(SearchType::Websearch)
            .config("english"))
        .0,
        "websearch_to_tsquery('english'::regconfig, $1)"
    );
    assert_eq!(
        SearchType::from_name("websearch"),
        Some(SearchType::Websearch)
    );
    assert_eq!(SearchType::from_name("fuzzy"), None);
    // Django's CombinedSearchQuery and `~`: (a && b), (a || b), !!(a).
    assert_eq!(
        q((SearchQuery("a") & SearchQuery("b")) | !SearchQuery("c")),
        (
            "((plainto_tsquery($1) && plainto_tsquery($2)) || !!(plainto_tsquery($3)))".to_owned(),
            vec![text("a"), text("b"), text("c")]
        )
    );
    assert_eq!(q(!!SearchQuery("a")).0, "plainto_tsquery($1)");
    // A quote in the text is a value, never SQL.
    assert_eq!(
        q(SearchQuery("it's'); DROP TABLE x; --")).1,
        vec![text("it's'); DROP TABLE x; --")]
    );
}

#[test]
fn search_rank_and_headline() {
    assert_eq!(
        render(SearchRank(SearchVector(["title"]), SearchQuery("a"))),
        (
            r#"ts_rank(to_tsvector(COALESCE("entries"."title", '')), plainto_tsquery($1))"#
                .to_owned(),
            vec![text("a")]
        )
    );
    // Django: ts_rank(weights, vector, query, normalization); ts_rank_cd.
    let weights = [0.1, 0.2, 0.4, 1.0];
    assert_eq!(
        render(
            SearchRank("title", "a")
                .weights(weights)
                .normalization(2)
                .cover_density(true)
        ),
        (
            r#"ts_rank_cd($1::real[], to_tsvector(COALESCE("entries"."title", '')), plainto_tsquery($2), $3::integer)"#
                .to_owned(),
            vec![
                Value::Array(weights.iter().map(|w| Value::F32(Some(*w))).collect()),
                text("a"),
                Value::I32(Some(2))
            ]
        )
    );
    assert_eq!(
        render(
            SearchHeadline("body", SearchQuery("a"))
                .config("english")
                .start_sel("<em>")
                .max_words(5)
        ),
        (
            r#"ts_headline('english'::regconfig, "entries"."body", plainto_tsquery($1), $2)"#
                .to_owned(),
            vec![text("a"), text("StartSel='<em>', MaxWords='5'")]
        )
    );
    assert!(error(SearchHeadline("views", "a")).contains("takes text"));
    assert!(error(SearchQuery("a")).contains("not a value to annotate"));
}

#[test]
fn annotations_filters_and_ordering() {
    let vector = SearchVector(["title", "body"]).config("english");
    let stmt = Entry::all()
        .annotate_expr("search", vector.clone())
        .annotate_expr(
            "rank",
            SearchRank(vector, SearchQuery("cheese").config("english")),
        )
        .filter_q(HavingQ::search(
            "search",
            SearchQuery("cheese").config("english"),
        ))
        .order_by(["-rank"])
        .sql()
        .unwrap()
        .unwrap();
    let v = "to_tsvector('english'::regconfig, COALESCE(\"entries\".\"title\", '') || ' ' || \
             COALESCE(\"entries\".\"body\", ''))";
    let q = |n: u32| format!("plainto_tsquery('english'::regconfig, ${n})");
    assert_eq!(
        stmt.sql,
        format!(
            "SELECT \"entries\".\"id\", \"entries\".\"title\", \"entries\".\"body\", \
             \"entries\".\"views\", \"entries\".\"writer_id\", {v}::text AS \"search\", \
             ts_rank({v}, {}) AS \"rank\" FROM \"entries\" WHERE {v} @@ {} ORDER BY \"rank\" DESC",
            q(1),
            q(2)
        )
    );
    assert_eq!(stmt.binds, vec![text("cheese"), text("cheese")]);
    // A text on a vector annotation is a plain query (SearchVectorExact).
    let stmt = Entry::all()
        .annotate_expr("search", SearchVector(["title"]))
        .filter("search", "cheese")
        .sql()
        .unwrap()
        .unwrap();
    assert!(
        stmt.sql.ends_with(
            r#"WHERE to_tsvector(COALESCE("entries"."title", '')) @@ plainto_tsquery($1)"#
        ),
        "{}",
        stmt.sql
    );
    // HavingQ::search on an annotation that is not a vector.
    let err = Entry::all()
        .annotate_expr("n", F("views"))
        .filter_q(HavingQ::search("n", "x") | HQ("n", 1))
        .sql()
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a SearchVector annotation"), "{err}");
}

#[derive(Model, Debug, Clone, Default)]
#[orm(table = "docs", crate = "crate")]
#[orm(
    index(search_vector(title, body), config = "english", using = "gin"),
    index(tags, using = "gin"),
    index(title, opclasses = ["text_pattern_ops"]),
    index(title, body)
)]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    title: String,
    #[orm(column = "content")]
    body: Option<String>,
    tags: Vec<String>,
}

#[test]
fn index_options_in_ddl() {
    // Django's GinIndex(SearchVector("title", "body", config="english")),
    // GinIndex(fields=["tags"]), Index(fields=["title"],
    // opclasses=["text_pattern_ops"]): the search index is the expression
    // the queries write (quoted names, the configuration a literal).
    let sql = crate::schema::create_table_sql(Doc::META).unwrap();
    assert_eq!(
        &sql[1..],
        &[
            r#"CREATE INDEX IF NOT EXISTS "docs_title_content_idx" ON "docs" ("title", "content")"#,
            "CREATE INDEX IF NOT EXISTS \"docs_title_content_search_idx\" ON \"docs\" USING gin \
             ((to_tsvector('english'::regconfig, COALESCE(\"title\", '') || ' ' || \
             COALESCE(\"content\", ''))))",
            r#"CREATE INDEX IF NOT EXISTS "docs_tags_gin_idx" ON "docs" USING gin ("tags")"#,
            r#"CREATE INDEX IF NOT EXISTS "docs_title_ops_idx" ON "docs" ("title" "text_pattern_ops")"#,
        ]
    );
    let (vector, _) = {
        let e: Expr = SearchVector(["title", "body"]).config("english").into();
        let meta = Doc::META;
        e.check(meta, None).unwrap();
        let mut w = SqlWriter::new();
        e.push_sql(&mut w, Scope::root(meta));
        let stmt = w.finish();
        (stmt.sql, stmt.binds)
    };
    assert_eq!(
        vector,
        "to_tsvector('english'::regconfig, COALESCE(\"docs\".\"title\", '') || ' ' || \
         COALESCE(\"docs\".\"content\", ''))"
    );
}

#[test]
fn index_ddl_refuses_what_a_hand_edited_state_could_hold() {
    use crate::sql::ddl::{create_index_with, Create, Index};
    let cols = ["a".to_owned()];
    fn index<'a>(
        cols: &'a [String],
        using: Option<&'a str>,
        ops: &'a [String],
        config: Option<&'a str>,
    ) -> Index<'a> {
        Index {
            name: "i",
            columns: cols,
            using,
            opclasses: ops,
            search_config: config,
            unique: false,
            where_null: None,
        }
    }
    let err = |i: Index<'_>| {
        create_index_with("t", &i, Create::New)
            .unwrap_err()
            .to_string()
    };
    assert!(err(index(&cols, Some("gin; DROP TABLE t"), &[], None)).contains("not an index method"));
    assert!(err(index(&cols, None, &["x\" y".to_owned()], None)).contains("operator class"));
    assert!(err(index(
        &cols,
        Some("gin"),
        &[],
        Some("english'::regconfig, x)) --")
    ))
    .contains("configuration"));
    assert!(
        err(index(&cols, None, &["a".to_owned(), "b".to_owned()], None))
            .contains("one operator class per column")
    );
}
