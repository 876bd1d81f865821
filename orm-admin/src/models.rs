//! The admin's own tables: staff users, their sessions and the history
//! of changes, as ORM models (Django's `auth_user`, `django_session` and
//! `django_admin_log`), and the functions that create them and users.

use chrono::{DateTime, Utc};
use orm_core::prelude::*;

/// A user of the admin (Django's `auth.User`, the parts the admin reads).
///
/// Only active staff users may use the admin; a superuser may do
/// everything, another staff user what [`grant`](crate::grant) gave it.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "admin_users")]
pub struct AdminUser {
    /// The key.
    #[orm(primary_key)]
    pub id: i64,
    /// The login name, unique (Django's 150 characters).
    #[orm(max_length = 150, unique)]
    pub username: String,
    /// The Argon2id hash as a PHC string (`$argon2id$v=19$...`); never
    /// the password itself.
    pub password: String,
    /// May log in to the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// False for a disabled account: it cannot log in, and its sessions stop.
    pub is_active: bool,
    /// When the account was created.
    #[orm(auto_now_add)]
    pub date_joined: DateTime<Utc>,
    /// The last successful login.
    pub last_login: Option<DateTime<Utc>>,
}

/// A staff user's permission to do one [`Action`](crate::Action) to one
/// model's objects (Django's `auth_permission` joined to a user).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "admin_permissions", unique_together(user, model, action))]
pub struct AdminPermission {
    /// The key.
    #[orm(primary_key)]
    pub id: i64,
    /// Whose permission it is.
    #[orm(on_delete = "cascade", related_name = "permissions")]
    pub user: ForeignKey<AdminUser>,
    /// The model's name (`Post`).
    #[orm(max_length = 100)]
    pub model: String,
    /// `view`, `add`, `change` or `delete` ([`Action::as_str`](crate::Action::as_str)).
    #[orm(max_length = 10)]
    pub action: String,
}

/// A logged-in session (Django's `django_session`, one row per login).
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "admin_sessions")]
pub struct AdminSession {
    /// The key.
    #[orm(primary_key)]
    pub id: i64,
    /// SHA-256 of the session cookie's value, in hex: the table alone
    /// gives no one a session.
    #[orm(max_length = 64, unique)]
    pub key_hash: String,
    /// Whose session it is.
    #[orm(on_delete = "cascade", related_name = "sessions")]
    pub user: ForeignKey<AdminUser>,
    /// The session's CSRF token, sent back in every form.
    #[orm(max_length = 64)]
    pub csrf_token: String,
    /// When it stops being valid.
    #[orm(index)]
    pub expires: DateTime<Utc>,
    /// When it was opened.
    #[orm(auto_now_add)]
    pub created: DateTime<Utc>,
}

/// One change made through the admin (Django's `LogEntry`): written in
/// the transaction of the change itself, so that a change that fails
/// leaves no history row.
#[derive(Model, Debug, Clone, Default)]
#[orm(table = "admin_log")]
pub struct AdminLogEntry {
    /// The key.
    #[orm(primary_key)]
    pub id: i64,
    /// When.
    #[orm(auto_now_add, index)]
    pub action_time: DateTime<Utc>,
    /// Who.
    #[orm(on_delete = "cascade", related_name = "log_entries")]
    pub user: ForeignKey<AdminUser>,
    /// The model's name (`Post`).
    #[orm(max_length = 100)]
    pub model: String,
    /// The object's primary key, as text.
    pub object_id: String,
    /// The object's label when the change was made.
    #[orm(max_length = 200)]
    pub object_repr: String,
    /// [`ADDITION`](AdminLogEntry::ADDITION), [`CHANGE`](AdminLogEntry::CHANGE)
    /// or [`DELETION`](AdminLogEntry::DELETION), as Django's `action_flag`.
    pub action_flag: i16,
    /// What changed, as Django's JSON `change_message`:
    /// `[{"added": {}}]`, `[{"changed": {"fields": ["title"]}}]`, `[]`.
    pub change_message: serde_json::Value,
}

impl AdminLogEntry {
    /// An object was added.
    pub const ADDITION: i16 = 1;
    /// An object was changed.
    pub const CHANGE: i16 = 2;
    /// An object was deleted.
    pub const DELETION: i16 = 3;

    /// `Added.`, `Changed title and body.`, `Deleted.`: the message as
    /// the history page shows it (Django's `get_change_message`).
    pub fn message(&self) -> String {
        if let Some(name) = self.change_message.pointer("/0/action/name") {
            return format!("Action “{}” applied.", name.as_str().unwrap_or(""));
        }
        // Django's `LogEntry.get_change_message`: one sentence per part,
        // the inlines' rows named with their model and label.
        let list = |fields: Option<&serde_json::Value>| -> String {
            let fields: Vec<&str> = fields
                .and_then(serde_json::Value::as_array)
                .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default();
            match fields.as_slice() {
                [] => String::new(),
                [one] => (*one).to_owned(),
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
            }
        };
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let mut parts = Vec::new();
        for part in self.change_message.as_array().into_iter().flatten() {
            if let Some(added) = part.get("added") {
                if added.get("name").is_some() {
                    parts.push(format!(
                        "Added {} “{}”.",
                        text(added, "name"),
                        text(added, "object")
                    ));
                } else {
                    parts.push("Added.".to_owned());
                }
            } else if let Some(changed) = part.get("changed") {
                let fields = list(changed.get("fields"));
                match (changed.get("name"), fields.is_empty()) {
                    (Some(_), _) => parts.push(format!(
                        "Changed {fields} for {} “{}”.",
                        text(changed, "name"),
                        text(changed, "object")
                    )),
                    (None, false) => parts.push(format!("Changed {fields}.")),
                    (None, true) => {}
                }
            } else if let Some(deleted) = part.get("deleted") {
                parts.push(format!(
                    "Deleted {} “{}”.",
                    text(deleted, "name"),
                    text(deleted, "object")
                ));
            }
        }
        if !parts.is_empty() {
            return parts.join(" ");
        }
        match self.action_flag {
            Self::ADDITION => "Added.".to_owned(),
            Self::DELETION => "Deleted.".to_owned(),
            _ => "No fields changed.".to_owned(),
        }
    }
}

/// Creates the admin's tables (`admin_users`, `admin_sessions`,
/// `admin_log`, `admin_permissions`) and their indexes if they do not exist, on the scoped or
/// default database.
///
/// The three are ordinary models linked into any binary that uses this
/// crate, so [`orm_core::generate_schemas`] creates them too, and
/// `makemigrations` writes them into the application's migrations (as
/// Django's `migrate` creates `django_admin_log` with the project's
/// tables): use this function when the application's own tables are made
/// another way.
///
/// # Errors
/// [`Error::NotConnected`](orm_core::Error::NotConnected); the database's error.
pub async fn install() -> Result<()> {
    install_on(&orm_core::current()?).await
}

/// As [`install`], on `db`.
///
/// # Errors
/// The database's error.
pub async fn install_on(db: &Db) -> Result<()> {
    orm_core::scope(db, async {
        for meta in [
            AdminUser::META,
            AdminSession::META,
            AdminLogEntry::META,
            AdminPermission::META,
        ] {
            // The DDL of the models' own metadata: no value in it.
            for stmt in orm_core::schema::create_table_sql(meta)? {
                orm_core::raw::<(i32,)>(orm_core::AssertSqlSafe(stmt), &[]).await?;
            }
        }
        Ok(())
    })
    .await
}

/// Creates an active superuser (staff too), as Django's
/// `createsuperuser --noinput`, on the scoped or default database. As
/// there, no password rule is applied but that it is not empty.
///
/// # Errors
/// [`Error::Validation`](orm_core::Error::Validation) for an empty
/// username or password, or a username taken; the database's error.
pub async fn create_superuser(username: &str, password: &str) -> Result<AdminUser> {
    create_user(username, password, true, true).await
}

/// Creates an active user, staff and superuser as asked, with any
/// non-empty password.
///
/// # Errors
/// As [`create_superuser`].
pub async fn create_user(
    username: &str,
    password: &str,
    is_staff: bool,
    is_superuser: bool,
) -> Result<AdminUser> {
    let invalid = |field: &'static str, message: &str| {
        Err(orm_core::ValidationError::new("AdminUser", field, message).into())
    };
    if username.trim().is_empty() {
        return invalid("username", "This field is required.");
    }
    if password.is_empty() {
        return invalid("password", "This field is required.");
    }
    if AdminUser::filter(q!(username = username.to_owned()))
        .exists()
        .await?
    {
        return invalid("username", "A user with that username already exists.");
    }
    AdminUser::create(AdminUser {
        username: username.to_owned(),
        password: crate::auth::hash_password(password)?,
        is_staff,
        is_superuser,
        is_active: true,
        ..Default::default()
    })
    .await
}

/// Sets a user's password (stored hashed).
///
/// # Errors
/// The database's error; [`Error::DoesNotExist`](orm_core::Error::DoesNotExist).
pub async fn set_password(username: &str, password: &str) -> Result<()> {
    let mut user = AdminUser::get(q!(username = username.to_owned())).await?;
    user.password = crate::auth::hash_password(password)?;
    user.save_fields(&["password"]).await
}
