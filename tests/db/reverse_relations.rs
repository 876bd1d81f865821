//! Reverse relations: two keys to one model, and a `Reverse` matching both, refused as ambiguous.

use orm_core::prelude::*;

use crate::common::setup;
use crate::models::messages::{account, accounts, message, Account, Message};

#[tokio::test]
async fn two_keys_to_one_model() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = account("Ann").await?;
        let ben = account("Ben").await?;
        let cy = account("Cy").await?;
        message(&ann, &ben, "hi ben").await?;
        message(&ann, &cy, "hi cy").await?;
        message(&ben, &ann, "hi ann").await?;

        let q = |q: Q<Account>| async move {
            Ok::<_, Error>(accounts(&Account::filter(q).order_by(["name"]).await?))
        };
        assert_eq!(q(q!(sent__body = "hi ben")).await?, ["Ann"]);
        assert_eq!(q(q!(received__body = "hi ben")).await?, ["Ben"]);
        assert_eq!(q(q!(sent__recipient__name = "Cy")).await?, ["Ann"]);
        assert_eq!(q(q!(received__sender__name = "Ann")).await?, ["Ben", "Cy"]);
        assert_eq!(q(q!(received__sender = &ben)).await?, ["Ann"]);
        assert_eq!(q(q!(sent__isnull = true)).await?, ["Cy"]);
        assert_eq!(q(q!(received__isnull = true)).await?, Vec::<String>::new());
        // Reverse, then forward along the other key, back to the same table.
        assert_eq!(
            q(q!(sent__recipient__sent__body = "hi ann")).await?,
            ["Ann"]
        );
        let kept = Account::exclude(q!(received__sender__name = "Ann")).await?;
        assert_eq!(accounts(&kept), ["Ann"]);
        // Both keys of one row: two separate subqueries on one table.
        assert_eq!(
            Message::filter(q!(sender__name = "Ann", recipient__name = "Ben"))
                .count()
                .await?,
            1
        );
        assert_eq!(ann.sent().count().await?, 2);
        assert_eq!(ann.received().count().await?, 1);
        assert_eq!(cy.sent().count().await?, 0);

        let before = db.query_count();
        let all = Account::all()
            .prefetch_related(["sent", "received"])
            .order_by(["name"])
            .await?;
        assert_eq!(db.query_count() - before, 3);
        let counts: Vec<(usize, usize)> = all
            .iter()
            .map(|a| (a.sent.get().unwrap().len(), a.received.get().unwrap().len()))
            .collect();
        assert_eq!(counts, [(2, 1), (1, 1), (0, 1)]);
        let msgs = Message::all()
            .select_related(["sender", "recipient"])
            .order_by(["body"])
            .await?;
        let pairs: Vec<(&str, &str)> = msgs
            .iter()
            .map(|m| {
                (
                    m.sender.get().unwrap().name.as_str(),
                    m.recipient.get().unwrap().name.as_str(),
                )
            })
            .collect();
        assert_eq!(pairs, [("Ben", "Ann"), ("Ann", "Ben"), ("Ann", "Cy")]);
        Ok(())
    })
    .await
}

fn is_ambiguity(err: &Error) -> bool {
    match err {
        Error::InvalidQuery(e) => {
            let (model, reason) = (e.model, &e.reason);
            model == "Account"
                && reason.contains("Account.messages: Reverse<Message>")
                && reason.contains("matches 2 relations")
                && reason.contains(r#"related_name = "messages""#)
        }
        _ => false,
    }
}

#[tokio::test]
async fn an_ambiguous_reverse_is_an_invalid_query() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = account("Ann").await?;
        let ben = account("Ben").await?;
        message(&ann, &ben, "hi").await?;
        let before = db.query_count();
        let err = Account::filter(q!(messages__body = "hi"))
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        assert!(
            err.to_string().starts_with("invalid query on Account: "),
            "{err}"
        );
        let err = Account::filter(q!(messages__body = "hi"))
            .count()
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        let err = Account::filter(q!(messages__isnull = false))
            .exists()
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        let err = Account::exclude(q!(messages__body = "hi"))
            .delete()
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        let err = Account::filter(q!(name = "Ann") | q!(messages__body = "hi"))
            .update(q!(name = "x"))
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        let err = Account::all()
            .get(q!(messages__body = "hi"))
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        // Reached through another relation.
        let err = Message::filter(q!(sender__messages__body = "hi"))
            .count()
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        assert!(Account::filter(q!(messages__body = "hi")).sql().is_err());
        assert!(format!("{:?}", Account::filter(q!(messages__body = "hi"))).contains("error"));
        // The accessor and prefetch_related report it too (the accessor's
        // exact form: `ambiguous_reverse_accessor_error_is_not_wrapped`).
        let err = ann.messages().await.unwrap_err();
        assert!(
            err.to_string()
                .contains("Account.messages: Reverse<Message>"),
            "{err}"
        );
        let err = ann.messages().count().await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err:?}");
        assert_eq!(db.query_count() - before, 0, "nothing was sent");
        let err = Account::all()
            .prefetch_related(["messages"])
            .await
            .unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        // Nothing was touched; the unambiguous sides still work.
        assert_eq!(Account::all().count().await?, 2);
        assert_eq!(
            accounts(&Account::filter(q!(sent__body = "hi")).await?),
            ["Ann"]
        );
        Ok(())
    })
    .await
}

/// `user.messages()` on an ambiguous `Reverse` reports the error as it is:
/// on the model that declares the field, with one "invalid query" prefix.
#[tokio::test]
async fn ambiguous_reverse_accessor_error_is_not_wrapped() -> Result<()> {
    let db = setup().await;
    orm_core::scope(&db, async {
        let ann = account("Ann").await?;
        let err = ann.messages().await.unwrap_err();
        assert!(is_ambiguity(&err), "{err:?}");
        assert_eq!(
            err.to_string().matches("invalid query on").count(),
            1,
            "{err}"
        );
        Ok(())
    })
    .await
}
