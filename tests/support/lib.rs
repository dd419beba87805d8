//! Support for the integration tests (`tests/tests/main.rs` and its modules, and
//! `tests/tests/logs.rs`): the moto emulator ([`moto`]); a `TestApp`-style harness ([`app`])
//! that wires the real use cases to a store backend (memory, or DynamoDB on moto), a fixed clock
//! and a mailer, with the one set of test settings ([`app::TestConfig`]), helpers to call the
//! use cases and the HTTP edge; the handler-level [`edge::EdgeApp`] on the memory store; a
//! Lambda Runtime API stand-in that runs the real function binaries ([`runtime_api`]); a
//! recording stand-in for the third-party APIs (breached passwords, CAPTCHA: [`fake_api`]); a
//! folder of mail templates with a locale the built-in set lacks ([`templates`]).

pub mod app;
pub mod backend;
pub mod edge;
pub mod fake_api;
pub mod faults;
pub mod gate;
pub mod moto;
pub mod runtime_api;
pub mod serve;
pub mod templates;

/// Instantiates each generic `async fn name<B: Backend>()` of a test file once per store
/// adapter: `memory::name` (the in-memory store) and `dynamodb::name` (DynamoDB on moto), so
/// one suite holds both to the same semantics.
#[macro_export]
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test::<$crate::app::Memory>().await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test::<$crate::app::Dynamo>().await;
                }
            )*
        }
    };
}
