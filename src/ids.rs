//! Prefixed ULID identifiers (`usr_01J…`), as API.md §1 names them.

/// Prefixes of every id type the contract defines.
pub mod prefix {
    pub const TENANT: &str = "tnt";
    pub const USER: &str = "usr";
    pub const SESSION: &str = "ses";
    pub const KEY: &str = "key";
    pub const ADMIN: &str = "adm";
    pub const REQUEST: &str = "req";
    pub const EVENT: &str = "evt";
    pub const ORGANIZATION: &str = "org";
    pub const INVITATION: &str = "inv";
    pub const FACTOR: &str = "fac";
    pub const CHALLENGE: &str = "mfa";
    pub const WEBHOOK: &str = "wh";
    pub const DELIVERY: &str = "del";
    /// A client of a tenant's OpenID provider.
    pub const CLIENT: &str = "cli";
    /// A user's linked social identity.
    pub const IDENTITY: &str = "idn";
    /// A webhook signing secret (never shown: the id only seals it).
    pub const WEBHOOK_SECRET: &str = "whs";
}

/// A new id with the given type prefix; ULIDs sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// Whether `value` looks like an id of that prefix (used to validate path parameters and request ids).
pub fn is_valid(prefix: &str, value: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid::Ulid::from_string(ulid).is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_round_trip_their_prefix() {
        let id = super::new_id("usr");
        assert!(super::is_valid("usr", &id));
        assert!(!super::is_valid("ses", &id));
        assert!(!super::is_valid("usr", "usr_../../etc"));
    }
}
