//! argon2id ms per hash as the service computes it (a reused block buffer,
//! `hash_password_into_with_memory`) at OWASP's and RFC 9106's second parameters, built with
//! one profile per opt-level arrangement (Cargo.toml). Prints the median and the fastest of N
//! after one warm-up hash: on a shared machine the fastest is the CPU cost, the median what a
//! busy machine gives.
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::time::Instant;
fn main() {
    for (m, t, p, n) in [(19_456u32, 2u32, 1u32, 31usize), (65_536, 3, 4, 11)] {
        let params = Params::new(m, t, p, None).unwrap();
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut blocks = vec![Block::new(); params.block_count()];
        let mut out = [0u8; 32];
        let mut times = Vec::new();
        for i in 0..n {
            let t0 = Instant::now();
            a.hash_password_into_with_memory(
                b"a brand new passphrase",
                b"saltsaltsaltsalt",
                &mut out,
                &mut blocks[..],
            )
            .unwrap();
            if i > 0 {
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "m={m} t={t} p={p}: median {:.1} ms, min {:.1} ms ({} hashes)",
            times[times.len() / 2],
            times[0],
            times.len()
        );
    }
}
