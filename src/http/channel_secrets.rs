//! What an admin needs to connect the channels to Meta and to a mail provider: the webhook URLs
//! and the secrets in effect (configured, or generated per install; see `channels::secrets`).
//! The secrets are the install's, and the channels serve its first account, so only that
//! account's admins may read them; the answer is never cached.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Api, ApiError, Caller};
use crate::channels::secrets::{ChannelSecret, ChannelSecrets};
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config.service(channel_secrets);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelSecretsView {
    pub whatsapp: WhatsAppSecretsView,
    pub email: EmailSecretsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhatsAppSecretsView {
    /// Where Meta posts (the callback URL of the app's webhook), as this request reached the hub.
    pub webhook_url: String,
    /// What to type as the verify token in Meta's webhook settings.
    pub verify_token: SecretView,
    /// What signs webhooks (`X-Hub-Signature-256`); for Meta, configure the app's own secret.
    pub app_secret: SecretView,
    /// The built-in simulator answers instead of Meta.
    pub sandbox: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSecretsView {
    /// Where the mail provider posts raw messages.
    pub webhook_url: String,
    /// Sent as the `X-Switchboard-Secret` header (or as the basic-auth password).
    pub inbound_secret: SecretView,
    /// Outbound mail stays in the sandbox mailbox.
    pub sandbox: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub value: String,
    /// Made up on first run and stored in the database (else it came from the configuration).
    pub generated: bool,
}

impl From<&ChannelSecret> for SecretView {
    fn from(secret: &ChannelSecret) -> SecretView {
        SecretView { value: secret.value.clone(), generated: secret.generated }
    }
}

/// The channels' webhook URLs and secrets in effect (admins of the account the channels serve).
#[utoipa::path(
    tag = "settings",
    responses((status = 200, body = ChannelSecretsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/account/channel-secrets")]
async fn channel_secrets(
    state: Api,
    secrets: Option<web::Data<ChannelSecrets>>,
    caller: Caller,
    request: HttpRequest,
    _: web::Query<super::NoParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let served = state.store.first_account().await?.map(|account| account.id);
    if served != Some(caller.account()) {
        return Err(ApiError::forbidden("the channels serve another account; ask its admins"));
    }
    let secrets = secrets.ok_or(ApiError::NotFound("channel secrets"))?;
    let base = {
        let connection = request.connection_info();
        format!("{}://{}", connection.scheme(), connection.host())
    };
    let view = ChannelSecretsView {
        whatsapp: WhatsAppSecretsView {
            webhook_url: format!("{base}/webhooks/whatsapp"),
            verify_token: (&secrets.whatsapp_verify_token).into(),
            app_secret: (&secrets.whatsapp_app_secret).into(),
            sandbox: state.settings.whatsapp.sandbox_on(),
        },
        email: EmailSecretsView {
            webhook_url: format!("{base}/webhooks/email"),
            inbound_secret: (&secrets.email_inbound_secret).into(),
            sandbox: state.settings.email.sandbox_on(),
        },
    };
    // Who read them, never what they are.
    let after = serde_json::json!({"read": ["whatsapp.verify_token", "whatsapp.app_secret", "email.inbound_secret"]});
    let target = crate::audit::Target::new("account", caller.account());
    state.audit(&caller, "channel_secrets.viewed", target, None, Some(after)).await;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(view))
}
