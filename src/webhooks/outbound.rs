//! What leaves the hub for a webhook: the URL rules (http or https, a host, no credentials), the
//! address rule (never loopback, private or link-local unless the subscription allows it —
//! checked on every address a name resolves to, by the resolver the request connects with, so
//! a name that changes its answer between a check and the connection cannot slip through), the
//! signature, and one attempt's POST.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::Sha256;
use switchboard_actors::webhooks::is_public;

use super::WebhookError;

/// One delivery may take this long before it counts as failed: receivers should answer at once
/// and do their work later.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest URL a subscription may have.
const MAX_URL: usize = 2048;
/// How much of a refusing receiver's answer the delivery log keeps.
const ERROR_EXCERPT: usize = 200;

/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Switchboard-Signature";

/// The header's value for `body` signed at `unix` with `secret`.
pub fn signature(secret: &str, unix: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{unix}.").as_bytes());
    mac.update(body);
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a subscription's URL and answers it normalised: http or https, a host, no user or
/// password, at most [`MAX_URL`] bytes; without `allow_private`, neither an address literal nor
/// a name that resolves (now) to a non-public address. A name that does not resolve now is
/// accepted: every delivery checks again.
pub async fn check_url(url: &str, allow_private: bool) -> Result<String, WebhookError> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(WebhookError::InvalidUrl(format!("at most {MAX_URL} characters")));
    }
    let parsed = reqwest::Url::parse(url).map_err(|error| WebhookError::InvalidUrl(error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(WebhookError::InvalidUrl(format!("the scheme must be http or https, not {}", parsed.scheme())));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(WebhookError::InvalidUrl(
            "credentials do not belong in the URL; verify the signature instead".into(),
        ));
    }
    let Some(host) = parsed.host_str().filter(|host| !host.is_empty()) else {
        return Err(WebhookError::InvalidUrl("the URL has no host".into()));
    };
    if !allow_private {
        let addresses: Vec<IpAddr> = match literal_address(host) {
            Some(address) => vec![address],
            None => match tokio::net::lookup_host((host, 443)).await {
                Ok(found) => found.map(|address| address.ip()).collect(),
                Err(_) => Vec::new(),
            },
        };
        if let Some(private) = addresses.into_iter().find(|address| !is_public(*address)) {
            return Err(WebhookError::PrivateAddress(format!(
                "{host} is {private}, a loopback, private or link-local address; an admin may set allow_private"
            )));
        }
    }
    Ok(parsed.to_string())
}

/// The address a URL's host spells out, if it is one (`[…]` around IPv6).
fn literal_address(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// A resolver that answers only public addresses, and fails when a name has any other: the
/// connection uses what this answered, so the check and the connection see the same addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(private) = found.iter().find(|address| !is_public(address.ip())) {
                return Err(format!("private_address: {host} resolves to {}", private.ip()).into());
            }
            let addresses: Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

/// The two HTTP clients deliveries go out on: one that reaches public addresses only, and one
/// for subscriptions an admin allowed private addresses. Neither follows redirects (a redirect
/// could lead anywhere) nor uses a proxy from the environment.
pub struct Outbound {
    public: reqwest::Client,
    any: reqwest::Client,
}

/// What one POST came to.
pub struct Answer {
    pub status: Option<u16>,
    pub elapsed_ms: i64,
    pub error: Option<String>,
}

impl Answer {
    pub fn accepted(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|status| (200..300).contains(&status))
    }
}

impl Outbound {
    pub fn new() -> Result<Outbound, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Outbound { public: builder().dns_resolver(Arc::new(PublicOnly)).build()?, any: builder().build()? })
    }

    /// POSTs `body` to `url`, signed with `secret` at `unix`. Without `allow_private`, an
    /// address literal that is not public is refused before any connection.
    pub async fn post(&self, url: &str, secret: &str, unix: i64, body: &str, allow_private: bool) -> Answer {
        let started = Instant::now();
        let elapsed = |started: Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let refused = |error: String| Answer { status: None, elapsed_ms: 0, error: Some(error) };
        let Ok(parsed) = reqwest::Url::parse(url) else { return refused(format!("invalid URL {url}")) };
        if !allow_private
            && let Some(address) = parsed.host_str().and_then(literal_address).filter(|address| !is_public(*address))
        {
            return refused(format!("private_address: {address} is not a public address"));
        }
        let client = if allow_private { &self.any } else { &self.public };
        let sent = client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(secret, unix, body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let text = if status.is_success() { String::new() } else { response.text().await.unwrap_or_default() };
                let error = (!status.is_success()).then(|| {
                    let excerpt: String = text.chars().take(ERROR_EXCERPT).collect();
                    format!(
                        "answered {status}{}",
                        if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") }
                    )
                });
                Answer { status: Some(status.as_u16()), elapsed_ms: elapsed(started), error }
            }
            Err(error) => Answer { status: None, elapsed_ms: elapsed(started), error: Some(describe(&error)) },
        }
    }
}

/// A reqwest error with its causes (the resolver's refusal is a cause of the connect error).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_checked() {
        for (bad, fragment) in [
            ("ftp://example.com/hook", "scheme"),
            ("not a url", "relative URL"),
            ("https://user:pw@example.com/", "credentials"),
        ] {
            let refused = check_url(bad, false).await.expect_err(bad);
            assert!(refused.to_string().contains(fragment), "{bad}: {refused}");
        }
        for private in ["http://127.0.0.1:9/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://10.0.0.1/"] {
            assert!(matches!(check_url(private, false).await, Err(WebhookError::PrivateAddress(_))), "{private}");
            assert!(check_url(private, true).await.is_ok(), "{private} with allow_private");
        }
    }

    /// The check at delivery time, by the resolver the connection uses: a name that resolves to
    /// loopback (as a rebinding name would by then) never gets a connection.
    #[tokio::test]
    async fn a_delivery_never_connects_to_a_private_address_unless_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            }
        });
        crate::install_tls_provider();
        let outbound = Outbound::new().expect("client");
        for url in [format!("http://localhost:{port}/hook"), format!("http://127.0.0.1:{port}/hook")] {
            let answer = outbound.post(&url, "whsec_test", 1, "{}", false).await;
            assert!(!answer.accepted(), "{url}");
            assert!(
                answer.error.as_deref().is_some_and(|error| error.contains("private_address")),
                "{url}: {:?}",
                answer.error
            );
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "no connection was made");
        let allowed = outbound.post(&format!("http://localhost:{port}/hook"), "whsec_test", 1, "{}", true).await;
        assert!(allowed.accepted(), "{:?}", allowed.error);
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn the_signature_covers_time_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
