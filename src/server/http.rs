//! The HTTP listener. It is actix-web's `HttpServer` assembled from the same parts (actix-server
//! accepting, actix-http's HTTP/1.1 dispatcher, the app) so that every accepted connection can
//! be wrapped in an [`api::connection::Connection`](crate::api::connection::Connection): the
//! one place that gives the dispatcher's own error answers their JSON body.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::h1::H1Service;
use actix_http::HttpService;
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;

use crate::api::connection::Connection;
use crate::api::state::AppState;

/// What the server listens on and how long it waits.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpSettings {
    /// Address and port to listen on (a name that resolves to several addresses listens on
    /// each).
    #[arg(long, env = "KREISGEO_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HTTP worker threads [default: one per core].
    #[arg(long, env = "KREISGEO_WORKERS")]
    pub workers: Option<usize>,
    /// A client must send its request head within this time (slow-loris protection).
    #[arg(long, env = "KREISGEO_HEADER_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Idle keep-alive connections close after this time.
    #[arg(long, env = "KREISGEO_KEEP_ALIVE", default_value = "15s", value_parser = humantime::parse_duration)]
    pub keep_alive: Duration,
    /// On SIGTERM/SIGINT, requests in flight get this long to finish.
    #[arg(long, env = "KREISGEO_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// The server for `state`, running once polled, and the addresses it listens on.
pub fn bind(
    state: AppState,
    listen: &HttpSettings,
) -> io::Result<(actix_server::Server, Vec<SocketAddr>)> {
    let mut builder = actix_server::Server::build()
        .shutdown_timeout(listen.shutdown_grace.as_secs())
        // The caller drains and stops on signals itself (see `kreisgeo serve`).
        .disable_signals();
    if let Some(n) = listen.workers {
        builder = builder.workers(n);
    }
    let mut failure = None;
    let mut bound = Vec::new();
    for addr in listen.bind.to_socket_addrs()? {
        let listener = match tcp_listener(addr) {
            Ok(l) => l,
            Err(e) => {
                failure = Some(e);
                continue;
            }
        };
        let addr = listener.local_addr()?;
        let (state, signal) = (state.clone(), builder.graceful_shutdown_signal());
        let (header_timeout, keep_alive) = (listen.header_timeout, listen.keep_alive);
        builder = builder.listen(format!("kreisgeo-{addr}"), listener, move || {
            let signal = signal.clone();
            let app = crate::api::app(state.clone())
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            // The host and address links fall back on when a request names no Host, as
            // HttpServer sets them (its constructor is crate-private; this is the public one).
            let config = AppConfig::__priv_test_new(false, addr.to_string(), addr);
            let http: H1Service<Connection, _, _> = HttpService::build()
                .keep_alive(keep_alive)
                .client_request_timeout(header_timeout)
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .h1(map_config(app, move |()| config.clone()));
            fn_service(move |io: TcpStream| {
                // Without TCP_NODELAY a streamed response's last small chunk waits for the
                // client's delayed ACK (40 ms on Linux): every page would take that long.
                if let Err(e) = io.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, DispatchError>((
                    Connection::new(io, header_timeout),
                    peer,
                )))
            })
            .and_then(http)
        })?;
        bound.push(addr);
    }
    match failure {
        _ if !bound.is_empty() => Ok((builder.run(), bound)),
        Some(e) => Err(e),
        None => Err(io::Error::other(format!(
            "{} resolves to no address",
            listen.bind
        ))),
    }
}

/// A listening socket as actix-server makes one: address reuse, a backlog of 2048.
fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(2048)?;
    Ok(socket.into())
}
