//! The hasher's output and its bounds: PHC strings that verify, settings that refuse weak
//! costs, a pool that never holds more buffers than cores.

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
