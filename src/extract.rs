//! Request extractors whose failures are problem+json with the offending field named,
//! instead of actix's plain-text defaults.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// Largest request body accepted, in bytes. Generous for a 50,000-character note.
pub const BODY_LIMIT: usize = 256 * 1024;
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON request body. Rejects a wrong content type (415), an oversize body (413),
/// malformed JSON (400), and well-formed JSON of the wrong shape (422, naming the field).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = check_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let timeout = req
            .app_data::<actix_web::web::Data<AppState>>()
            .map_or(DEFAULT_BODY_TIMEOUT, |state| state.body_timeout);
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            if declared_length.is_some_and(|length| length > BODY_LIMIT) {
                return Err(too_large());
            }
            // A client that trickles its body (or never finishes it) gets an answer and
            // its connection back, instead of holding both for ever.
            let read = async {
                let mut body = BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|error| {
                        ApiError::BadRequest(format!("could not read the request body: {error}"))
                    })?;
                    if body.len() + chunk.len() > BODY_LIMIT {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(timeout, read).await.map_err(|_| {
                ApiError::RequestTimeout(format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs_f64()
                ))
            })??;
            parse(&body).map(Json)
        })
    }
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == mime::APPLICATION
                && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the request body as JSON with `Content-Type: application/json`".to_owned(),
        ))
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body is larger than the limit of {BODY_LIMIT} bytes"
    ))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every request body is an object; serde would also accept a struct written as an
    // array, and would name Rust types in its complaint about a bare string or number.
    let first = body.trim_ascii_start().first();
    if first.is_some()
        && first != Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".to_owned(),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let path = error.path().to_string();
                let field = if path == "." {
                    named_field(&message).unwrap_or("body").to_owned()
                } else {
                    path
                };
                ApiError::Validation(vec![FieldError::new(&field, message)])
            }
            _ => not_json(inner),
        }
    })?;
    // One JSON document and nothing after it but white space: `{…} xyz` or `{…}{…}` is
    // not the document the client meant, and acting on its first part would guess.
    deserializer.end().map_err(|error| not_json(&error))?;
    Ok(value)
}

fn not_json(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("the request body is not valid JSON: {error}"))
}

/// serde names the field in the message for missing and unknown fields.
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

/// Query-string and path errors from actix's own extractors, as problem+json.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|error, _| {
        ApiError::BadRequest(format!("invalid query string: {error}")).into()
    })
}

pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default()
        .error_handler(|error, _| ApiError::BadRequest(format!("invalid path: {error}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pair {
        title: String,
        count: u8,
    }

    fn field_of(result: Result<Pair, ApiError>) -> String {
        match result {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        assert_eq!(field_of(parse(br#"{"title": 5, "count": 1}"#)), "title");
        assert_eq!(field_of(parse(br#"{"count": 1}"#)), "title");
        assert_eq!(
            field_of(parse(br#"{"title": "a", "count": 1, "from": "x"}"#)),
            "from"
        );
        assert_eq!(field_of(parse(br#"{"title": "a", "count": 300}"#)), "count");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse::<Pair>(b"{\"title\": "),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(parse::<Pair>(b""), Err(ApiError::BadRequest(_))));
        let pair = br#"{"title": "a", "count": 1}"#;
        for trailing in [&b" xyz"[..], br#"{"title": "b", "count": 2}"#, b" 1", b"]"] {
            let body = [&pair[..], trailing].concat();
            assert!(
                matches!(parse::<Pair>(&body), Err(ApiError::BadRequest(_))),
                "accepted {:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert!(parse::<Pair>(&[&pair[..], b" \r\n\t "].concat()).is_ok());
        for not_an_object in [&b"[\"a\", 1]"[..], b"\"text\"", b"42", b"null"] {
            assert!(matches!(
                parse::<Pair>(not_an_object),
                Err(ApiError::BadRequest(_))
            ));
        }
    }
}
