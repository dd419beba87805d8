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

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::TryRng as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use crate::domain::NewPassword;

/// argon2id cost parameters (the `ARGON2_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`). This build computes the lanes one after another on one thread (argon2's
    /// `rayon` feature is off: Lambda bills the CPU anyway), so `p` changes the hash, not its
    /// time.
    pub parallelism: u32,
}

impl Argon2Settings {
    /// OWASP Password Storage Cheat Sheet, argon2id option 2: m = 19 MiB, t = 2, p = 1. The
    /// default of the library and the local API.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
    /// RFC 9106 section 4, the second recommended option ("if much less memory is available"):
    /// m = 64 MiB, t = 3, p = 4. What template.yaml and the CDK stack give the 1,024 MB consume
    /// function (BENCHMARKS.md has the measurements behind it).
    pub const RFC9106_SECOND: Self = Self {
        memory_kib: 65_536,
        iterations: 3,
        parallelism: 4,
    };
    /// `ARGON2_MEMORY_KIB` bounds: OWASP's smallest option (7 MiB) to 256 MiB (every core of a
    /// local API holds one buffer; a Lambda function holds one).
    pub const MEMORY_KIB: RangeInclusive<u32> = 7_168..=262_144;
    /// `ARGON2_ITERATIONS` bounds.
    pub const ITERATIONS: RangeInclusive<u32> = 1..=16;
    /// `ARGON2_PARALLELISM` bounds.
    pub const PARALLELISM: RangeInclusive<u32> = 1..=16;
    /// Memory x passes, in KiB-passes, of OWASP's weakest equivalent option (m = 7 MiB, t = 5).
    /// Every OWASP option is at least this (47104x1, 19456x2, 12288x3, 9216x4, 7168x5); less is
    /// refused.
    pub const MIN_WORK: u64 = 7_168 * 5;

    /// Checks the bounds above. The error names the variable at fault and the rule.
    pub fn validate(self) -> Result<Self, (&'static str, String)> {
        let bounded = |var: &'static str, v: u32, r: RangeInclusive<u32>| {
            if r.contains(&v) {
                Ok(())
            } else {
                Err((
                    var,
                    format!("must be between {} and {}", r.start(), r.end()),
                ))
            }
        };
        bounded("ARGON2_MEMORY_KIB", self.memory_kib, Self::MEMORY_KIB)?;
        bounded("ARGON2_ITERATIONS", self.iterations, Self::ITERATIONS)?;
        bounded("ARGON2_PARALLELISM", self.parallelism, Self::PARALLELISM)?;
        if u64::from(self.memory_kib) * u64::from(self.iterations) < Self::MIN_WORK {
            return Err((
                "ARGON2_ITERATIONS",
                format!(
                    "ARGON2_MEMORY_KIB x ARGON2_ITERATIONS must be at least {} (OWASP's weakest option, m=7168 t=5)",
                    Self::MIN_WORK
                ),
            ));
        }
        Ok(self)
    }

    fn params(self) -> Params {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .expect("validated argon2 parameters are valid")
    }
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self::OWASP
    }
}

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
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_hash_is_redacted_in_debug_output() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let hashed = hash_off_thread(p).await.unwrap();
        assert!(hashed.as_str().starts_with("$argon2id$"));
        let shown = format!("{hashed:?}");
        assert_eq!(shown, "PasswordHash(<redacted>)");
        assert!(!shown.contains(hashed.as_str()));
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters_that_verify() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let phc = hash(&p).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("wrong horse battery", &phc));
        assert_ne!(phc, hash(&p).unwrap(), "salted");
    }

    #[test]
    fn hashes_match_the_argon2_crates_own_implementation() {
        use argon2::password_hash::PasswordVerifier as _;
        let h = Hasher::new(Argon2Settings::OWASP, 1);
        let phc = h
            .hash(&NewPassword::parse("correct horse battery").unwrap())
            .unwrap();
        let parsed = Phc::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify() {
        // A hasher with small settings verifies the OWASP hash (a bigger, temporary buffer),
        // and the default one verifies the small hash (a prefix of its pooled buffer).
        let small = Hasher::new(
            Argon2Settings {
                memory_kib: 8_192,
                iterations: 5,
                parallelism: 2,
            },
            1,
        );
        let p = NewPassword::parse("correct horse battery").unwrap();
        let small_phc = small.hash(&p).unwrap();
        assert!(
            small_phc.starts_with("$argon2id$v=19$m=8192,t=5,p=2$"),
            "{small_phc}"
        );
        let owasp_phc = hash(&p).unwrap();
        assert!(small.verify("correct horse battery", &owasp_phc));
        assert!(verify("correct horse battery", &small_phc));
        assert!(!small.verify("wrong horse battery", &owasp_phc));
        assert!(!verify("wrong horse battery", &small_phc));
        // The argon2 crate's own PHC (argon2id, other salt length) and other variants verify.
        use argon2::password_hash::PasswordHasher as _;
        for alg in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
            let params = Params::new(7_168, 5, 1, None).unwrap();
            let theirs = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"correct horse battery")
                .unwrap()
                .to_string();
            assert!(verify("correct horse battery", &theirs), "{theirs}");
            assert!(!verify("wrong horse battery", &theirs), "{theirs}");
        }
    }

    #[test]
    fn malformed_or_oversized_stored_hashes_do_not_verify() {
        for phc in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(!verify("correct horse battery", phc), "{phc}");
        }
    }

    #[test]
    fn settings_are_bounded_and_never_weaker_than_owasps_weakest_option() {
        assert!(Argon2Settings::OWASP.validate().is_ok());
        assert!(Argon2Settings::RFC9106_SECOND.validate().is_ok());
        let with = |memory_kib, iterations, parallelism| {
            Argon2Settings {
                memory_kib,
                iterations,
                parallelism,
            }
            .validate()
        };
        for (m, t, p, why) in [
            (4_096, 9, 1, "memory under 7 MiB"),
            (524_288, 1, 1, "memory over 256 MiB"),
            (19_456, 0, 1, "no pass"),
            (19_456, 17, 1, "too many passes"),
            (19_456, 2, 0, "no lane"),
            (19_456, 2, 17, "too many lanes"),
            (19_456, 1, 1, "19 MiB x 1 is under OWASP's weakest option"),
            (7_168, 4, 1, "7 MiB x 4 is under OWASP's weakest option"),
        ] {
            assert!(with(m, t, p).is_err(), "{why}");
        }
        for (m, t, p) in [(47_104, 1, 1), (12_288, 3, 1), (9_216, 4, 1), (7_168, 5, 1)] {
            assert!(with(m, t, p).is_ok(), "OWASP's m={m} t={t}");
        }
    }

    #[test]
    fn the_pool_keeps_at_most_one_buffer_per_permit() {
        let h = Hasher::new(
            Argon2Settings {
                memory_kib: 8_192,
                iterations: 5,
                parallelism: 1,
            },
            2,
        );
        h.prewarm();
        h.prewarm();
        assert_eq!(h.pool.lock().unwrap().len(), 1, "prewarm is idempotent");
        let (a, b, c) = (h.take(), h.take(), h.take());
        h.give_back(a);
        h.give_back(b);
        h.give_back(c);
        assert_eq!(h.pool.lock().unwrap().len(), 2);
        assert!(
            h.pool.lock().unwrap()[0]
                .iter()
                .all(|blk| blk.as_ref().iter().all(|w| *w == 0)),
            "returned buffers are wiped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hashes_wait_for_one_of_the_permits_and_share_their_buffers() {
        let h: &'static Hasher = Box::leak(Box::new(Hasher::new(
            Argon2Settings {
                memory_kib: 8_192,
                iterations: 5,
                parallelism: 1,
            },
            2,
        )));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let p = NewPassword::parse(&format!("password number {i}")).unwrap();
                tokio::spawn(h.hash_async(p))
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap().starts_with("$argon2id$"));
        }
        assert!(h.buffers_allocated() <= 2, "{}", h.buffers_allocated());
        assert_eq!(h.pool.lock().unwrap().len(), h.buffers_allocated());
    }

    #[test]
    fn debug_output_shows_settings_only() {
        let s = format!("{:?}", Hasher::new(Argon2Settings::OWASP, 2));
        assert!(s.contains("19456") && s.contains("concurrency: 2"), "{s}");
    }
}
