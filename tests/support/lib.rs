//! Support for the integration tests (`tests/tests/*.rs`): the moto emulator ([`moto`]) and a
//! `TestApp`-style harness ([`app`]) that wires the real use cases to a store backend (memory, or
//! DynamoDB on moto), a fixed clock and a mailer, with helpers to call the use cases and the
//! HTTP edge; a Lambda Runtime API stand-in that runs the real function binaries
//! ([`runtime_api`]).

pub mod app;
pub mod faults;
pub mod gate;
pub mod moto;
pub mod runtime_api;
