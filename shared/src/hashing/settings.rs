//! The argon2id cost (`ARGON2_*`) and the floor under it: OWASP's options, RFC 9106's, and the
//! least work the service accepts.

use std::ops::RangeInclusive;

use argon2::Params;

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

    pub(super) fn params(self) -> Params {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .expect("validated argon2 parameters are valid")
    }
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self::OWASP
    }
}
