//! JSON request bodies. Like `web::Json`, but every refusal uses our codes, and a value of the
//! wrong type names the exact field (`tags[2]`, `custom_fields`) through serde_path_to_error.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::config::Settings;

pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for ApiJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit =
            request.app_data::<web::Data<Settings>>().map_or(1_048_576, |settings| settings.server.max_body_bytes);
        let is_json = request.mime_type().ok().flatten().is_some_and(|mime| {
            mime.subtype() == actix_web::mime::JSON || mime.suffix() == Some(actix_web::mime::JSON)
        });
        let declared = request
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| ApiError::MalformedJson(format!("unreadable body: {error}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(ApiJson)
        })
    }
}

/// Malformed JSON is 400; well-formed JSON of the wrong shape is 422 naming the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => {
            deserializer.end().map_err(|error| ApiError::MalformedJson(format!("malformed JSON: {error}")))?;
            Ok(value)
        }
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if !inner.is_data() {
                return Err(ApiError::MalformedJson(format!("malformed JSON: {inner}")));
            }
            let message = inner.to_string();
            // A missing field is reported at its parent; its name is in the message.
            let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
            let field = match (path.as_str(), missing) {
                (".", Some(name)) => name.to_owned(),
                (_, Some(name)) => format!("{path}.{name}"),
                (".", None) => "body".to_owned(),
                (_, None) => path,
            };
            Err(ApiError::invalid(field, strip_position(&message)))
        }
    }
}

/// serde_json appends " at line 1 column 42"; the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "fields exist to be deserialised")]
    struct Sample {
        subject: String,
        tags: Vec<String>,
        nested: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code, reason = "fields exist to be deserialised")]
    struct Inner {
        count: i64,
    }

    fn field_of(body: &str) -> String {
        match parse::<Sample>(body.as_bytes()) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        assert_eq!(field_of(r#"{"subject": 5, "tags": []}"#), "subject");
        assert_eq!(field_of(r#"{"subject": "x", "tags": ["a", 3]}"#), "tags[1]");
        assert_eq!(field_of(r#"{"subject": "x", "tags": [], "nested": {"count": "many"}}"#), "nested.count");
        assert_eq!(field_of(r#"{"tags": []}"#), "subject");
        assert_eq!(field_of(r#"{"subject": "x", "tags": [], "extra": 1}"#), "extra");
    }

    #[test]
    fn broken_json_is_malformed() {
        assert!(matches!(parse::<Sample>(b"{\"subject\": "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(
            parse::<Sample>(br#"{"subject": "x", "tags": []} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
