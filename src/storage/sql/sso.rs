//! The SQL of single sign-on (migration 0038): an account's provider settings and the sign-ins
//! waiting for their callback, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! sso_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::sso::{SsoLogin, SsoPort, SsoSettings};

        #[async_trait]
        impl SsoPort for $store {
            async fn sso_settings(&self, account: AccountId) -> StoreResult<Option<SsoSettings>> {
                let row = sqlx::query(
                    "SELECT issuer, client_id, client_secret, enabled, sso_only_for_staff, updated_at \
                     FROM sso_settings WHERE account_id = $1",
                )
                .bind(account)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                row.map(|row| {
                    Ok(SsoSettings {
                        issuer: row.try_get("issuer").map_err(db_error)?,
                        client_id: row.try_get("client_id").map_err(db_error)?,
                        client_secret: row
                            .try_get::<Option<String>, _>("client_secret")
                            .map_err(db_error)?
                            .map(|stored| open_secret(&self.secrets, &crate::secrets::SSO_CLIENT_SECRETS, &stored))
                            .transpose()?,
                        enabled: row.try_get("enabled").map_err(db_error)?,
                        sso_only_for_staff: row.try_get("sso_only_for_staff").map_err(db_error)?,
                        updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
                    })
                })
                .transpose()
            }

            async fn set_sso_settings(&self, account: AccountId, settings: &SsoSettings) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sso_settings (account_id, issuer, client_id, client_secret, enabled, \
                     sso_only_for_staff, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (account_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, \
                     client_secret = excluded.client_secret, enabled = excluded.enabled, \
                     sso_only_for_staff = excluded.sso_only_for_staff, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(&settings.issuer)
                .bind(&settings.client_id)
                .bind(settings.client_secret.as_ref().map(|secret| self.seal(&crate::secrets::SSO_CLIENT_SECRETS, secret)))
                .bind(settings.enabled)
                .bind(settings.sso_only_for_staff)
                .bind(millis(settings.updated_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn create_sso_login(&self, login: &SsoLogin) -> StoreResult<()> {
                sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
                    .bind(millis(login.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                sqlx::query(
                    "INSERT INTO sso_logins (state_hash, account_id, browser_hash, nonce, pkce_verifier, redirect_uri, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(login.state_hash.clone())
                .bind(login.account_id)
                .bind(login.browser_hash.clone())
                .bind(&login.nonce)
                .bind(&login.pkce_verifier)
                .bind(&login.redirect_uri)
                .bind(millis(login.created_at))
                .bind(millis(login.expires_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn take_sso_login(&self, state_hash: &[u8]) -> StoreResult<Option<SsoLogin>> {
                let row = sqlx::query(
                    "DELETE FROM sso_logins WHERE state_hash = $1 RETURNING state_hash, account_id, browser_hash, \
                     nonce, pkce_verifier, redirect_uri, created_at, expires_at",
                )
                .bind(state_hash.to_vec())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                row.map(|row| {
                    Ok(SsoLogin {
                        state_hash: row.try_get("state_hash").map_err(db_error)?,
                        account_id: row.try_get("account_id").map_err(db_error)?,
                        browser_hash: row.try_get("browser_hash").map_err(db_error)?,
                        nonce: row.try_get("nonce").map_err(db_error)?,
                        pkce_verifier: row.try_get("pkce_verifier").map_err(db_error)?,
                        redirect_uri: row.try_get("redirect_uri").map_err(db_error)?,
                        created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                        expires_at: from_millis(row.try_get("expires_at").map_err(db_error)?)?,
                    })
                })
                .transpose()
            }
        }
    };
}
pub(crate) use sso_sql;
