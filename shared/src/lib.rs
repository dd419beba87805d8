//! The password-reset service as a library: every Lambda function and the local API are thin
//! shells around it.
//!
//! Layers, inside out (hexagonal, ports and adapters):
//! - [`domain`]: parse-don't-validate types. A value that exists is valid.
//! - [`service`]: the three use cases (request, check, consume) over the ports. No AWS types.
//! - [`store`], [`mail`], [`events`], [`clock`], [`breach`], [`captcha`]: the ports and their
//!   adapters (DynamoDB / memory, SES / recording, EventBridge / recording / none, system /
//!   fixed, the Pwned Passwords range API / always clean, a provider's siteverify);
//!   [`outbound`]: the HTTP client of the third-party APIs, the SDK's own connector;
//!   [`metrics`]: counts as CloudWatch EMF lines; [`invocation`]: the request id and dialect
//!   they report.
//! - [`http`]: the edge. An HTTP request becomes a command; one [`http::ApiError`] owns every
//!   status and error body.
//! - [`config`] and [`wiring`]: typed settings from the environment, and the adapters built
//!   once at init; [`logging`]: the functions' subscriber, which keeps dependencies' payloads
//!   out of the logs at every level.

pub mod breach;
pub mod captcha;
pub mod clock;
pub mod config;
pub mod domain;
pub mod events;
pub mod hashing;
pub mod http;
pub mod invocation;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod recorder;
pub mod service;
pub mod store;
pub mod wiring;
