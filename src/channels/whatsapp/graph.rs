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
    /// Where media may be downloaded from (the Graph API's own host, then these).
    media_hosts: MediaHosts,
}

/// The hosts media downloads may reach. A webhook names a media id and the Graph API answers
/// with a URL to fetch: both come from outside, so neither may point the hub at anything but
/// Meta (server-side request forgery): the configured Graph API origin (which is also the
/// sandbox or a test fake when so configured), or an allowed CDN host (`lookaside.fbsbx.com`,
/// `*.fbcdn.net`, …) over https that resolves to public addresses only.
#[derive(Clone, Debug)]
pub struct MediaHosts {
    /// `scheme://host:port` of the configured Graph API base URL.
    graph_origin: String,
    graph_host: String,
    /// Exact hosts, or `*.suffix` for any subdomain.
    allowed: Vec<String>,
}

impl MediaHosts {
    pub fn new(graph_base_url: &str, allowed: &[String]) -> MediaHosts {
        let parsed = reqwest::Url::parse(graph_base_url).ok();
        MediaHosts {
            graph_origin: parsed.as_ref().map(|url| url.origin().ascii_serialization()).unwrap_or_default(),
            graph_host: parsed.and_then(|url| url.host_str().map(str::to_ascii_lowercase)).unwrap_or_default(),
            allowed: allowed.iter().map(|host| host.trim().to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &reqwest::Url) -> bool {
        if url.origin().ascii_serialization() == self.graph_origin {
            return true;
        }
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return false };
        // A literal address is never a CDN host name.
        if url.scheme() != "https" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return false;
        }
        self.allowed.iter().any(|allowed| match allowed.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == *allowed,
        })
    }

    fn trusted_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.graph_host)
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// multicast, documentation or unspecified space).
pub fn is_public(address: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && second == 0x0db8))
        }
    }
}

/// DNS for the Graph client: names other than the configured Graph API host must resolve to
/// public addresses only, so an allowed name cannot be pointed at the hub's own network.
struct PublicOnlyResolver {
    hosts: MediaHosts,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let trusted = self.hosts.trusted_host(name.as_str());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let addresses: Vec<std::net::SocketAddr> =
                found.filter(|address| trusted || is_public(address.ip())).collect();
            if addresses.is_empty() {
                return Err(format!("`{host}` resolves to no public address").into());
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl GraphClient {
    pub fn new(
        graph_base_url: &str,
        api_version: &str,
        token: &str,
        business_account_id: &str,
        messages_per_second: u32,
        files: super::media::MediaStore,
        media_hosts: &[String],
    ) -> GraphClient {
        crate::install_tls_provider();
        let media_hosts = MediaHosts::new(graph_base_url, media_hosts);
        let redirects = media_hosts.clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            // A redirect is followed only to where a download may go anyway.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() < 3 && redirects.allows(attempt.url()) {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .dns_resolver(std::sync::Arc::new(PublicOnlyResolver { hosts: media_hosts.clone() }))
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
            media_hosts,
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
        // Meta's media ids are digits; anything else would build a path of the sender's choosing.
        if media_id.is_empty() || media_id.len() > 40 || !media_id.bytes().all(|byte| byte.is_ascii_digit()) {
            let details = format!("`{}` is not a Graph API media id", media_id.escape_debug());
            return Err(error(131052, "invalid media id", details));
        }
        let info = self.call(self.http.get(format!("{}/{media_id}", self.base))).await?;
        let url = info["url"].as_str().ok_or_else(|| error(0, "no media URL", info.to_string()))?;
        let url = reqwest::Url::parse(url).ok().filter(|url| self.media_hosts.allows(url)).ok_or_else(|| {
            error(131052, "media URL refused", format!("`{url}` is not on the Graph API or Meta's CDN"))
        })?;
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
        // Read in chunks and stop at the limit: a lying file_size must not make the hub buffer
        // an endless body.
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|failure| error(-1, "network error", failure.to_string()))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(error(131052, "media too large", format!("more than {max_bytes} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, mime))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).expect("url")
    }

    #[test]
    fn media_downloads_go_only_to_meta() {
        let allowed = ["lookaside.fbsbx.com".to_owned(), "*.fbcdn.net".to_owned()];
        let hosts = MediaHosts::new("https://graph.facebook.com", &allowed);
        assert!(hosts.allows(&url("https://graph.facebook.com/v25.0/123")));
        assert!(hosts.allows(&url("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")));
        assert!(hosts.allows(&url("https://scontent.xx.fbcdn.net/v/t1.png")));
        for refused in [
            "http://lookaside.fbsbx.com/x",
            "https://evil.example/x",
            "https://fbcdn.net.evil.example/x",
            "https://evilfbcdn.net/x",
            "http://127.0.0.1:8080/api/v1/tickets",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/x",
            "file:///etc/passwd",
        ] {
            assert!(!hosts.allows(&url(refused)), "{refused} must be refused");
        }
        let sandbox = MediaHosts::new("http://127.0.0.1:8080/sandbox/graph", &[]);
        assert!(sandbox.allows(&url("http://127.0.0.1:8080/sandbox/graph/media/1")), "the configured base is trusted");
        assert!(!sandbox.allows(&url("http://127.0.0.1:9999/x")), "but not its neighbours");
    }

    #[test]
    fn private_addresses_are_not_public() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ];
        for address in private {
            assert!(!is_public(address.parse().expect("ip")), "{address}");
        }
        for address in ["157.240.1.1", "2a03:2880:f12f::1"] {
            assert!(is_public(address.parse().expect("ip")), "{address}");
        }
    }
}
