//! Check: is this code valid right now? Reads one item; never spends the code.

use super::{ClientIp, Operation, Proof, ResetService, ServiceError};
use crate::clock::EpochSecs;
use crate::domain::{EmailAddress, ResetCode, ShortCode};

/// What check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The code works until `expires_at` (epoch seconds), unless spent or revoked first.
    Valid {
        /// Epoch seconds.
        expires_at: EpochSecs,
    },
    /// Unknown, spent, revoked, expired or malformed: one answer for all.
    Invalid,
}

impl ResetService {
    /// Whether the link's code or the short code in `proof` is valid now.
    ///
    /// `code` is `None` when the caller sent something that cannot be a code: answered like
    /// an unknown code, without reading a token. Two sequential round trips: the token read
    /// with the caller's rate window, then the token's user, because a code is valid only
    /// while the account still holds the address and password-change mark it was issued for
    /// (a password set since, by a reset or by the app, kills it).
    #[tracing::instrument(name = "check", skip_all)]
    pub async fn check_proof(
        &self,
        proof: Proof,
        client_ip: ClientIp,
    ) -> Result<CheckOutcome, ServiceError> {
        match proof {
            Proof::Link(code) => self.check(code, client_ip).await,
            Proof::Short { email, otp } => self.check_short(&email, otp, client_ip).await,
            Proof::ShortOf { user, otp } => match self.ports.users.by_id(&user).await? {
                Some(account) => self.check_short(&account.email, Some(otp), client_ip).await,
                None => Ok(CheckOutcome::Invalid),
            },
        }
    }

    /// A link's code: see [`ResetService::check_proof`].
    pub async fn check(
        &self,
        code: Option<ResetCode>,
        client_ip: ClientIp,
    ) -> Result<CheckOutcome, ServiceError> {
        let limit = self.limit(Operation::Check, client_ip);
        let Some(code) = code else {
            limit.await?;
            return Ok(CheckOutcome::Invalid);
        };
        let (limited, found) = tokio::join!(limit, self.find_token(&code));
        limited?;
        let Some((token, key)) = found? else {
            return Ok(CheckOutcome::Invalid);
        };
        let user = self.ports.users.by_id(&token.user_id).await?;
        Ok(match user {
            Some(user) if token.is_bound_to(&user, key) => CheckOutcome::Valid {
                expires_at: token.expires_at,
            },
            _ => CheckOutcome::Invalid,
        })
    }

    /// A short code typed with its address: the try is counted (right or wrong) before the
    /// code is compared; an unknown address, a wrong, expired, revoked or exhausted code all
    /// answer `Invalid`. Two round trips for a right code, one otherwise.
    async fn check_short(
        &self,
        email: &EmailAddress,
        otp: Option<ShortCode>,
        client_ip: ClientIp,
    ) -> Result<CheckOutcome, ServiceError> {
        let limit = self.limit(Operation::Check, client_ip);
        let Some(otp) = otp else {
            limit.await?;
            return Ok(CheckOutcome::Invalid);
        };
        let (limited, found) = tokio::join!(
            limit,
            self.find_by_short_code(email, &otp, Operation::Check)
        );
        limited?;
        Ok(match found? {
            Some(hit)
                if hit
                    .user
                    .as_ref()
                    .is_some_and(|u| hit.token.is_bound_to(u, hit.key)) =>
            {
                CheckOutcome::Valid {
                    expires_at: hit.token.expires_at,
                }
            }
            _ => CheckOutcome::Invalid,
        })
    }
}
