//! The route table: every path the server answers, and the methods each allows.
//!
//! Each API operation is listed once, in [`OPERATIONS`], by its handler; the handler's
//! `#[utoipa::path]` annotation gives its path, its method and its documentation. From
//! that one list come the actix routes, each path's `Allow` list for a 405, and the OpenAPI
//! document (`crate::openapi`). A handler without the annotation cannot be listed: the
//! table does not compile. [`PAGES`] holds the few routes that are for people rather than
//! API operations, and so are not in the spec.

pub mod fallback;
pub mod health;
pub mod messages;
pub mod notes;
pub mod pages;
pub mod pagination;
pub mod preconditions;
pub mod presence;
pub mod rooms;
pub mod sessions;
pub mod streams;
pub mod typing;
pub mod users;

use std::sync::LazyLock;

use actix_web::http::Method;
use actix_web::{HttpRequest, Route, web};
use utoipa::openapi::path::{HttpMethod, PathItem};

use crate::error::ApiError;

/// Attaches a handler to a route whose method is already set.
type Handler = fn(Route) -> Route;

/// An API operation: a handler and its `#[utoipa::path]` annotation.
pub struct Operation {
    document: fn() -> utoipa::openapi::OpenApi,
    handler: Handler,
}

impl Operation {
    /// The annotation as a document of one operation, with the schemas it refers to.
    pub fn document(&self) -> utoipa::openapi::OpenApi {
        (self.document)()
    }

    /// The path and methods the annotation documents, which the router serves.
    pub fn endpoints(&self) -> Vec<(String, Method)> {
        let document = self.document();
        document
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                methods(item)
                    .into_iter()
                    .map(move |method| (path.clone(), method))
            })
            .collect()
    }
}

/// Lists handlers as [`Operation`]s. Each gets a document of its own built by utoipa's
/// derive, exactly as `#[openapi(paths(..))]` would build it (tags, schemas and all),
/// without naming the hidden `__path_` type by hand.
macro_rules! operations {
    ($($module:ident :: $handler:ident),+ $(,)?) => {
        &[$(Operation {
            document: || {
                #[derive(utoipa::OpenApi)]
                #[openapi(paths($module::$handler))]
                struct Annotation;
                <Annotation as utoipa::OpenApi>::openapi()
            },
            handler: |route| route.to($module::$handler),
        }),+]
    };
}

/// Every API operation, in the order of the spec.
pub static OPERATIONS: &[Operation] = operations![
    health::read_health,
    health::read_readiness,
    health::read_metrics,
    users::create_user,
    users::read_current_user,
    sessions::create_session,
    sessions::delete_current_session,
    sessions::delete_all_sessions,
    notes::list_notes,
    notes::create_note,
    notes::read_note,
    notes::update_note,
    notes::delete_note,
    messages::list_messages,
    messages::create_message,
    messages::read_message,
    messages::update_message,
    messages::delete_message,
    streams::stream_room_events,
    streams::stream_namespace_events,
    rooms::list_rooms,
    presence::read_presence,
    typing::create_typing,
];

/// A route for people (a page or a redirect), not an API operation.
pub struct Page {
    pub path: &'static str,
    pub method: Method,
    handler: Handler,
}

/// The pages with a route of their own. The web app's pages and assets are served by the
/// fallback (`fallback::not_found`), and the Swagger UI's files by its own service under
/// `/docs/` (installed with the spec in `startup`).
pub static PAGES: &[Page] = &[Page {
    path: "/docs",
    method: Method::GET,
    handler: |route| route.to(fallback::docs_redirect),
}];

/// One served path with its handlers, one per method, in table order.
struct Resource {
    path: String,
    routes: Vec<(Method, Handler)>,
    /// The `Allow` header of a 405: the methods of `routes`.
    allow: String,
}

/// Built once: a 405's `Allow` must be `'static`, and every worker configures the same app.
static RESOURCES: LazyLock<Vec<Resource>> = LazyLock::new(|| {
    let pages = PAGES
        .iter()
        .map(|page| (page.path.to_owned(), page.method.clone(), page.handler));
    let operations = OPERATIONS.iter().flat_map(|operation| {
        operation
            .endpoints()
            .into_iter()
            .map(|(path, method)| (path, method, operation.handler))
    });
    group_by_path(operations.chain(pages))
});

fn group_by_path(routes: impl Iterator<Item = (String, Method, Handler)>) -> Vec<Resource> {
    let mut resources: Vec<Resource> = Vec::new();
    for (path, method, handler) in routes {
        match resources.iter_mut().find(|resource| resource.path == path) {
            Some(resource) => resource.routes.push((method, handler)),
            None => resources.push(Resource {
                path,
                routes: vec![(method, handler)],
                allow: String::new(),
            }),
        }
    }
    for resource in &mut resources {
        let methods: Vec<&str> = resource.routes.iter().map(|(m, _)| m.as_str()).collect();
        resource.allow = methods.join(", ");
    }
    resources
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for resource in RESOURCES.iter() {
        let service = resource.routes.iter().fold(
            web::resource(resource.path.as_str())
                .default_service(method_not_allowed(&resource.allow)),
            |service, (method, handler)| service.route(handler(web::method(method.clone()))),
        );
        cfg.service(service);
    }
}

/// Answers the methods a resource does not take: 405, with an `Allow` header listing `allow`.
fn method_not_allowed(allow: &'static str) -> Route {
    web::to(move |req: HttpRequest| async move {
        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed {
            detail: format!(
                "{} is not allowed on {}; use {allow}",
                req.method(),
                req.path()
            ),
            allow,
        })
    })
}

/// The methods a path item has operations for.
fn methods(item: &PathItem) -> Vec<Method> {
    [
        (HttpMethod::Get, &item.get),
        (HttpMethod::Put, &item.put),
        (HttpMethod::Post, &item.post),
        (HttpMethod::Delete, &item.delete),
        (HttpMethod::Options, &item.options),
        (HttpMethod::Head, &item.head),
        (HttpMethod::Patch, &item.patch),
        (HttpMethod::Trace, &item.trace),
    ]
    .into_iter()
    .filter(|(_, operation)| operation.is_some())
    .map(|(method, _)| http_method(method))
    .collect()
}

fn http_method(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Post => Method::POST,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use actix_web::http::{StatusCode, header};
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse};

    use super::*;

    /// The methods the router is asked for on each path.
    const PROBES: [Method; 6] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::TRACE,
    ];

    /// What the test app answers for a path no route takes, unlike anything a handler says.
    const UNROUTED: StatusCode = StatusCode::IM_A_TEAPOT;

    /// Each path of the table with its methods, in table order.
    fn table() -> BTreeMap<String, Vec<Method>> {
        let operations = OPERATIONS.iter().flat_map(Operation::endpoints);
        let pages = PAGES
            .iter()
            .map(|page| (page.path.to_owned(), page.method.clone()));
        let mut paths: BTreeMap<String, Vec<Method>> = BTreeMap::new();
        for (path, method) in operations.chain(pages) {
            paths.entry(path).or_default().push(method);
        }
        paths
    }

    /// A request path that the pattern matches: each `{parameter}` becomes `1`.
    fn concrete(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The handlers run without the application state, so they answer an error of their
    /// own; what matters is that the request reached one, and neither a 405 nor no route.
    #[actix_web::test]
    async fn the_router_serves_each_method_of_the_table_and_405s_the_others() {
        let app = init_service(
            App::new()
                .configure(configure)
                .default_service(web::to(|| async { HttpResponse::build(UNROUTED).finish() })),
        )
        .await;
        let unknown = TestRequest::get().uri("/api/unknown").to_request();
        assert_eq!(call_service(&app, unknown).await.status(), UNROUTED);

        let table = table();
        assert!(table.len() > 10, "too few paths in the table: {table:?}");
        for (pattern, methods) in &table {
            let path = concrete(pattern);
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            for probe in PROBES {
                let request = TestRequest::default()
                    .method(probe.clone())
                    .uri(&path)
                    .to_request();
                let response = call_service(&app, request).await;
                let status = response.status();
                if methods.contains(&probe) {
                    assert!(
                        status != StatusCode::METHOD_NOT_ALLOWED && status != UNROUTED,
                        "{probe} {path} is in the table but answered {status}"
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{probe} {path} is not in the table"
                    );
                    let header = response
                        .headers()
                        .get(header::ALLOW)
                        .and_then(|value| value.to_str().ok());
                    assert_eq!(header, Some(allow.join(", ").as_str()), "{probe} {path}");
                }
            }
        }
    }

    #[test]
    fn each_path_and_method_is_in_the_table_once() {
        for (path, methods) in table() {
            let mut distinct = methods.clone();
            distinct.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            distinct.dedup();
            assert_eq!(distinct.len(), methods.len(), "{path}: {methods:?}");
        }
    }
}
