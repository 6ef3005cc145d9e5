//! [`TenantStore`] on the file engine: one directory per tenant.

use std::sync::Arc;

use async_trait::async_trait;

use super::engine::{Batch, Check, FsEngine};
use super::{commit, from_value, get, page_of, pointed_id, pointer, to_value};
use crate::store::*;

const USER: &str = "user";
const USER_EMAIL: &str = "user_email";
const SESSION: &str = "session";
const REFRESH_TOKEN: &str = "refresh_token";
const OUTBOX: &str = "outbox";

/// One tenant's data in `DATA/tenants/<tenant_id>`.
pub struct FsTenantStore {
    engine: Arc<FsEngine>,
}

/// A batch under construction, remembering which checks protect a unique field.
struct Plan {
    batch: Batch,
    meanings: Vec<Option<&'static str>>,
}

impl Plan {
    fn check(&mut self, check: Check, meaning: Option<&'static str>) {
        self.batch.checks.push(check);
        self.meanings.push(meaning);
    }
}

impl FsTenantStore {
    /// Wraps an opened engine.
    pub fn new(engine: Arc<FsEngine>) -> Self {
        Self { engine }
    }

    fn plan_write(&self, plan: &mut Plan, write: TenantWrite) -> Result<(), StoreError> {
        match write {
            TenantWrite::InsertUser(user) => {
                plan.check(
                    Check::Absent {
                        table: USER_EMAIL.into(),
                        key: user.email.clone(),
                    },
                    Some("email"),
                );
                plan.check(
                    Check::Absent {
                        table: USER.into(),
                        key: user.id.clone(),
                    },
                    None,
                );
                plan.batch = std::mem::take(&mut plan.batch)
                    .put(USER_EMAIL, &user.email, pointer(&user.id))
                    .put(USER, &user.id, to_value(&user)?);
            }
            TenantWrite::UpdateUser(user) => {
                let old: User = get(&self.engine, USER, &user.id)?.ok_or(StoreError::NotFound)?;
                plan.check(
                    Check::FieldEquals {
                        table: USER.into(),
                        key: user.id.clone(),
                        field: "email".into(),
                        value: serde_json::Value::String(old.email.clone()),
                    },
                    None,
                );
                let mut batch = std::mem::take(&mut plan.batch);
                if old.email != user.email {
                    plan.check(
                        Check::Absent {
                            table: USER_EMAIL.into(),
                            key: user.email.clone(),
                        },
                        Some("email"),
                    );
                    batch = batch
                        .delete(USER_EMAIL, &old.email)
                        .put(USER_EMAIL, &user.email, pointer(&user.id));
                }
                plan.batch = batch.put(USER, &user.id, to_value(&user)?);
            }
            TenantWrite::DeleteUser { user_id } => {
                let user: User = get(&self.engine, USER, &user_id)?.ok_or(StoreError::NotFound)?;
                let sessions: Vec<String> = self.engine.read(|t| {
                    t.table(SESSION)
                        .map(|rows| {
                            rows.iter()
                                .filter(|(_, v)| v.get("user_id").and_then(|u| u.as_str()) == Some(user_id.as_str()))
                                .map(|(k, _)| k.clone())
                                .collect()
                        })
                        .unwrap_or_default()
                });
                let tokens: Vec<String> = self.engine.read(|t| {
                    t.table(REFRESH_TOKEN)
                        .map(|rows| {
                            rows.iter()
                                .filter(|(_, v)| {
                                    v.get("session_id")
                                        .and_then(|s| s.as_str())
                                        .is_some_and(|s| sessions.iter().any(|x| x == s))
                                })
                                .map(|(k, _)| k.clone())
                                .collect()
                        })
                        .unwrap_or_default()
                });
                let mut batch = std::mem::take(&mut plan.batch)
                    .delete(USER, &user_id)
                    .delete(USER_EMAIL, &user.email);
                for id in &sessions {
                    batch = batch.delete(SESSION, id);
                }
                for hash in &tokens {
                    batch = batch.delete(REFRESH_TOKEN, hash);
                }
                plan.batch = batch;
            }
            TenantWrite::TouchUser {
                user_id,
                last_sign_in_at,
                password_hash,
            } => {
                let mut fields = serde_json::Map::new();
                fields.insert(
                    "last_sign_in_at".into(),
                    time::serde::rfc3339::serialize(&last_sign_in_at, serde_json::value::Serializer)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
                if let Some(hash) = password_hash {
                    fields.insert("password_hash".into(), serde_json::Value::String(hash));
                }
                plan.batch = std::mem::take(&mut plan.batch).merge(USER, &user_id, fields);
            }
            TenantWrite::PutSession(session) => {
                plan.batch = std::mem::take(&mut plan.batch).put(SESSION, &session.id, to_value(&session)?);
            }
            TenantWrite::PutRefreshToken(token) => {
                plan.batch = std::mem::take(&mut plan.batch).put(REFRESH_TOKEN, &token.token_hash, to_value(&token)?);
            }
            TenantWrite::MarkRefreshTokenRotated { token_hash } => {
                let mut token: RefreshToken =
                    get(&self.engine, REFRESH_TOKEN, &token_hash)?.ok_or(StoreError::NotFound)?;
                token.status = RefreshTokenStatus::Rotated;
                plan.batch = std::mem::take(&mut plan.batch).put(REFRESH_TOKEN, &token_hash, to_value(&token)?);
            }
            TenantWrite::RevokeUserSessions { user_id, except } => {
                let sessions: Vec<Session> = self.engine.read(|t| {
                    t.table(SESSION)
                        .map(|rows| {
                            rows.values()
                                .filter_map(|v| from_value::<Session>(v).ok())
                                .filter(|s| s.user_id == user_id && s.status == SessionStatus::Active)
                                .filter(|s| except.as_deref() != Some(s.id.as_str()))
                                .collect()
                        })
                        .unwrap_or_default()
                });
                let mut batch = std::mem::take(&mut plan.batch);
                for mut session in sessions {
                    session.status = SessionStatus::Revoked;
                    batch = batch.put(SESSION, &session.id, to_value(&session)?);
                }
                plan.batch = batch;
            }
            TenantWrite::AppendEvent(event) => {
                plan.batch = std::mem::take(&mut plan.batch).put(OUTBOX, &event.id, to_value(&event)?);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl TenantStore for FsTenantStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError> {
        let mut plan = Plan {
            batch: Batch::new(),
            meanings: Vec::new(),
        };
        for guard in batch.guards {
            let check = match guard {
                Guard::RefreshTokenCurrent { token_hash } => Check::FieldEquals {
                    table: REFRESH_TOKEN.into(),
                    key: token_hash,
                    field: "status".into(),
                    value: serde_json::Value::String("current".into()),
                },
                Guard::UserExists { user_id } => Check::Exists {
                    table: USER.into(),
                    key: user_id,
                },
                Guard::SessionActive { session_id } => Check::FieldEquals {
                    table: SESSION.into(),
                    key: session_id,
                    field: "status".into(),
                    value: serde_json::Value::String("active".into()),
                },
                Guard::UserVersion { user_id, updated_at } => Check::FieldEquals {
                    table: USER.into(),
                    key: user_id,
                    field: "updated_at".into(),
                    value: time::serde::rfc3339::serialize(&updated_at, serde_json::value::Serializer)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                },
            };
            plan.check(check, None);
        }
        for write in batch.writes {
            self.plan_write(&mut plan, write)?;
        }
        commit(&self.engine, plan.batch, plan.meanings).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        get(&self.engine, USER, id)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        match self.engine.get(USER_EMAIL, email).as_ref().and_then(pointed_id) {
            Some(id) => get(&self.engine, USER, &id),
            None => Ok(None),
        }
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let keep = |u: &User| {
            filter.email.as_ref().is_none_or(|e| &u.email == e)
                && filter.status.is_none_or(|s| u.status == s)
                && query.as_ref().is_none_or(|q| {
                    u.email.contains(q.as_str())
                        || u.name.as_ref().is_some_and(|n| n.to_lowercase().contains(q.as_str()))
                        || u.username
                            .as_ref()
                            .is_some_and(|n| n.to_lowercase().contains(q.as_str()))
                })
        };
        page_of(&self.engine, USER, keep, |u| &u.id, page)
    }

    async fn count_users(&self) -> Result<usize, StoreError> {
        Ok(self.engine.read(|t| t.len(USER)))
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        get(&self.engine, SESSION, id)
    }

    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError> {
        let keep = |s: &Session| {
            filter.user_id.as_ref().is_none_or(|u| &s.user_id == u) && filter.status.is_none_or(|st| s.status == st)
        };
        page_of(&self.engine, SESSION, keep, |s| &s.id, page)
    }

    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        get(&self.engine, REFRESH_TOKEN, token_hash)
    }

    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        Ok(self.engine.read(|t| {
            t.table(OUTBOX)
                .map(|rows| rows.values().take(limit).filter_map(|v| from_value(v).ok()).collect())
                .unwrap_or_default()
        }))
    }
}
