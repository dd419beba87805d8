//! Password hashing: argon2id as a PHC string, in memory that is allocated once and reused,
//! with at most as many hashes in flight as the machine has cores.
//!
//! Why not `Argon2::hash_password`: it allocates the m KiB of blocks for every hash and frees
//! them after. glibc keeps freed large blocks in the arena of the thread that freed them, and
//! tokio's blocking pool hashes on many threads, so a process under concurrent consumes grew to
//! gigabytes and stayed there (issue 16: 3.7 GB after 16 concurrent consumes). Here a hash
//! borrows a block buffer from a small pool (one buffer per core at most, allocated on first
//! need or by [`prewarm`], never freed), and the async entry point [`hash_off_thread`] waits
//! for one of `cores` permits before it takes a blocking thread, so memory is O(cores) whatever
//! the number of connections, in the local API and on Lambda alike.
//!
//! The parameters are the `ARGON2_*` settings ([`crate::config::argon2_settings`]), read from
//! the process environment once, at the first hash or at [`prewarm`]. `Config::from_env`
//! validates the same variables at init, so a bad value stops the function before it serves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::TryRng as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use crate::domain::NewPassword;

mod settings;

pub use settings::Argon2Settings;

/// A block buffer: `Params::block_count()` blocks of 1 KiB.
type Blocks = Box<[Block]>;

/// argon2id with its reusable memory and its concurrency bound.
pub struct Hasher {
    settings: Argon2Settings,
    argon2: Argon2<'static>,
    blocks: usize,
    /// Free buffers. Never more than `keep`; a hash takes one or allocates one.
    pool: Mutex<Vec<Blocks>>,
    keep: usize,
    /// Pooled buffers allocated so far (at most `keep` while callers go through `hash_async`).
    allocated: AtomicUsize,
    /// Hashes in flight through [`Hasher::hash_async`].
    permits: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("settings", &self.settings)
            .field("concurrency", &self.keep)
            .finish_non_exhaustive()
    }
}

/// The machine's cores as the standard library sees them (cgroup quota included): the bound on
/// hashes in flight and on pooled buffers.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Hasher {
    /// A hasher for `settings` (validated by [`Argon2Settings::validate`]) allowing `concurrency`
    /// hashes at once (at least 1).
    pub fn new(settings: Argon2Settings, concurrency: usize) -> Self {
        let params = settings.params();
        let blocks = params.block_count();
        let keep = concurrency.max(1);
        Self {
            settings,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            blocks,
            pool: Mutex::new(Vec::with_capacity(keep)),
            keep,
            allocated: AtomicUsize::new(0),
            permits: tokio::sync::Semaphore::new(keep),
        }
    }

    /// The parameters new hashes use.
    pub fn settings(&self) -> Argon2Settings {
        self.settings
    }

    /// Hashes in flight at most (through [`Hasher::hash_async`]), and buffers kept.
    pub fn concurrency(&self) -> usize {
        self.keep
    }

    /// A fresh buffer of `len` blocks. Every block is written (not `alloc_zeroed`, whose pages
    /// the kernel maps lazily), so the page faults happen here, not in the first hash.
    fn allocate(len: usize) -> Blocks {
        vec![Block::new(); len].into_boxed_slice()
    }

    fn take(&self) -> Blocks {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        pooled.unwrap_or_else(|| {
            self.allocated.fetch_add(1, Ordering::Relaxed);
            Self::allocate(self.blocks)
        })
    }

    /// Block buffers this hasher has allocated for hashing so far: at most
    /// [`Hasher::concurrency`] when every caller goes through [`Hasher::hash_async`].
    pub fn buffers_allocated(&self) -> usize {
        self.allocated.load(Ordering::Relaxed)
    }

    /// Wipes the password-derived blocks and returns the buffer to the pool if it has room.
    fn give_back(&self, mut blocks: Blocks) {
        blocks.iter_mut().for_each(|b| b.zeroize());
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < self.keep {
            pool.push(blocks);
        }
    }

    /// Allocates (and faults in) one buffer now, so the first hash after a cold start runs at
    /// warm speed. Idempotent: does nothing when a buffer is already pooled.
    pub fn prewarm(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.is_empty() {
            self.allocated.fetch_add(1, Ordering::Relaxed);
            pool.push(Self::allocate(self.blocks));
        }
    }

    /// Hashes `password` into a PHC string on this thread. CPU-heavy (tens of milliseconds):
    /// async code calls [`Hasher::hash_async`].
    pub fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let mut salt_bytes = [0u8; argon2::RECOMMENDED_SALT_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut salt_bytes)
            .map_err(|_| HashError)?;
        let salt = Salt::new(&salt_bytes).map_err(|_| HashError)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let mut blocks = self.take();
        let result = self.argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            &salt,
            &mut out,
            &mut blocks[..],
        );
        self.give_back(blocks);
        result.map_err(|_| HashError)?;
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.settings.params()).map_err(|_| HashError)?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|_| HashError)?),
        };
        out.zeroize();
        Ok(phc.to_string())
    }

    /// [`Hasher::hash`] on tokio's blocking pool once one of the `concurrency` permits is free:
    /// a hash never stalls the async workers, and extra callers wait here without holding a
    /// thread or a buffer.
    pub async fn hash_async(&'static self, password: NewPassword) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError)?;
        tokio::task::spawn_blocking(move || self.hash(&password))
            .await
            .map_err(|_| HashError)?
    }

    /// Checks `password` against a stored PHC string, whatever its argon2 parameters (hashes
    /// made before a change of `ARGON2_*` keep working). Uses a pooled buffer when the stored
    /// parameters fit in it; larger ones (up to the [`Argon2Settings::MEMORY_KIB`] bound) get a
    /// temporary buffer; anything else is refused.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let Ok(parsed) = Phc::new(phc) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
        ) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        if params.m_cost() > *Argon2Settings::MEMORY_KIB.end() {
            return false;
        }
        let needed = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let ok = if needed <= self.blocks {
            let mut blocks = self.take();
            let r = argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut out,
                &mut blocks[..needed],
            );
            self.give_back(blocks);
            r.is_ok()
        } else {
            let mut blocks = Self::allocate(needed);
            let r = argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut out,
                &mut blocks[..],
            );
            blocks.iter_mut().for_each(|b| b.zeroize());
            r.is_ok()
        };
        let equal = ok && bool::from(out.as_slice().ct_eq(expected.as_bytes()));
        out.zeroize();
        equal
    }
}

/// The process's hasher: `ARGON2_*` from the environment, `cores()` in flight.
static GLOBAL: LazyLock<Hasher> = LazyLock::new(|| {
    let settings = crate::config::argon2_settings(|k| std::env::var(k).ok()).unwrap_or_else(|e| {
        // Config::from_env refuses the same values at init; only a caller that skipped it
        // gets here. Hash with the safe default rather than not at all.
        tracing::error!(error = %e, "ARGON2_* settings invalid; hashing with the OWASP default");
        Argon2Settings::OWASP
    });
    Hasher::new(settings, cores())
});

/// The process-wide hasher every function below uses.
pub fn global() -> &'static Hasher {
    &GLOBAL
}

/// Reads the settings and allocates (faults in) one block buffer now. The consume function
/// calls it at init, beside the connection priming, so its first hash pays no page faults.
pub fn prewarm() {
    GLOBAL.prewarm();
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...` with the default
/// settings) on this thread. CPU-heavy (tens of milliseconds): async code calls
/// [`hash_off_thread`].
pub fn hash(password: &NewPassword) -> Result<String, HashError> {
    GLOBAL.hash(password)
}

/// [`hash`] on tokio's blocking pool, at most one hash per core in flight (others wait).
pub async fn hash_off_thread(password: NewPassword) -> Result<PasswordHash, HashError> {
    GLOBAL.hash_async(password).await.map(PasswordHash)
}

/// A new password's argon2id PHC string, on its way to the users table.
///
/// Why a type: a hash is not a password, but it is an offline-cracking target, so it must never
/// reach a log line. Its `Debug` is redacted (so a `PasswordChange` logged with `{:?}` shows no
/// hash), it has no `Display`, and the only way to the string is [`PasswordHash::as_str`] at the
/// store's write.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string, for the store's write.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, moved into a store.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Checks a password against a stored PHC string of any argon2 parameters (the local API's dev
/// sign-in and tests).
pub fn verify(password: &str, phc: &str) -> bool {
    GLOBAL.verify(password, phc)
}

/// Hashing failed (out of memory or the blocking task died); carries nothing secret.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

#[cfg(test)]
mod tests;
