//! Seeding the local API's users (`--user email:password`): parsed, hashed with argon2id and
//! written through the store's own [`Store::put_user`], the one writer of the users-item format.

use shared::config::Config;
use shared::domain::{EmailAddress, NewPassword, UserId};
use shared::store::dynamodb::NewUser;
use shared::wiring::Store;

use crate::BoxError;
use crate::options::SeedUser;

/// A `--user` flag, checked and hashed before anything starts.
pub struct Seed {
    email: EmailAddress,
    hash: String,
}

impl Seed {
    /// The flag's address and password, parsed by the service's own rules; the password is
    /// hashed here, so a bad one stops the server before it listens.
    pub fn parse(user: &SeedUser) -> Result<Self, BoxError> {
        let email = EmailAddress::parse(&user.email)
            .map_err(|e| format!("--user {}: email {e}", user.email))?;
        let password = NewPassword::parse(&user.password)
            .map_err(|e| format!("--user {}: password {e}", user.email))?;
        let hash = shared::hashing::hash(&password).map_err(|_| "password hashing failed")?;
        Ok(Self { email, hash })
    }

    /// Writes the user into `store`. The id is stable per address, so repeated runs against
    /// DynamoDB replace the same item; without an email index the address is the key.
    pub async fn put(&self, store: &Store, config: &Config) -> Result<(), BoxError> {
        let id = match store {
            Store::Dynamo(_) if config.store.users.email_index.is_none() => {
                self.email.normalized().to_owned()
            }
            _ => seed_id(&self.email).as_str().to_owned(),
        };
        store
            .put_user(&NewUser {
                id: &id,
                email: self.email.normalized(),
                password_hash: Some(&self.hash),
                enabled: None,
            })
            .await?;
        Ok(())
    }
}

/// Stable id for a seed user: `user-` and 16 hex digits of the address's SHA-256.
fn seed_id(email: &EmailAddress) -> UserId {
    use std::fmt::Write;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(email.normalized().as_bytes());
    let hex = digest.iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    UserId::parse(&format!("user-{hex}")).expect("a short ASCII id is valid")
}
