//! Answers for requests no route takes, and problem+json for errors actix answers itself.

use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, ResponseError};

use crate::error::{ApiError, PROBLEM_JSON};

/// Outside the route table: a web page or asset for GET and HEAD, else 404.
pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let method = req.method();
    if (method == actix_web::http::Method::GET || method == actix_web::http::Method::HEAD)
        && let Some(page) = super::pages::page_or_asset(&req)
    {
        return Ok(page);
    }
    Err(ApiError::NotFound(format!(
        "no route matches {} {}",
        req.method(),
        req.path()
    )))
}

/// The Swagger UI lives at `/docs/`; its relative asset links need the trailing slash.
pub async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Rewrites any error response that is not already problem+json (actix's own 404s, 413s,
/// and the like) into one, so clients handle a single error format.
pub fn problem_for_bare_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    if res.status() == StatusCode::BAD_REQUEST && is_preflight_with_origin(res.request()) {
        return Ok(replace(res, refused_preflight(), StatusCode::FORBIDDEN));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::NotFound(format!("nothing at {}", res.request().path())),
        413 => ApiError::PayloadTooLarge("the request body is too large".to_owned()),
        400..=499 => ApiError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("the request was not understood")
                .to_owned(),
        ),
        _ => ApiError::Internal(anyhow::anyhow!(
            "unhandled error response with status {status}"
        )),
    };
    Ok(replace(res, error, status))
}

fn replace<B>(
    res: ServiceResponse<B>,
    error: ApiError,
    status: StatusCode,
) -> ErrorHandlerResponse<B> {
    let (req, _) = res.into_parts();
    let mut response = error.error_response();
    *response.status_mut() = status;
    ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body())
}

/// A CORS preflight: the browser asks whether `Origin` may send the method (and headers)
/// it names. actix-cors answers a refusal with a bare 400; the only 400s it gives a
/// preflight that has an `Origin` are refusals by policy.
fn is_preflight_with_origin(req: &HttpRequest) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// 403, not actix-cors's 400: the request is well formed, and the policy forbids it.
/// Browsers treat every non-2xx preflight alike; the status and detail are for people.
fn refused_preflight() -> ApiError {
    ApiError::Forbidden(
        "the CORS policy does not allow this origin, or the method or headers it asks for (see --cors-origin)",
    )
}
