//! Per-model permissions of staff users (Django's `auth_permission` and
//! `has_view/add/change/delete_permission`): rows of
//! [`AdminPermission`], granted with [`grant`]; a superuser has them all.

use std::collections::HashSet;

use orm_core::prelude::*;

use crate::models::{AdminPermission, AdminUser};

/// What a user may do to a model's objects (Django's four default
/// permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the change list, the objects' forms (read-only) and history.
    View,
    /// Add objects.
    Add,
    /// Change objects (and, as in Django, see them).
    Change,
    /// Delete objects.
    Delete,
}

impl Action {
    /// The four, in Django's order.
    pub const ALL: [Action; 4] = [Action::Add, Action::Change, Action::Delete, Action::View];

    /// The stored name: `view`, `add`, `change`, `delete` (Django's
    /// codename prefixes).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Add => "add",
            Action::Change => "change",
            Action::Delete => "delete",
        }
    }

    fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Gives `user` permission to do `action` to `model`'s objects (the
/// model's name as registered, `Post`). Granting twice changes nothing.
///
/// # Errors
/// [`Error::Validation`](orm_core::Error::Validation) for an empty model
/// name; the database's error.
pub async fn grant(user: &AdminUser, model: &str, action: Action) -> Result<()> {
    if model.trim().is_empty() || model.len() > 100 {
        return Err(orm_core::ValidationError::new(
            "AdminPermission",
            "model",
            "Enter a model name of 1 to 100 characters.",
        )
        .into());
    }
    let (id, name, act) = (user.id, model.to_owned(), action.as_str());
    if AdminPermission::filter(q!(user = id, model = name.clone(), action = act))
        .exists()
        .await?
    {
        return Ok(());
    }
    AdminPermission::create(AdminPermission {
        user: ForeignKey::to(user)?,
        model: name,
        action: act.to_owned(),
        ..Default::default()
    })
    .await
    .map(drop)
}

/// Takes a permission away (nothing when `user` does not have it).
///
/// # Errors
/// The database's error.
pub async fn revoke(user: &AdminUser, model: &str, action: Action) -> Result<()> {
    let (id, name, act) = (user.id, model.to_owned(), action.as_str());
    AdminPermission::filter(q!(user = id, model = name, action = act))
        .delete()
        .await
        .map(drop)
}

/// What one user may do, read once per request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Perms {
    superuser: bool,
    granted: HashSet<(String, Action)>,
}

impl Perms {
    /// The permissions of `user` (no query for a superuser).
    pub(crate) async fn of(user: &AdminUser) -> Result<Perms> {
        if user.is_superuser {
            return Ok(Perms {
                superuser: true,
                granted: HashSet::new(),
            });
        }
        let id = user.id;
        let rows = AdminPermission::filter(q!(user = id)).await?;
        Ok(Perms {
            superuser: false,
            granted: rows
                .into_iter()
                .filter_map(|p| Some((p.model, Action::parse(&p.action)?)))
                .collect(),
        })
    }

    /// May do `action` to `model`: a superuser anything; `View` is also
    /// given by `Change` (Django's `has_view_permission`).
    pub(crate) fn can(&self, model: &str, action: Action) -> bool {
        let has = |a: Action| self.granted.contains(&(model.to_owned(), a));
        self.superuser || has(action) || (action == Action::View && has(Action::Change))
    }

    /// May do anything to `model` (it shows on the index).
    pub(crate) fn any(&self, model: &str) -> bool {
        Action::ALL.into_iter().any(|a| self.can(model, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_gives_view_and_a_superuser_has_everything() {
        let mut perms = Perms::default();
        perms.granted.insert(("Post".into(), Action::Change));
        assert!(perms.can("Post", Action::Change));
        assert!(perms.can("Post", Action::View));
        assert!(!perms.can("Post", Action::Delete));
        assert!(!perms.can("Author", Action::View));
        assert!(perms.any("Post") && !perms.any("Author"));
        let root = Perms {
            superuser: true,
            ..Default::default()
        };
        assert!(Action::ALL.into_iter().all(|a| root.can("Anything", a)));
        assert_eq!(Action::parse("delete"), Some(Action::Delete));
        assert_eq!(Action::parse("drop"), None);
    }
}
