//! Tests that need no PostgreSQL server, in a binary that runs where none is installed.
//!
//! Errors of the runtime lookup parser, of database URLs, and of connecting
//! where no server listens. The database tests are the `db` binary.

use std::error::Error as _;
use std::time::Duration;

use orm_core::prelude::*;

#[path = "db/models/types.rs"]
mod types;

use types::{AllTypes, EnumHolder};

// ----------------------------------------------------- Lookup::parse

#[test]
fn lookup_parse_rejects_bad_values() {
    // Enum choices are the stored names; the Rust name of a renamed variant is not one.
    for bad in ["Admin", "superuser", "guest", ""] {
        match Lookup::parse::<AllTypes>("role", bad) {
            Err(Error::InvalidValue(e)) => {
                let (model, field, reason) = (e.model, e.field, e.reason);
                assert_eq!((model, field), ("AllTypes", "role"));
                assert_eq!(
                    reason,
                    format!("`{bad}` is not one of the choices: Guest, Member, administrator")
                );
            }
            other => panic!("{bad:?}: expected InvalidValue, got {other:?}"),
        }
    }
    let err = Lookup::parse::<AllTypes>("role__in", "Guest,superuser").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for AllTypes.role: `superuser` is not one of the choices: Guest, Member, administrator"
    );

    let cases: &[(&str, &str, &str)] = &[
        ("small", "32768", "`32768` is not a valid smallint"),
        ("int__gt", "1.5", "`1.5` is not a valid integer"),
        ("big", "", "`` is not a valid bigint"),
        ("flag", "maybe", "`maybe` is not a boolean (true/false)"),
        (
            "date",
            "2024-02-30",
            "`2024-02-30` is not a date (YYYY-MM-DD)",
        ),
        ("time", "25:00:00", "`25:00:00` is not a time (HH:MM:SS)"),
        (
            "stamptz",
            "2024-01-01T00:00:00",
            "`2024-01-01T00:00:00` is not an RFC 3339 timestamp",
        ),
        ("uid", "not-a-uuid", "`not-a-uuid` is not a UUID"),
        (
            "date__range",
            "2024-01-01",
            "range takes two comma-separated values, got `2024-01-01`",
        ),
    ];
    for (key, value, reason) in cases {
        match Lookup::parse::<AllTypes>(key, value) {
            Err(Error::InvalidValue(e)) => {
                let (model, field, got) = (e.model, e.field, e.reason);
                assert_eq!(model, "AllTypes");
                assert_eq!(field, key.split("__").next().unwrap_or_default());
                assert_eq!(got, *reason, "{key}={value}");
            }
            other => panic!("{key}={value}: expected InvalidValue, got {other:?}"),
        }
    }
}

#[test]
fn lookup_parse_rejects_unknown_fields_and_lookups() {
    let all_fields = [
        "id", "flag", "small", "int", "big", "real", "double", "text", "short", "bytes", "date",
        "time", "stamp", "stamptz", "uid", "json", "role",
    ];
    for key in ["nope", "nope__gt", "Text", "user_role__exact"] {
        let err = Lookup::parse::<AllTypes>(key, "1").unwrap_err();
        let shown = err.to_string();
        match err {
            Error::InvalidLookup(e) => {
                let (model, what, name, valid) = (e.model, e.what, e.name, e.valid);
                assert_eq!((model, what), ("AllTypes", "field"));
                assert_eq!(name, key.split("__").next().unwrap_or_default());
                assert_eq!(valid, all_fields);
            }
            other => panic!("{key}: expected InvalidLookup, got {other:?}"),
        }
        assert_eq!(
            shown,
            format!(
                "AllTypes has no field `{}`; valid fields: {}",
                key.split("__").next().unwrap_or_default(),
                all_fields.join(", ")
            )
        );
    }
    // The column name of a renamed field is not a field name.
    let err = Lookup::parse::<EnumHolder>("user_role", "Guest").unwrap_err();
    assert_eq!(
        err.to_string(),
        "EnumHolder has no field `user_role`; valid fields: id, role, maybe"
    );

    // Text lookups on a non-text field, ordering lookups on unordered ones.
    let ordered = ["exact", "in", "gt", "gte", "lt", "lte", "range", "isnull"];
    let unordered = ["exact", "in", "isnull"];
    // Integer, date and timestamp fields also take `contained_by` (a range
    // of their type, Django's `RangeContainedBy`); smallint has no range.
    let integer = [
        "exact",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "range",
        "isnull",
        "contained_by",
    ];
    // A date field also lists its transforms (`date__year`, ...).
    let date = [
        "exact",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "range",
        "isnull",
        "contained_by",
        "year",
        "iso_year",
        "month",
        "day",
        "week",
        "week_day",
        "iso_week_day",
        "quarter",
    ];
    let cases: &[(&str, &[&str])] = &[
        ("int__icontains", &integer),
        ("small__startswith", &ordered),
        ("date__regex", &date),
        ("uid__iexact", &ordered),
        ("flag__gt", &unordered),
        ("bytes__lt", &unordered),
        // A JSON field: Django's JSONField lookups (`contains` is JSON
        // containment there), no ordering.
        (
            "json__gt",
            &[
                "exact",
                "contains",
                "in",
                "isnull",
                "contained_by",
                "has_key",
                "has_keys",
                "has_any_keys",
            ],
        ),
        ("role__icontains", &unordered),
        ("role__gte", &unordered),
        ("int__like", &integer),
    ];
    for (key, valid_lookups) in cases {
        match Lookup::parse::<AllTypes>(key, "5") {
            Err(Error::InvalidLookup(e)) => {
                let (model, what, name, valid) = (e.model, e.what, e.name, e.valid);
                assert_eq!((model, what, name.as_str()), ("AllTypes", "lookup", *key));
                assert_eq!(valid, *valid_lookups, "{key}");
            }
            other => panic!("{key}: expected InvalidLookup, got {other:?}"),
        }
    }
    let err = Lookup::parse::<AllTypes>("int__icontains", "5").unwrap_err();
    assert_eq!(
        err.to_string(),
        "AllTypes has no lookup `int__icontains`; valid lookups: exact, in, gt, gte, lt, lte, range, isnull, contained_by"
    );
}

// ----------------------------------------------------- database URLs

#[tokio::test]
async fn an_empty_url_is_a_configuration_error() {
    for url in ["", "  "] {
        let err = Db::connect(url).await.unwrap_err();
        let Error::Config(message) = &err else {
            panic!("expected a configuration error, got {err:?}");
        };
        assert!(
            message.starts_with("the database URL is empty; expected `postgres://"),
            "{message}"
        );
    }
    // The parser's reason is given.
    let err = Db::builder("postgres://ann@host/shop?port=x")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid database configuration: cannot parse database URL: \
         invalid connection string: invalid value for option `port`"
    );
    // A URL without a host cannot connect either: said when it is built.
    let err = Db::builder("postgres://ann@/shop").build().unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("names no host")),
        "{err:?}"
    );
}

// ------------------------------------ connecting where no server listens

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let err = Db::builder("postgres://nobody@/nowhere?host=/nonexistent-orm-socket-dir")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    assert!(err.to_string().contains("cannot connect to"), "{err}");
    let err = Db::builder("not a url at all").build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// The chain of sources below `err`, as text.
fn sources(err: &Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push(cause.to_string());
        next = cause.source();
    }
    out
}

#[tokio::test]
async fn a_closed_port_is_named_and_the_password_never_shown() {
    // A port nothing listens on: bound, then released.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://ann:s3cr3t-pw@127.0.0.1:{port}/shop");
    let err = Db::builder(url)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot connect to database \"shop\" on 127.0.0.1:{port} as user \"ann\": \
             error connecting to server: "
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    for shown in [message, format!("{err:?}"), format!("{err:#?}")] {
        assert!(!shown.contains("s3cr3t"), "the password leaked: {shown}");
    }
    assert!(!sources(&err).is_empty(), "the io error is kept: {err:?}");
}
