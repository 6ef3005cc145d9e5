//! The scopes the provider knows and what each one releases.

/// Every scope a client may register or request.
pub const KNOWN: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// What a client registers when it names none (API.md §9).
pub fn default_scopes() -> Vec<String> {
    KNOWN.iter().map(|s| (*s).to_owned()).collect()
}

/// A space-separated scope parameter as a list: known scopes only, each once, in the
/// order given. `Err` names the first unknown scope.
pub fn parse(raw: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.split(' ').filter(|s| !s.is_empty()) {
        if !KNOWN.contains(&scope) {
            return Err(scope.chars().take(64).collect());
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// The scopes as one parameter value.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Whether `scopes` holds `scope`.
pub fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_known_scopes_once_and_names_an_unknown_one() {
        assert_eq!(super::parse("openid  email openid").unwrap(), vec!["openid", "email"]);
        assert_eq!(super::parse("openid admin").unwrap_err(), "admin");
    }
}
