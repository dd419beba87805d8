//! API Gateway HTTP API (payload v2) -> [`super::ApiRequest`].
//!
//! The functions take the raw v2 payload ([`run`], [`handle_v2_event`]) and decode its body
//! here: `lambda_http` decodes `isBase64Encoded` bodies with an `expect`, so a garbage body
//! would panic, and release builds abort on panic (the whole sandbox, not one request). Here it
//! is a 400 like any body that is not JSON. [`handle_event`] stays for callers that already
//! hold a `lambda_http` request.

use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::aws_lambda_events::encodings::Body as EventBody;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, LambdaEvent, Request, RequestExt, Response, service_fn};

use super::{ApiError, ApiRequest, handle_route};
use crate::invocation::Invocation;
use crate::service::{Operation, ResetService};

/// The Lambda runtime loop for one operation, on raw API Gateway v2 payloads.
pub async fn run(service: &ResetService, op: Operation) -> Result<(), Error> {
    lambda_http::lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            // The request id travels with the invocation to the events and log lines.
            let invocation = Invocation::lambda(event.context.request_id);
            let answer = invocation.scope(handle_v2_event(service, op, event.payload));
            Ok::<_, Error>(answer.await)
        },
    ))
    .await
}

/// The operation an event asks for: the function's own, except that the consume function
/// also serves `POST /password-reset/revoke` (server callers), since it holds the permissions
/// to delete codes.
pub fn operation_for(function: Operation, path: &str) -> Operation {
    match (function, super::route(path)) {
        (Operation::Consume, Some(Operation::Revoke)) => Operation::Revoke,
        _ => function,
    }
}

/// Answers one API Gateway v2 event. Never fails and never panics on what the client sent:
/// a body marked base64 that does not decode is a 400 `MALFORMED_JSON`.
pub async fn handle_v2_event(
    service: &ResetService,
    op: Operation,
    event: ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    // The dialect is the route's: each dialect's path is routed to the function of its use case.
    let path = event.raw_path.unwrap_or_default();
    let route = super::dialect::lambda_route(op, &path);
    let http = &event.request_context.http;
    let client_ip = http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
    let method = http.method.clone();
    let body = match (event.body, event.is_base64_encoded) {
        (None, _) => bytes::Bytes::new(),
        (Some(text), false) => bytes::Bytes::from(text),
        (Some(text), true) => match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(raw) => bytes::Bytes::from(raw),
            Err(_) => return v2_response(ApiError::MalformedJson.into_response()),
        },
    };
    let request = ApiRequest {
        method,
        path,
        headers: event.headers,
        body,
        client_ip,
    };
    v2_response(handle_route(service, route, request).await)
}

fn v2_response(response: http::Response<String>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    out.body = Some(EventBody::Text(body));
    out
}

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
    let path = event.uri().path().to_owned();
    let route = super::dialect::lambda_route(op, &path);
    let (parts, body) = event.into_parts();
    let request = ApiRequest {
        method: parts.method,
        path,
        headers: parts.headers,
        body: bytes::Bytes::copy_from_slice(body.as_ref()),
        client_ip,
    };
    Ok(handle_route(service, route, request).await.map(Body::from))
}
