//! The Graph API over HTTPS (reqwest + rustls): sends, read receipts, template sync. The base
//! URL is configuration, so the sandbox simulator or a test fake can stand in for Meta.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use switchboard_actors::domain::Attachment;
use switchboard_actors::whatsapp::Template;
use switchboard_actors::whatsapp::conversation::{GraphApi, GraphError};

pub struct GraphClient {
    http: reqwest::Client,
    /// Where agents' uploaded files are read from before they go to the Graph API.
    files: super::media::MediaStore,
    /// Earliest moment the next send may start, per business number.
    next_slot: Mutex<HashMap<String, Instant>>,
    /// Gap between sends of one number (1 / messages_per_second).
    spacing: Duration,
    /// `{graph_base_url}/{api_version}`.
    base: String,
    token: String,
    /// The WhatsApp Business Account whose templates are synced.
    business_account_id: String,
}

impl GraphClient {
    pub fn new(
        graph_base_url: &str,
        api_version: &str,
        token: &str,
        business_account_id: &str,
        messages_per_second: u32,
        files: super::media::MediaStore,
    ) -> GraphClient {
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        GraphClient {
            http,
            files,
            next_slot: Mutex::new(HashMap::new()),
            spacing: Duration::from_secs_f64(1.0 / f64::from(messages_per_second.max(1))),
            base: format!("{}/{}", graph_base_url.trim_end_matches('/'), api_version),
            token: token.to_owned(),
            business_account_id: business_account_id.to_owned(),
        }
    }

    /// Waits for this number's next send slot, so the hub stays under its throughput.
    async fn pace(&self, phone_number_id: &str) {
        let wait = {
            let mut slots = self.next_slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let slot = slots.get(phone_number_id).copied().unwrap_or(now).max(now);
            slots.insert(phone_number_id.to_owned(), slot + self.spacing);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, GraphError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|error| GraphError {
            code: -1,
            title: "network error".to_owned(),
            details: error.to_string(),
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        // Branch on error.code, never on the HTTP status or the title (reference §3.4).
        let error = &body["error"];
        Err(GraphError {
            code: error["code"].as_i64().unwrap_or(if status.is_server_error() { -1 } else { 0 }),
            title: error["message"].as_str().unwrap_or("Graph API error").to_owned(),
            details: error["error_data"]["details"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

#[async_trait]
impl GraphApi for GraphClient {
    async fn send(&self, phone_number_id: &str, body: &Value) -> Result<String, GraphError> {
        self.pace(phone_number_id).await;
        let answer = self.call(self.http.post(format!("{}/{phone_number_id}/messages", self.base)).json(body)).await?;
        answer["messages"][0]["id"].as_str().map(str::to_owned).ok_or_else(|| GraphError {
            code: -1,
            title: "no wamid in the answer".to_owned(),
            details: answer.to_string(),
        })
    }

    async fn mark_read(&self, phone_number_id: &str, wamid: &str) -> Result<(), GraphError> {
        let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        self.call(self.http.post(format!("{}/{phone_number_id}/messages", self.base)).json(&body)).await.map(|_| ())
    }

    async fn upload(&self, phone_number_id: &str, attachment: &Attachment) -> Result<String, GraphError> {
        let hash = attachment.url.rsplit('/').next().unwrap_or_default();
        let (bytes, mime) = self.files.get(hash).await.ok_or_else(|| GraphError {
            code: 131053,
            title: "file not found".to_owned(),
            details: format!("no stored file {hash}"),
        })?;
        let part =
            reqwest::multipart::Part::bytes(bytes).file_name(attachment.file_name.clone()).mime_str(&mime).map_err(
                |error| GraphError { code: 131053, title: "bad MIME type".to_owned(), details: error.to_string() },
            )?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.clone())
            .part("file", part);
        let answer =
            self.call(self.http.post(format!("{}/{phone_number_id}/media", self.base)).multipart(form)).await?;
        answer["id"].as_str().map(str::to_owned).ok_or_else(|| GraphError {
            code: -1,
            title: "no media id in the answer".to_owned(),
            details: answer.to_string(),
        })
    }

    async fn media(&self, media_id: &str, max_bytes: u64) -> Result<(Vec<u8>, String), GraphError> {
        let error = |code: i64, title: &str, details: String| GraphError { code, title: title.to_owned(), details };
        let info = self.call(self.http.get(format!("{}/{media_id}", self.base))).await?;
        let url = info["url"].as_str().ok_or_else(|| error(0, "no media URL", info.to_string()))?;
        let declared = info["file_size"].as_u64().or_else(|| info["file_size"].as_str()?.parse().ok()).unwrap_or(0);
        if declared > max_bytes {
            return Err(error(
                131052,
                "media too large",
                format!("{declared} bytes; at most {max_bytes} are accepted for this type"),
            ));
        }
        // The URL lives 5 minutes and needs the bearer token too.
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|failure| error(-1, "network error", failure.to_string()))?;
        if !response.status().is_success() {
            let code = if response.status().is_server_error() { -1 } else { 131052 };
            return Err(error(code, "media download failed", format!("HTTP {}", response.status())));
        }
        let mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| info["mime_type"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let bytes = response.bytes().await.map_err(|failure| error(-1, "network error", failure.to_string()))?;
        if bytes.len() as u64 > max_bytes {
            return Err(error(131052, "media too large", format!("{} bytes; at most {max_bytes}", bytes.len())));
        }
        Ok((bytes.to_vec(), mime))
    }

    async fn number_profile(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<switchboard_actors::whatsapp::NumberProfile>, GraphError> {
        let fields = "display_phone_number,verified_name,quality_rating,name_status,code_verification_status";
        let answer = self.call(self.http.get(format!("{}/{phone_number_id}?fields={fields}", self.base))).await?;
        let text = |key: &str| answer[key].as_str().map(str::to_owned);
        Ok(Some(switchboard_actors::whatsapp::NumberProfile {
            display_phone_number: text("display_phone_number"),
            verified_name: text("verified_name"),
            quality_rating: text("quality_rating"),
            name_status: text("name_status"),
            code_verification_status: text("code_verification_status"),
        }))
    }

    async fn templates(&self) -> Result<Vec<Template>, GraphError> {
        if self.business_account_id.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!("{}/{}/message_templates?limit=250", self.base, self.business_account_id);
        let answer = self.call(self.http.get(url)).await?;
        Ok(answer["data"].as_array().into_iter().flatten().filter_map(template_from_graph).collect())
    }
}

/// One entry of `GET /{WABA_ID}/message_templates`.
pub fn template_from_graph(value: &Value) -> Option<Template> {
    let body = value["components"]
        .as_array()?
        .iter()
        .find(|component| component["type"].as_str().is_some_and(|kind| kind.eq_ignore_ascii_case("body")))
        .and_then(|component| component["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    let parameter_count = (1..=20).take_while(|n| body.contains(&format!("{{{{{n}}}}}"))).count() as i64;
    Some(Template {
        name: value["name"].as_str()?.to_owned(),
        // Webhooks say `en-US`, sends use `en_US`: keep the send form.
        language: value["language"].as_str()?.replace('-', "_"),
        category: value["category"].as_str().unwrap_or("UTILITY").to_owned(),
        status: value["status"].as_str().unwrap_or("PENDING").to_owned(),
        body,
        parameter_count,
    })
}
