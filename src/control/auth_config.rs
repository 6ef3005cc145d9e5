//! Validation and merging of a tenant's `auth_config`.

use serde_json::Value;

use crate::error::ApiError;
use crate::store::AuthConfig;

/// Merges `patch` into `base` (objects recursively; any other value, `null` included, replaces).
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// Applies a patch to a config and validates the result.
pub fn patched(current: &AuthConfig, patch: &Value) -> Result<AuthConfig, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::invalid("auth_config", "auth_config must be an object."));
    }
    let mut value = serde_json::to_value(current).map_err(|_| ApiError::Internal)?;
    merge(&mut value, patch);
    let config: AuthConfig = serde_json::from_value(value)
        .map_err(|e| ApiError::invalid("auth_config", format!("auth_config is invalid: {e}")))?;
    validate(&config)?;
    Ok(config)
}

/// Longest grace for a rotated refresh token: a stolen token is worth nothing after it.
const MAX_REFRESH_REUSE_INTERVAL: u64 = 3600;

fn validate(c: &AuthConfig) -> Result<(), ApiError> {
    let bad = |field: &str, why: &str| Err(ApiError::invalid(&format!("auth_config.{field}"), why.to_owned()));
    if c.access_token_ttl == 0 || c.access_token_ttl > 86_400 {
        return bad("access_token_ttl", "must be between 1 and 86400 seconds.");
    }
    if c.refresh_token_ttl == 0 || c.refresh_token_ttl > 31_536_000 {
        return bad("refresh_token_ttl", "must be between 1 second and one year.");
    }
    if c.session_idle_timeout.is_some_and(|t| t == 0 || t > 31_536_000) {
        return bad(
            "session_idle_timeout",
            "must be between 1 second and one year, or null.",
        );
    }
    if c.refresh_reuse_interval > MAX_REFRESH_REUSE_INTERVAL {
        return bad("refresh_reuse_interval", "must be between 0 and 3600 seconds.");
    }
    if c.webhook_retention_days.is_some_and(|d| d == 0 || d > 3650) {
        return bad("webhook_retention_days", "must be between 1 and 3650 days, or null.");
    }
    let logo_ok = |url: &str| {
        url.starts_with("https://")
            && url.len() <= 2048
            && url::Url::parse(url).is_ok()
            && !url.contains(['"', '\'', ' '])
    };
    if c.logo_url.as_deref().is_some_and(|url| !logo_ok(url)) {
        return bad("logo_url", "must be an https URL, or null.");
    }
    if c.password_min_length == 0 || c.password_min_length > 256 {
        return bad("password_min_length", "must be between 1 and 256.");
    }
    for origin in &c.allowed_origins {
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let ok = host.is_some_and(|h| !h.is_empty() && h.len() <= 255 && !h.contains(['/', '?', '#', ' ', '@']));
        if !ok {
            return bad("allowed_origins", "each origin must look like https://app.example.com");
        }
    }
    let limits = &c.rate_limits;
    for (name, limit) in [
        ("sign_in_ip", &limits.sign_in_ip),
        ("sign_in_account", &limits.sign_in_account),
        ("sign_up_ip", &limits.sign_up_ip),
        ("email_send", &limits.email_send),
        ("mfa_user", &limits.mfa_user),
        ("refresh_session", &limits.refresh_session),
    ] {
        if let Some(text) = limit {
            if parse_rate(text).is_none() {
                return bad(&format!("rate_limits.{name}"), "must look like \"10/1m\" or be null.");
            }
        }
    }
    if c.lockout.threshold == 0 || c.lockout.threshold > 1000 || c.lockout.duration == 0 || c.lockout.duration > 86_400
    {
        return bad(
            "lockout",
            "threshold must be 1 to 1000 and duration 1 to 86400 seconds.",
        );
    }
    Ok(())
}

/// Parses `"10/1m"` into (count, window seconds).
pub fn parse_rate(text: &str) -> Option<(u32, u64)> {
    let (count, window) = text.split_once('/')?;
    let count: u32 = count.parse().ok().filter(|c| *c > 0)?;
    let window = if window.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        window.to_owned()
    } else {
        format!("1{window}")
    };
    let secs = humantime::parse_duration(&window).ok()?.as_secs();
    (secs > 0 && secs <= 86_400).then_some((count, secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_merge_and_null_turns_a_limit_off() {
        let config = patched(
            &AuthConfig::default(),
            &json!({"rate_limits": {"sign_in_ip": null}, "mfa_required": true}),
        )
        .unwrap();
        assert_eq!(config.rate_limits.sign_in_ip, None);
        assert_eq!(config.rate_limits.sign_up_ip.as_deref(), Some("5/1m"));
        assert!(config.mfa_required);
        assert!(patched(&config, &json!({"access_token_ttl": 0})).is_err());
        assert_eq!(config.refresh_reuse_interval, 10);
        assert!(patched(&config, &json!({"refresh_reuse_interval": 0})).is_ok());
        assert!(patched(&config, &json!({"refresh_reuse_interval": -1})).is_err());
        assert!(patched(&config, &json!({"refresh_reuse_interval": 3601})).is_err());
        assert!(patched(&config, &json!({"signing_alg": "HS256"})).is_err());
        assert!(patched(&config, &json!({"allowed_origins": ["https://app.example.com"]})).is_ok());
        assert!(patched(&config, &json!({"allowed_origins": ["javascript:alert(1)"]})).is_err());
        assert_eq!(parse_rate("10/1m"), Some((10, 60)));
        assert_eq!(parse_rate("5/10m"), Some((5, 600)));
        assert_eq!(parse_rate("x/1m"), None);
    }
}
