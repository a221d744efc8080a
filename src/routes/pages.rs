//! The web front end (`clients/web/public/`), compiled into the binary so the server runs
//! from anywhere. Paths that are not files are pages of the single-page app and all get
//! `index.html`; the page's script routes on `location.pathname`.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "clients/web/public/"]
struct Assets;

/// Scripts, styles and data only from this server; nothing may frame the page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The response for a GET outside the API, or `None` when there is no such page or file.
pub fn page_or_asset(req: &HttpRequest) -> Option<HttpResponse> {
    let path = req.path().trim_start_matches('/');
    if path.starts_with("api/") || path.split('/').any(|segment| segment == "..") {
        return None;
    }
    // A file if there is one; else a page of the app. Note keys and room names may contain
    // dots, so under `/notes/` and `/chat/` a dot does not make a path a missing file.
    let last = path.rsplit('/').next().unwrap_or_default();
    let app_page = !last.contains('.') || path.starts_with("notes/") || path.starts_with("chat/");
    let (name, file) = match Assets::get(path) {
        Some(file) => (path, file),
        None if app_page => ("index.html", Assets::get("index.html")?),
        None => return None,
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(file.metadata.mimetype())
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if name.ends_with(".html") {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header(CacheControl(vec![CacheDirective::NoCache]));
    } else {
        // Revalidated on each load: the files change with every release, and are tiny.
        response.insert_header(CacheControl(vec![CacheDirective::NoCache]));
    }
    Some(response.body(file.data.into_owned()))
}
