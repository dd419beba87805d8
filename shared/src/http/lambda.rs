//! API Gateway HTTP API (payload v2) -> [`super::ApiRequest`], through `lambda_http`.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};

use super::{ApiRequest, handle};
use crate::service::{Operation, ResetService};

/// The client address API Gateway saw (`requestContext.http.sourceIp`). Headers such as
/// `X-Forwarded-For` are the client's to forge and are ignored.
pub fn source_ip(event: &Request) -> Option<std::net::IpAddr> {
    match event.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref()?.parse().ok(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The Lambda handler for one operation. `Err` is reserved for a broken invocation; every API
/// error is an `Ok` response.
pub async fn handle_event(
    service: &ResetService,
    op: Operation,
    event: Request,
) -> Result<Response<Body>, Error> {
    let client_ip = source_ip(&event);
    let (parts, body) = event.into_parts();
    let request = ApiRequest {
        method: parts.method,
        headers: parts.headers,
        body: bytes::Bytes::copy_from_slice(body.as_ref()),
        client_ip,
    };
    Ok(handle(service, op, request).await.map(Body::from))
}
