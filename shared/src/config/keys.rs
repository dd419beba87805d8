//! The token keys: which source is in force, and what it holds. Errors never carry a key.

use super::{ConfigError, Profile, TOKEN_KEY_SECRET_VAR, env::Env};
use crate::domain::{TokenKey, TokenKeys};

/// The token keys from, in this order: the secret `TOKEN_HMAC_KEY_SECRET_ARN` names (its value
/// read by the caller), or `TOKEN_HMAC_KEY` (+ `TOKEN_HMAC_KEY_PREVIOUS`), or, for the local
/// API only, a random key. Setting both sources is refused, so it is always clear which one is
/// in force.
pub(super) fn token_keys(env: &Env<'_>, secret: Option<&str>) -> Result<TokenKeys, ConfigError> {
    let get = |var: &str| env.get(var);
    const KEY: &str = "TOKEN_HMAC_KEY";
    const PREVIOUS: &str = "TOKEN_HMAC_KEY_PREVIOUS";
    let err = |var: &'static str, reason: &str| ConfigError::new(var, reason);
    let (key, previous) = (get(KEY), get(PREVIOUS));
    if get(TOKEN_KEY_SECRET_VAR).is_some() {
        if key.is_some() || previous.is_some() {
            return Err(err(
                TOKEN_KEY_SECRET_VAR,
                "set either it or TOKEN_HMAC_KEY (+ TOKEN_HMAC_KEY_PREVIOUS), not both",
            ));
        }
        let secret = secret.ok_or_else(|| {
            err(
                TOKEN_KEY_SECRET_VAR,
                "names a secret nobody read: the functions read it at init \
                 (shared::wiring::lambda_config); elsewhere set TOKEN_HMAC_KEY",
            )
        })?;
        return TokenKeys::from_secret(secret).map_err(|e| {
            ConfigError::new(
                TOKEN_KEY_SECRET_VAR,
                format!("the secret's value is refused: {e}"),
            )
        });
    }
    match key {
        Some(key) => {
            let current = TokenKey::new(&key).map_err(|e| err(KEY, &e.to_string()))?;
            let previous = previous
                .map(|p| TokenKey::new(&p).map_err(|e| err(PREVIOUS, &e.to_string())))
                .transpose()?;
            Ok(TokenKeys { current, previous })
        }
        None if previous.is_some() => Err(err(PREVIOUS, "needs TOKEN_HMAC_KEY (the current key)")),
        None => match env.profile {
            Profile::Local { .. } => Ok(TokenKeys {
                current: TokenKey::random(),
                previous: None,
            }),
            Profile::Lambda => Err(err(
                KEY,
                "is required (or TOKEN_HMAC_KEY_SECRET_ARN, as the template sets)",
            )),
        },
    }
}
