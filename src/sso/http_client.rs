//! The HTTP client the OpenID Connect library talks to providers with: the hub's reqwest 0.13
//! (rustls on ring, like every other outbound call) behind `openidconnect`'s `AsyncHttpClient`
//! trait, so the library's own reqwest 0.12 and its TLS stack are never built.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// A provider that has not answered by then is down as far as a sign-in is concerned.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents, key sets and token answers are a few KiB; a larger answer is not one.
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Response(#[from] openidconnect::http::Error),
}

/// Follows no redirects (a provider's endpoints are named by its discovery document, and a
/// redirect is a way to make the hub fetch somewhere else) and uses no proxy from the environment.
#[derive(Clone)]
pub struct OidcHttp {
    client: reqwest::Client,
}

impl OidcHttp {
    pub fn new() -> Result<OidcHttp, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Switchboard-SSO/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(OidcHttp { client })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let mut response =
            self.client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(answer.body(bytes)?)
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
