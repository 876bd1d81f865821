//! ManyToMany: the manager, lookups both ways, through models, self-referential links.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::blog::{blog, names, tag, Author, Post, Tag};
use crate::models::people::{
    group, groups, member, people, person, Assignment, Group, Membership, Person, Project,
};
use crate::models::{names_of, sorted};

/// The statements `generate_schemas` runs, as it builds them.
fn schema() -> Vec<String> {
    let mut models: Vec<_> = orm_core::registered_models().collect();
    models.sort_by_key(|m| m.table);
    models.dedup_by_key(|m| m.table);
    orm_core::schema::schema_sql(&models).unwrap()
}

fn creates_of<'a>(schema: &'a [String], table: &str) -> Vec<&'a String> {
    let head = format!("CREATE TABLE IF NOT EXISTS \"{table}\" (");
    schema.iter().filter(|s| s.starts_with(&head)).collect()
}

#[tokio::test]
async fn many_to_many_manager_and_lookups() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let (gemini, _, _) = blog().await;
        let rust = tag("rust").await?;
        let python = tag("python").await?;
        let posts = Post::all().order_by(["id"]).await?;
        assert_eq!(posts[0].tags().add(&[&rust, &python]).await?, 2);
        assert_eq!(posts[0].tags().add(&[&rust]).await?, 0, "already linked");
        posts[2].tags().add(&[&rust]).await?;
        posts[3].tags().add(&[&python]).await?;
        let tags = posts[0].tags().all().order_by(["name"]).await?;
        assert_eq!(
            tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["python", "rust"]
        );
        assert_eq!(Post::filter(q!(tags__name = "rust")).count().await?, 2);
        assert_eq!(
            Post::filter(q!(tags__name__in = ["rust", "python"]))
                .count()
                .await?,
            3
        );
        // One tag named both: nothing (same related row).
        assert_eq!(
            Post::filter(q!(tags__name = "rust") & q!(tags__name = "python"))
                .count()
                .await?,
            0
        );
        // Chained: a post with both tags.
        assert_eq!(
            Post::filter(q!(tags__name = "rust"))
                .filter(q!(tags__name = "python"))
                .count()
                .await?,
            1
        );
        // Reverse M2M, and two levels: authors with a post tagged python.
        assert_eq!(rust.posts().count().await?, 2);
        assert_eq!(
            Tag::filter(q!(posts__author__name = "Gemini"))
                .count()
                .await?,
            2
        );
        let pythonistas = Author::filter(q!(posts__tags__name = "python"))
            .order_by(["name"])
            .await?;
        assert_eq!(names(&pythonistas), ["Ada", "Gemini"]);
        assert_eq!(posts[0].tags().remove(&[&python]).await?, 1);
        assert_eq!(posts[0].tags().all().count().await?, 1);
        assert_eq!(posts[0].tags().clear().await?, 1);
        assert_eq!(posts[0].tags().all().count().await?, 0);
        // set() (Django's): the links become exactly these; returns
        // (removed, added).
        assert_eq!(posts[0].tags().set(&[&rust, &python]).await?, (0, 2));
        assert_eq!(posts[0].tags().set(&[&python]).await?, (1, 0));
        assert_eq!(
            names_of(&posts[0].tags().all().await?, |t: &Tag| t.name.as_str()),
            ["python"]
        );
        assert_eq!(posts[0].tags().set(&[]).await?, (1, 0));
        assert_eq!(posts[0].tags().all().count().await?, 0);
        // The other posts' links are untouched.
        assert_eq!(posts[2].tags().all().count().await?, 1);
        // Unsaved objects are refused before any query.
        let unsaved = Tag {
            name: "new".into(),
            ..Default::default()
        };
        let err = posts[0].tags().add(&[&unsaved]).await.unwrap_err();
        assert!(err.to_string().contains("unsaved Tag"), "{err}");
        assert_eq!(gemini.posts().count().await?, 2);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn through_model_is_the_link_table() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        // The through table is the model's own: created once, with its
        // extra column, and no default-named link table besides.
        let schema = schema();
        let creates = creates_of(&schema, "relx_memberships");
        assert_eq!(creates.len(), 1, "{creates:#?}");
        assert!(creates[0].contains(r#""role" text NOT NULL DEFAULT 'member'"#), "{}", creates[0]);
        assert!(creates[0].contains(r#"CONSTRAINT "relx_memberships_person_id_group_id_uniq" UNIQUE ("person_id", "group_id")"#), "{}", creates[0]);
        assert!(!schema.iter().any(|s| s.contains("relx_people_groups")));
        assert!(!schema.iter().any(|s| s.contains("relx_people_projects")));
        db.batch_execute(
            "DO $$ BEGIN IF to_regclass('relx_people_groups') IS NOT NULL \
             THEN RAISE EXCEPTION 'a second link table was created'; END IF; END $$",
        )
        .await?;

        let ann = person("Ann").await?;
        let ben = person("Ben").await?;
        let cy = person("Cy").await?;
        let rust = group("Rust").await?;
        let go = group("Go").await?;
        member(&ann, &rust, "admin").await?;
        member(&ann, &go, "member").await?;
        member(&ben, &rust, "member").await?;
        let err = member(&ann, &rust, "again").await.unwrap_err();
        assert!(err.is_integrity(IntegrityKind::Unique), "{err}");
        assert_eq!(
            err.constraint(),
            Some("relx_memberships_person_id_group_id_uniq")
        );

        // Lookups through the model's rows, both directions.
        let found = Person::filter(q!(groups__name = "Rust"))
            .order_by(["name"])
            .await?;
        assert_eq!(people(&found), ["Ann", "Ben"]);
        let found = Group::filter(q!(members__name = "Ben")).await?;
        assert_eq!(groups(&found), ["Rust"]);
        let found = Group::filter(q!(members__name__in = ["Ann", "Ben"]))
            .order_by(["name"])
            .await?;
        assert_eq!(groups(&found), ["Go", "Rust"], "each group once");
        // The through model's own column, on the same link row.
        let admins = Person::filter(q!(
            memberships__role = "admin",
            memberships__group__name = "Rust"
        ))
        .await?;
        assert_eq!(people(&admins), ["Ann"]);
        let none = Person::filter(q!(
            memberships__role = "admin",
            memberships__group__name = "Go"
        ))
        .count()
        .await?;
        assert_eq!(none, 0);
        let with_admin = Group::filter(q!(memberships__role = "admin")).await?;
        assert_eq!(groups(&with_admin), ["Rust"]);

        // The manager reads the model's rows.
        let mine = ann.groups().all().order_by(["name"]).await?;
        assert_eq!(groups(&mine), ["Go", "Rust"]);
        assert_eq!(cy.groups().all().count().await?, 0);
        assert_eq!(ben.groups().filter(q!(name = "Go")).count().await?, 0);
        assert_eq!(rust.members().count().await?, 2);

        // Prefetch: one query per level, from either side.
        let before = db.query_count();
        let everyone = Person::all()
            .prefetch_related(["groups"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 2);
        let by_person: Vec<(String, Vec<String>)> = everyone
            .iter()
            .map(|p| {
                let gs = p.groups.get().expect("prefetched");
                (p.name.clone(), sorted(groups(gs)))
            })
            .collect();
        assert_eq!(
            by_person,
            [
                ("Ann".to_owned(), vec!["Go".to_owned(), "Rust".to_owned()]),
                ("Ben".to_owned(), vec!["Rust".to_owned()]),
                ("Cy".to_owned(), vec![]),
            ]
        );
        let gs = Group::all()
            .prefetch_related(["members", "memberships"])
            .order_by(["name"])
            .await?;
        assert_eq!(people(gs[0].members.get().unwrap()), ["Ann"]);
        assert_eq!(sorted(people(gs[1].members.get().unwrap())), ["Ann", "Ben"]);
        assert_eq!(gs[1].memberships.get().unwrap().len(), 2);

        // add() inserts bare links: the extra column takes its default.
        assert_eq!(cy.groups().add(&[&rust, &go]).await?, 2);
        assert_eq!(cy.groups().add(&[&go]).await?, 0, "unique_together: already linked");
        let link = Membership::get(q!(person = &cy, group = &go)).await?;
        assert_eq!(link.role, "member");
        assert_eq!(ann.groups().remove(&[&go]).await?, 1);
        assert_eq!(Membership::filter(q!(person = &ann)).count().await?, 1);
        assert_eq!(
            Membership::get(q!(person = &ann)).await?.role,
            "admin",
            "remove() left the other row alone"
        );
        assert_eq!(cy.groups().clear().await?, 2);
        // Deleting a group cascades to its membership rows.
        assert_eq!(rust.delete().await?, 1);
        assert_eq!(Membership::all().count().await?, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn through_model_without_defaults_refuses_bare_links() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = person("Ann").await?;
        let orm = Project::create(Project {
            name: "orm".into(),
            ..Default::default()
        })
        .await?;
        // A bare link has no `hours`: a NOT NULL error naming the column.
        let err = ann.projects().add(&[&orm]).await.unwrap_err();
        assert!(err.is_integrity(IntegrityKind::NotNull), "{err}");
        match &err {
            Error::Integrity(e) => {
                assert_eq!(e.table(), Some("relx_assignments"));
                assert_eq!(e.column(), Some("hours"));
            }
            other => panic!("{other}"),
        }
        assert_eq!(Assignment::all().count().await?, 0);
        // Rows of the model are the links.
        Assignment::create(Assignment {
            person: ForeignKey::to(&ann)?,
            project: ForeignKey::to(&orm)?,
            hours: 3,
            ..Default::default()
        })
        .await?;
        assert_eq!(
            people(&Person::filter(q!(projects__name = "orm")).await?),
            ["Ann"]
        );
        let mine = ann.projects().all().await?;
        assert_eq!(names_of(&mine, |p| &p.name), ["orm"]);
        // remove() needs no value for `hours`.
        assert_eq!(ann.projects().remove(&[&orm]).await?, 1);
        assert_eq!(Assignment::all().count().await?, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn self_referential_many_to_many() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let schema = schema();
        let link = creates_of(&schema, "relx_people_friends");
        assert_eq!(link.len(), 1, "{schema:#?}");
        assert!(link[0].contains(r#""from_person_id" bigint NOT NULL,"#), "{}", link[0]);
        assert!(link[0].contains(r#"CONSTRAINT "relx_people_friends_from_person_id_fkey" FOREIGN KEY ("from_person_id") REFERENCES "relx_people" ("id") ON DELETE CASCADE"#), "{}", link[0]);
        assert!(link[0].contains(r#""to_person_id" bigint NOT NULL,"#), "{}", link[0]);
        assert!(link[0].contains(r#"CONSTRAINT "relx_people_friends_to_person_id_fkey" FOREIGN KEY ("to_person_id") REFERENCES "relx_people" ("id") ON DELETE CASCADE"#), "{}", link[0]);

        let ann = person("Ann").await?;
        let ben = person("Ben").await?;
        let cy = person("Cy").await?;
        assert_eq!(ann.friends().add(&[&ben, &cy]).await?, 2);
        assert_eq!(ben.friends().add(&[&ann]).await?, 1);
        // Not symmetrical: Cy lists nobody.
        assert_eq!(cy.friends().all().count().await?, 0);
        assert_eq!(
            people(&ann.friends().all().order_by(["name"]).await?),
            ["Ben", "Cy"]
        );
        // Who lists Ann / whom Ann lists.
        assert_eq!(people(&Person::filter(q!(friends__name = "Ann")).await?), ["Ben"]);
        assert_eq!(
            people(
                &Person::filter(q!(friend_of__name = "Ann"))
                    .order_by(["name"])
                    .await?
            ),
            ["Ben", "Cy"]
        );
        assert_eq!(people(&cy.friend_of().await?), ["Ann"]);
        // Two hops: someone with a friend who lists Ann.
        assert_eq!(
            people(&Person::filter(q!(friends__friends__name = "Ann")).await?),
            ["Ann"]
        );
        let sql = Person::filter(q!(friends__name = "x")).sql()?.unwrap().sql;
        assert!(sql.contains(r#"FROM "relx_people_friends" AS "T1_link" JOIN "relx_people" AS "T1" ON "T1"."id" = "T1_link"."to_person_id" WHERE "T1_link"."from_person_id" = "relx_people"."id""#), "{sql}");
        // Cy lists nobody; everyone is listed by someone.
        assert_eq!(
            people(&Person::filter(q!(friends__isnull = true)).await?),
            ["Cy"]
        );
        assert_eq!(Person::filter(q!(friend_of__isnull = true)).count().await?, 0);
        // Oneself as a friend.
        assert_eq!(ann.friends().add(&[&ann]).await?, 1);
        assert_eq!(
            people(
                &Person::filter(q!(friends__id = ann.id))
                    .order_by(["name"])
                    .await?
            ),
            ["Ann", "Ben"]
        );
        // Prefetch both directions.
        let before = db.query_count();
        let all = Person::all()
            .prefetch_related(["friends", "friend_of"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 3);
        let lists: Vec<(Vec<String>, Vec<String>)> = all
            .iter()
            .map(|p| {
                (
                    sorted(people(p.friends.get().unwrap())),
                    sorted(people(p.friend_of.get().unwrap())),
                )
            })
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            lists,
            [
                (s(&["Ann", "Ben", "Cy"]), s(&["Ann", "Ben"])),
                (s(&["Ann"]), s(&["Ann"])),
                (s(&[]), s(&["Ann"])),
            ]
        );
        // Deleting a person removes the links on both columns.
        assert_eq!(ben.delete().await?, 1);
        assert_eq!(
            people(&ann.friends().all().order_by(["name"]).await?),
            ["Ann", "Cy"]
        );
        assert_eq!(people(&ann.friend_of().await?), ["Ann"]);
        // update / delete filtered through the link table of their own table.
        assert_eq!(
            Person::filter(q!(friends__name = "Ann"))
                .update(q!(name = "Annie"))
                .await?,
            1
        );
        assert_eq!(Person::filter(q!(friend_of__name = "Annie")).count().await?, 2);
        assert_eq!(
            Person::filter(q!(friend_of__name = "Annie"))
                .exclude(q!(friends__isnull = false))
                .delete()
                .await?,
            1
        );
        assert_eq!(people(&Person::all().await?), ["Annie"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn links_by_key_values_without_the_types() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        blog().await;
        let rust = tag("rust").await?;
        let python = tag("python").await?;
        let post = Post::all().order_by(["id"]).first().await?.expect("a post");
        let rel = Post::META
            .relations
            .iter()
            .find(|r| r.name == "tags")
            .expect("tags");
        // As the manager's add: ON CONFLICT DO NOTHING counts only new links.
        assert_eq!(
            rel.add_links(post.pk(), vec![rust.pk(), python.pk()])
                .await?,
            2
        );
        assert_eq!(rel.add_links(post.pk(), vec![rust.pk()]).await?, 0);
        assert_eq!(rel.add_links(post.pk(), vec![]).await?, 0);
        assert_eq!(rel.remove_links(post.pk(), vec![rust.pk()]).await?, 1);
        assert_eq!(
            names_of(&post.tags().all().await?, |t: &Tag| t.name.as_str()),
            ["python"]
        );
        // A key of no tag: the link table's foreign key refuses it.
        let err = rel
            .add_links(post.pk(), vec![orm_core::Value::I64(Some(999_999))])
            .await
            .unwrap_err();
        assert!(
            err.is_integrity(orm_core::IntegrityKind::ForeignKey),
            "{err}"
        );
        // Not a many-to-many: refused before anything is sent.
        let author = Post::META
            .relations
            .iter()
            .find(|r| r.name == "author")
            .expect("author");
        let err = author
            .add_links(post.pk(), vec![rust.pk()])
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`author` is not a many-to-many relation"),
            "{err}"
        );
        Ok(())
    })
    .await
}
