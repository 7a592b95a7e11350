//! The HTTP API: routes, middleware, the error mapping and the OpenAPI document.

pub mod access_log;
pub mod admitted;
pub mod cache;
pub mod client;
pub mod connection;
pub mod error;
pub mod json_body;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod request;
pub mod respond;
pub mod routes;
pub mod share;
pub mod state;
pub mod streaming;
pub mod tile_hits;
pub mod watch;

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Service;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpRequest};
use futures::future::Either;
use tracing_actix_web::TracingLogger;

use crate::error::Error;
use state::AppState;

/// The application with all routes and middleware, for the server and for tests.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| query_error(&err.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| Error::invalid("path", err.to_string()).into()),
        )
        .configure(|cfg| {
            openapi::register(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                cfg,
            ));
        })
        .default_service(web::to(not_found))
        .wrap_fn(|mut req, srv| {
            // HEAD is GET without the body (RFC 9110): link checkers and harvesters use it.
            let head = req.method() == Method::HEAD;
            if head {
                req.head_mut().method = Method::GET;
            }
            let response = srv.call(req);
            async move {
                let response = response.await?;
                Ok(if head {
                    response.map_body(|_, body| BoxBody::new(HeadBody(body.size())))
                } else {
                    response.map_into_boxed_body()
                })
            }
        })
        // Inside the refusals and the response finishing below: a request whose client has
        // no place is refused like any other.
        .wrap(actix_web::middleware::from_fn(middleware::client_share))
        .wrap_fn(|req, srv| {
            let started = std::time::Instant::now();
            if let Err(e) = middleware::before(&req) {
                let refused = req.error_response(e);
                Either::Left(std::future::ready(Ok(middleware::after(refused, started))))
            } else {
                let response = srv.call(req);
                Either::Right(async move {
                    Ok(middleware::after(
                        response.await?.map_into_boxed_body(),
                        started,
                    ))
                })
            }
        })
        .wrap(Compress::default())
        // Inside the request span (its id) and CORS, which every answer needs.
        .wrap(actix_web::middleware::from_fn(tile_hits::answer_hits))
        .wrap(cors)
        .wrap(TracingLogger::<access_log::LeanRootSpan>::new())
}

/// Reading is open to every origin unless `origins` names some; writing needs an API key,
/// which browsers never send cross-origin on their own.
fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "OPTIONS"])
        .allow_any_header()
        .expose_headers([
            "ETag",
            "Link",
            "X-Request-Id",
            "Retry-After",
            "Content-Range",
        ])
        .max_age(86_400);
    if origins.is_empty() {
        cors.allow_any_origin()
    } else {
        origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

/// The body of a HEAD answer: nothing, but the size of the GET answer's body, so that
/// Content-Length tells what a GET would bring (range clients such as GDAL's /vsicurl/ learn a
/// file's length this way).
struct HeadBody(actix_web::body::BodySize);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> actix_web::body::BodySize {
        self.0
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<bytes::Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

/// serde's "unknown field `x`" names the offending parameter; pass it on.
fn query_error(message: &str) -> Error {
    crate::features::params::parameter_error(message)
}

async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, Error> {
    Err(Error::not_found("resource", req.path().to_string()))
}
