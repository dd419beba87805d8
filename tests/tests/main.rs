//! The integration tests, one binary: each module is one file of tests/tests (one link instead
//! of one per file). Run one module with a filter: `cargo test -p integration-tests --test main
//! -- template::`. They share one process, so one moto server (tests/support/moto.rs) and one
//! build of the function binaries (tests/support/runtime_api.rs); no test here may install a
//! global tracing subscriber or set environment variables. `logs.rs` is a binary of its own: it
//! installs the functions' subscriber process-wide and searches every line it captures.

mod api;
mod api_input;
mod api_server;
mod breached_passwords;
mod captcha;
mod conformance;
mod docs;
mod dynamodb;
mod event_bus;
mod event_timing;
mod events;
mod faults;
mod hardening;
mod ip_limits;
mod key_rotation;
mod local_api;
mod local_api_edge;
mod mail_templates;
mod mail_timing;
mod openapi;
mod password_policy;
mod policies;
mod productflame;
mod revoke_sessions;
mod round_trips;
mod runtime_base64;
mod runtime_logs;
mod sam_local;
mod scripts;
mod ses;
mod settings;
mod short_codes;
mod stack;
mod supabase;
mod template;
mod zitadel;
