//! Answers for requests no route takes, and problem+json for errors actix answers itself.

use actix_web::dev::ServiceResponse;
use actix_web::http::header;
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
    let (req, _) = res.into_parts();
    let mut response = error.error_response();
    *response.status_mut() = status;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
