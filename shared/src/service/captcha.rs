//! The CAPTCHA gate of a public request: verified with the provider before anything is looked
//! up, so its answer cannot depend on the account.

use super::{Caller, RequestReset, ResetService, ServiceError};
use crate::logging::error_chain;

impl ResetService {
    /// Passes server callers (the app's backend) and every caller when no CAPTCHA is
    /// configured. Otherwise the public caller's token must be accepted by the provider:
    /// refused -> [`ServiceError::CaptchaRefused`]; provider unreachable or slow ->
    /// [`ServiceError::CaptchaUnavailable`] (503: failing open would let a bot through whenever
    /// the provider is slow). The edge has already refused a missing token.
    pub(super) async fn pass_captcha(&self, cmd: &RequestReset) -> Result<(), ServiceError> {
        let Some(verifier) = &self.ports.captcha else {
            return Ok(());
        };
        if cmd.caller == Caller::Server {
            return Ok(());
        }
        let Some(token) = &cmd.captcha else {
            return Err(ServiceError::CaptchaRefused);
        };
        match verifier.verify(token).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::info!("public request refused: CAPTCHA not accepted by the provider");
                Err(ServiceError::CaptchaRefused)
            }
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "CAPTCHA provider unavailable; public request refused");
                Err(ServiceError::CaptchaUnavailable)
            }
        }
    }
}
