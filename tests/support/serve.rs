//! The accept loop of the tests' own HTTP/1.1 servers on 127.0.0.1 (the fault proxy, the fake
//! third-party APIs): each connection is served until the server is dropped.

use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `listener` with `handle` until the returned sender is dropped, which stops accepting
/// and closes every open connection.
pub fn until_dropped<H, F, E>(listener: TcpListener, handle: H) -> watch::Sender<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (stop, stopped) = watch::channel(());
    tokio::spawn(async move {
        let mut stop_accepting = stopped.clone();
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                _ = stop_accepting.changed() => return,
            };
            let handle = handle.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle));
                tokio::select! {
                    _ = conn => {}
                    _ = stopped.changed() => {}
                }
            });
        }
    });
    stop
}
