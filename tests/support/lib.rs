//! Support for the integration tests (`tests/tests/*.rs`): the moto emulator ([`moto`]) and a
//! `TestApp`-style harness ([`app`]) that wires the real use cases to a store backend (memory, or
//! DynamoDB on moto), a fixed clock and a mailer, with helpers to call the use cases and the
//! HTTP edge.

pub mod app;
pub mod faults;
pub mod moto;
