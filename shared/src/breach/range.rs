//! The Pwned Passwords range API (k-anonymity): only the first five hex characters of the
//! password's SHA-1 leave the process; the API answers every suffix it knows under that prefix
//! with a count, and the match is made here. `Add-Padding: true` makes every answer about the
//! same size (padding lines have a count of 0 and are ignored), so an observer of the encrypted
//! answer cannot tell the prefix from its length.

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::{BreachCheck, BreachError};
use crate::domain::NewPassword;
use crate::outbound::Outbound;

/// Characters of the hex SHA-1 sent to the API: the range's name.
const PREFIX_LEN: usize = 5;

/// The range API at a base URL (`PWNED_PASSWORDS_URL`), reached with `client`.
#[derive(Debug, Clone)]
pub struct RangeApi {
    base: String,
    client: Outbound,
}

impl RangeApi {
    /// The API at `base` (e.g. `https://api.pwnedpasswords.com`; `GET {base}/range/{prefix}`).
    pub fn new(base: &url::Url, client: Outbound) -> Self {
        Self {
            base: base.as_str().trim_end_matches('/').to_owned(),
            client,
        }
    }
}

#[async_trait::async_trait]
impl BreachCheck for RangeApi {
    async fn times_seen(&self, password: &NewPassword) -> Result<u64, BreachError> {
        let digest: Zeroizing<[u8; 20]> =
            Zeroizing::new(Sha1::digest(password.expose().as_bytes()).into());
        let hex = Zeroizing::new(upper_hex(digest.as_slice()));
        let (prefix, suffix) = hex.split_at(PREFIX_LEN);
        let url = format!("{}/range/{prefix}", self.base);
        let body = self.client.get(&url, &[("add-padding", "true")]).await?;
        count_in(&body, suffix)
    }
}

/// The count of `suffix` in a range answer (`SUFFIX:COUNT` lines, CRLF or LF); 0 when absent
/// or a padding line.
fn count_in(body: &[u8], suffix: &str) -> Result<u64, BreachError> {
    let text = std::str::from_utf8(body).map_err(|_| BreachError::Malformed)?;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (s, count) = line.split_once(':').ok_or(BreachError::Malformed)?;
        if s.eq_ignore_ascii_case(suffix) {
            return count.trim().parse().map_err(|_| BreachError::Malformed);
        }
    }
    Ok(0)
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_is_found_with_its_count_and_padding_counts_as_unseen() {
        let body = b"0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                     1E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\r\n\
                     00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n";
        assert_eq!(
            count_in(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8").unwrap(),
            3_861_493
        );
        assert_eq!(
            count_in(body, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC").unwrap(),
            0
        );
        assert_eq!(
            count_in(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF").unwrap(),
            0
        );
        assert!(count_in(b"<html>oops</html>", "ABC").is_err());
    }

    #[test]
    fn the_hash_is_the_sha1_of_the_normalized_password_in_upper_hex() {
        // SHA-1("password") is 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        let digest = Sha1::digest(b"password");
        assert_eq!(
            upper_hex(&digest),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
    }
}
