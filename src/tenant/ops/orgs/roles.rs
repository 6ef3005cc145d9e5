//! Organization roles and permissions (API.md §5): the built-in `owner`,
//! `admin` and `member`, plus custom roles an organization defines.

use super::model::Organization;

pub const OWNER: &str = "owner";
pub const ADMIN: &str = "admin";
pub const MEMBER: &str = "member";

/// The permissions hellojohn itself checks.
pub mod permission {
    pub const READ: &str = "org:read";
    pub const UPDATE: &str = "org:update";
    pub const DELETE: &str = "org:delete";
    pub const MEMBERS_READ: &str = "org:members:read";
    pub const MEMBERS_MANAGE: &str = "org:members:manage";
    pub const ROLES_MANAGE: &str = "org:roles:manage";
}

/// Every permission hellojohn defines, in the order tokens list them.
const SYSTEM: [&str; 6] = [
    permission::READ,
    permission::UPDATE,
    permission::DELETE,
    permission::MEMBERS_READ,
    permission::MEMBERS_MANAGE,
    permission::ROLES_MANAGE,
];

const ADMIN_PERMISSIONS: [&str; 4] = [
    permission::READ,
    permission::UPDATE,
    permission::MEMBERS_READ,
    permission::MEMBERS_MANAGE,
];

const MEMBER_PERMISSIONS: [&str; 2] = [permission::READ, permission::MEMBERS_READ];

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

/// What `role` may do in `org`; `None` when the organization has no such role.
/// An owner holds every permission, including those only custom roles name.
pub fn permissions(org: &Organization, role: &str) -> Option<Vec<String>> {
    match role {
        OWNER => {
            let mut all = owned(&SYSTEM);
            for custom in &org.roles {
                for p in &custom.permissions {
                    if !all.contains(p) {
                        all.push(p.clone());
                    }
                }
            }
            Some(all)
        }
        ADMIN => Some(owned(&ADMIN_PERMISSIONS)),
        MEMBER => Some(owned(&MEMBER_PERMISSIONS)),
        custom => org
            .roles
            .iter()
            .find(|r| r.key == custom)
            .map(|r| r.permissions.clone()),
    }
}

/// Whether `key` names a built-in role.
pub fn is_builtin(key: &str) -> bool {
    matches!(key, OWNER | ADMIN | MEMBER)
}

/// `org:<resource>` or `org:<resource>:<action>`, lower-case letters, digits and `_`.
pub fn is_valid_permission(p: &str) -> bool {
    let mut parts = p.split(':');
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    parts.next() == Some("org") && {
        let rest: Vec<&str> = parts.collect();
        (1..=2).contains(&rest.len()) && rest.iter().all(|s| word(s))
    }
}

/// A role key: 1–64 of lower-case letters, digits, `_`, `-` and `:`.
pub fn is_valid_role_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b':'))
}

/// The built-in roles as the roles list shows them.
pub fn builtin_views(org: &Organization) -> Vec<crate::views::objects::Role> {
    [(OWNER, "Owner"), (ADMIN, "Admin"), (MEMBER, "Member")]
        .into_iter()
        .map(|(key, name)| crate::views::objects::Role {
            key: key.to_owned(),
            name: name.to_owned(),
            permissions: permissions(org, key).unwrap_or_default(),
            builtin: true,
            created_at: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_strings_follow_the_contract_shape() {
        assert!(is_valid_permission("org:read"));
        assert!(is_valid_permission("org:billing:manage"));
        assert!(!is_valid_permission("org:"));
        assert!(!is_valid_permission("admin:read"));
        assert!(!is_valid_permission("org:a:b:c"));
        assert!(!is_valid_permission("org:Billing"));
        assert!(is_valid_role_key("billing_manager"));
        assert!(!is_valid_role_key("Billing Manager"));
    }
}
