//! Accounts that send each other messages (two keys to one model) and hold passports.

use orm_core::prelude::*;

use super::names_of;

/// An account that sends and receives messages.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_accounts")]
pub(crate) struct Account {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Name.
    pub name: String,
    /// Message.sender, reversed.
    pub sent: Reverse<Message>,
    /// Message.recipient, reversed.
    pub received: Reverse<Message>,
    /// Ambiguous on purpose: neither key of Message names it.
    pub messages: Reverse<Message>,
    /// Passport.holder (a one-to-one), reversed as a many side.
    pub passport: Reverse<Passport>,
}

/// One passport per account.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_passports")]
pub(crate) struct Passport {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// Unique key.
    #[orm(related_name = "passport")]
    pub holder: OneToOne<Account>,
    /// Number.
    pub number: String,
}

/// A message between two accounts.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "relx_messages")]
pub(crate) struct Message {
    /// Key.
    #[orm(primary_key)]
    pub id: i64,
    /// From.
    #[orm(related_name = "sent")]
    pub sender: ForeignKey<Account>,
    /// To.
    #[orm(related_name = "received")]
    pub recipient: ForeignKey<Account>,
    /// Text.
    pub body: String,
}

pub(crate) async fn account(name: &str) -> Result<Account> {
    Account::create(Account {
        name: name.into(),
        ..Default::default()
    })
    .await
}

pub(crate) async fn message(from: &Account, to: &Account, body: &str) -> Result<Message> {
    Message::create(Message {
        sender: ForeignKey::to(from)?,
        recipient: ForeignKey::to(to)?,
        body: body.into(),
        ..Default::default()
    })
    .await
}

pub(crate) fn accounts(rows: &[Account]) -> Vec<String> {
    names_of(rows, |a| &a.name)
}
