//! One conformance suite for the storage ports, run against BOTH adapters: the in-memory store
//! and the DynamoDB store on moto. Each test drives the real use cases (with a fixed clock and a
//! recording mailer), so "same semantics" means "the service behaves the same on either".
//!
//! Each test is a generic async fn over [`Backend`]; the macro at the bottom instantiates it
//! once per adapter (`memory::<name>`, `dynamodb::<name>`).

use integration_tests::app::{Backend, T0, TTL, TestApp};
use integration_tests::gate::{Gate, GatedStore, Held};
use serde_json::json;
use shared::hashing;
use shared::service::{CheckOutcome, Operation, ServiceError};
use shared::store::{ResetStore, ShortCodeTry, TryOutcome};

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "correct horse battery staple";

async fn app_with_ada<B: Backend>(label: &str) -> TestApp<B> {
    let app = TestApp::<B>::start(label).await;
    app.backend.put_user("user-ada", ADA).await;
    app
}

fn assert_too_many(result: Result<impl Sized, ServiceError>, expected_retry_after: u64) {
    match result {
        Err(ServiceError::TooManyRequests { retry_after }) => {
            assert_eq!(retry_after, expected_retry_after, "retry_after");
        }
        Err(other) => panic!("expected 429, got {other:?}"),
        Ok(_) => panic!("expected 429, the request was accepted"),
    }
}

async fn a_request_for_a_known_user_mails_one_link_whose_code_checks_valid<B: Backend>() {
    let app = app_with_ada::<B>("issue").await;

    let issued = app.request(ADA).await.expect("request accepted");
    assert!(issued.is_some(), "a code is issued for a known user");

    let sent = app.inbox.sent();
    assert_eq!(sent.len(), 1, "exactly one mail");
    assert_eq!(sent[0].to.as_str(), ADA);
    let code = app.last_code();
    assert_eq!(
        app.check(&code).await,
        CheckOutcome::Valid {
            expires_at: T0.plus_secs(TTL)
        }
    );
    assert_eq!(app.backend.token_items().await, 1);
}

async fn check_does_not_spend_the_code<B: Backend>() {
    let app = app_with_ada::<B>("check").await;
    app.request(ADA).await.expect("request accepted");
    let code = app.last_code();

    for _ in 0..3 {
        assert!(matches!(app.check(&code).await, CheckOutcome::Valid { .. }));
    }
    app.consume(&code, NEW_PASSWORD)
        .await
        .expect("the checked code still works");
}

async fn consume_sets_the_password_spends_the_code_and_sends_the_changed_mail<B: Backend>() {
    let app = app_with_ada::<B>("consume").await;
    app.request(ADA).await.expect("request accepted");
    let code = app.last_code();
    app.advance(60);

    app.consume(&code, NEW_PASSWORD).await.expect("consumed");

    let hash = app
        .backend
        .password_hash("user-ada")
        .await
        .expect("a password hash is stored");
    assert!(hash.starts_with("$argon2id$"), "an argon2id PHC string");
    assert!(hashing::verify(NEW_PASSWORD, &hash), "the hash verifies");
    assert_eq!(
        app.backend.password_changed_at("user-ada").await,
        Some(T0.plus_secs(60))
    );
    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert!(matches!(
        app.consume(&code, "another good password").await,
        Err(ServiceError::InvalidCode)
    ));
    assert!(
        hashing::verify(
            NEW_PASSWORD,
            &app.backend.password_hash("user-ada").await.unwrap()
        ),
        "a spent code changes nothing"
    );
    let sent = app.inbox.sent();
    assert_eq!(sent.len(), 2, "the reset mail and the changed mail");
    assert_eq!(sent[1].to.as_str(), ADA);
    assert!(sent[1].link.is_none(), "the changed mail carries no link");
    assert_eq!(app.backend.token_items().await, 0);
}

async fn an_expired_code_is_invalid_for_check_and_consume<B: Backend>() {
    let app = app_with_ada::<B>("expiry").await;
    app.request(ADA).await.expect("request accepted");
    let code = app.last_code();

    app.advance(TTL - 1);
    assert!(matches!(app.check(&code).await, CheckOutcome::Valid { .. }));
    app.advance(1);
    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    app.advance(1);
    assert_eq!(app.check(&code).await, CheckOutcome::Invalid);
    assert!(matches!(
        app.consume(&code, NEW_PASSWORD).await,
        Err(ServiceError::InvalidCode)
    ));
    assert_eq!(app.backend.password_hash("user-ada").await, None);
}

async fn a_slot_is_free_again_once_its_code_expires<B: Backend>() {
    let app = app_with_ada::<B>("reuse").await;
    for _ in 0..3 {
        app.request(ADA).await.expect("request accepted");
    }
    assert_too_many(app.request(ADA).await, TTL);

    app.advance(TTL + 1);
    app.request(ADA)
        .await
        .expect("an expired slot is taken again");
    let fresh = app.last_code();
    assert!(matches!(
        app.check(&fresh).await,
        CheckOutcome::Valid { .. }
    ));
    // All three expired slots are free, not just one.
    app.request(ADA).await.expect("second slot");
    app.request(ADA).await.expect("third slot");
    assert_too_many(app.request(ADA).await, TTL);
    app.consume(&fresh, NEW_PASSWORD)
        .await
        .expect("a code in a reused slot works");
}

async fn consume_revokes_the_users_other_codes<B: Backend>() {
    let app = app_with_ada::<B>("revoke").await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        app.request(ADA).await.expect("request accepted");
        codes.push(app.last_code());
        app.advance(10);
    }

    app.consume(&codes[1], NEW_PASSWORD)
        .await
        .expect("consumed");

    for code in &codes {
        assert_eq!(app.check(code).await, CheckOutcome::Invalid);
    }
    assert!(matches!(
        app.consume(&codes[0], "another good password").await,
        Err(ServiceError::InvalidCode)
    ));
    assert_eq!(app.backend.token_items().await, 0, "no token item is left");
    // Every slot was freed: the cap starts over.
    for _ in 0..3 {
        app.request(ADA).await.expect("a freed slot");
    }
}

async fn a_request_for_an_unknown_address_sends_no_mail_and_answers_like_a_known_one<B: Backend>() {
    let app = app_with_ada::<B>("unknown").await;

    let unknown = app.request("nobody@example.com").await.expect("accepted");
    assert!(unknown.is_none(), "no code for an unknown address");
    assert!(app.inbox.sent().is_empty(), "no mail");
    assert_eq!(app.backend.token_items().await, 0, "no token");

    let body = |email: &str| json!({"email": email});
    let known = app.call(Operation::Request, body(ADA)).await;
    let unknown = app
        .call(Operation::Request, body("nobody@example.com"))
        .await;
    assert_eq!(known.status, 200);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body, "the same body either way");
    assert_eq!(app.inbox.sent().len(), 1, "only the known user got mail");
}

async fn the_cap_answers_429_with_the_seconds_until_the_earliest_slot_frees<B: Backend>() {
    let app = app_with_ada::<B>("cap").await;
    for _ in 0..3 {
        app.request(ADA).await.expect("under the cap");
        app.advance(100);
    }
    // Slots expire at T0+TTL, T0+TTL+100, T0+TTL+200; now is T0+300.
    assert_too_many(app.request(ADA).await, TTL - 300);
    assert_eq!(app.inbox.sent().len(), 3, "no mail past the cap");
    assert_eq!(app.backend.token_items().await, 3);

    let over = app.call(Operation::Request, json!({"email": ADA})).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.body["code"], "TOO_MANY_REQUESTS");
    assert_eq!(over.body["retry_after"], TTL - 300);
    assert_eq!(
        over.headers["retry-after"].to_str().ok(),
        Some((TTL - 300).to_string().as_str())
    );
}

async fn the_cap_holds_the_same_way_for_an_address_with_no_account<B: Backend>() {
    let app = app_with_ada::<B>("cap-unknown").await;
    for _ in 0..3 {
        app.request("nobody@example.com")
            .await
            .expect("under the cap");
        app.advance(100);
    }
    assert_too_many(app.request("nobody@example.com").await, TTL - 300);
    // Case does not make a new address.
    assert_too_many(app.request("NoBody@Example.com").await, TTL - 300);
}

async fn mail_goes_to_the_stored_address_not_the_typed_one<B: Backend>() {
    let app = app_with_ada::<B>("stored-address").await;

    app.request("ADA@Example.COM").await.expect("accepted");

    let sent = app.inbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), ADA, "to the address on the account");
    // The cap is per normalized address: three spellings share it.
    app.request("Ada@example.com").await.expect("accepted");
    app.request(ADA).await.expect("accepted");
    assert_too_many(app.request("ada@EXAMPLE.com").await, TTL);
}

async fn a_user_deleted_before_consume_leaves_the_code_unspent<B: Backend>() {
    let app = app_with_ada::<B>("user-gone").await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();
    assert!(matches!(app.check(&code).await, CheckOutcome::Valid { .. }));

    app.backend.delete_user("user-ada").await;

    assert!(matches!(
        app.consume(&code, NEW_PASSWORD).await,
        Err(ServiceError::InvalidCode)
    ));
    assert_eq!(
        app.check(&code).await,
        CheckOutcome::Invalid,
        "a code whose account is gone is invalid"
    );
    assert_eq!(
        app.backend.token_items().await,
        1,
        "nothing was half-applied: the token is still there"
    );
    assert_eq!(app.inbox.sent().len(), 1, "no changed mail");
}

/// With `USERS_SESSION_VERSION_ATTRIBUTE`, the consume transaction adds one to the version
/// with the password (the first reset makes it 1); a consume that fails moves nothing.
async fn consume_adds_one_to_the_session_version_in_the_password_transaction<B: Backend>() {
    let version = [("USERS_SESSION_VERSION_ATTRIBUTE", "session_version")];
    let app = TestApp::<B>::with_user("session-version", &version, ADA).await;
    assert_eq!(app.backend.session_version("user-ada").await, None);
    for expected in 1..=2 {
        app.request(ADA).await.expect("accepted");
        let code = app.last_code();
        app.advance(1);
        app.consume(&code, NEW_PASSWORD).await.expect("consumed");
        assert_eq!(
            app.backend.session_version("user-ada").await,
            Some(expected),
            "one more per reset"
        );
        // The spent code fails and moves neither the version nor the password-change mark.
        let mark = app.backend.password_changed_at("user-ada").await;
        assert!(app.consume(&code, "another good password").await.is_err());
        assert_eq!(
            app.backend.session_version("user-ada").await,
            Some(expected)
        );
        assert_eq!(app.backend.password_changed_at("user-ada").await, mark);
    }

    // Without the setting, nothing is written.
    let app = TestApp::<B>::with_user("no-session-version", &[], ADA).await;
    app.request(ADA).await.expect("accepted");
    let code = app.last_code();
    app.consume(&code, NEW_PASSWORD).await.expect("consumed");
    assert_eq!(app.backend.session_version("user-ada").await, None);
}

/// The key of `email` under the tests' token key, as the service makes it.
fn email_key_of(email: &str) -> shared::domain::EmailKey {
    shared::domain::TokenKey::new(integration_tests::app::TOKEN_KEY)
        .expect("the tests' token key is long enough")
        .email_key(&integration_tests::app::address(email))
}

/// One short-code try for `email` at `now`, in a window that would end at `now + TTL`.
fn short_code_try(email: &str, max: u32, now: shared::clock::EpochSecs) -> ShortCodeTry {
    ShortCodeTry {
        email_key: email_key_of(email),
        max,
        now,
        window_end: now.plus_secs(TTL),
    }
}

async fn a_new_short_code_stretches_the_live_attempt_window_and_never_shortens_or_creates_one<
    B: Backend,
>() {
    let app = app_with_ada::<B>("otp-stretch").await;
    let store = app.backend.store();
    let now = app.now();
    let key = email_key_of(ADA);
    // No window yet: nothing is created, so the first try still starts a fresh one.
    store
        .extend_short_code_window(&key, now.plus_secs(2 * TTL), now)
        .await
        .unwrap();
    for expected in 1..=2 {
        assert_eq!(
            store
                .short_code_try(short_code_try(ADA, 2, now))
                .await
                .unwrap(),
            TryOutcome::Allowed { attempt: expected }
        );
    }
    // The window (ending at now + TTL) is stretched by half a TTL; an earlier end changes
    // nothing.
    let stretched = now.plus_secs(TTL + TTL / 2);
    store
        .extend_short_code_window(&key, stretched, now)
        .await
        .unwrap();
    store
        .extend_short_code_window(&key, now.plus_secs(10), now)
        .await
        .unwrap();
    for at in [now.plus_secs(TTL + 1), stretched] {
        assert_eq!(
            store
                .short_code_try(short_code_try(ADA, 2, at))
                .await
                .unwrap(),
            TryOutcome::Exhausted,
            "the stretched window still holds at {at}"
        );
    }
    assert_eq!(
        store
            .short_code_try(short_code_try(ADA, 2, stretched.plus_secs(1)))
            .await
            .unwrap(),
        TryOutcome::Allowed { attempt: 1 },
        "a new window after the stretched end"
    );
    // A window that has ended is not revived.
    let late = stretched.plus_secs(2 * TTL);
    store
        .extend_short_code_window(&key, late.plus_secs(TTL), late)
        .await
        .unwrap();
    assert_eq!(
        store
            .short_code_try(short_code_try(ADA, 2, late))
            .await
            .unwrap(),
        TryOutcome::Allowed { attempt: 1 }
    );
}

async fn short_code_tries_stop_at_the_maximum_until_their_window_ends<B: Backend>() {
    let app = app_with_ada::<B>("otp-tries").await;
    let store = app.backend.store();
    let now = app.now();
    for expected in 1..=5 {
        assert_eq!(
            store
                .short_code_try(short_code_try(ADA, 5, now))
                .await
                .unwrap(),
            TryOutcome::Allowed { attempt: expected }
        );
    }
    // The sixth try is refused before any code is compared, and stays refused to the end of
    // the window (no new request, no right code resets it).
    let later = now.plus_secs(TTL);
    for at in [now, now.plus_secs(1), later] {
        assert_eq!(
            store
                .short_code_try(short_code_try(ADA, 5, at))
                .await
                .unwrap(),
            TryOutcome::Exhausted,
            "at {at}"
        );
    }
    // An address with no account counts the same way, on its own counter.
    for expected in 1..=5 {
        assert_eq!(
            store
                .short_code_try(short_code_try("nobody@example.com", 5, now))
                .await
                .unwrap(),
            TryOutcome::Allowed { attempt: expected }
        );
    }
    assert_eq!(
        store
            .short_code_try(short_code_try("nobody@example.com", 5, now))
            .await
            .unwrap(),
        TryOutcome::Exhausted
    );
    // Once the window has ended a new one starts with this try; the window it starts keeps
    // its own end.
    let next = later.plus_secs(1);
    assert_eq!(
        store
            .short_code_try(short_code_try(ADA, 5, next))
            .await
            .unwrap(),
        TryOutcome::Allowed { attempt: 1 }
    );
    let mut inside = short_code_try(ADA, 5, next.plus_secs(10));
    inside.window_end = next.plus_secs(1);
    assert_eq!(
        store.short_code_try(inside).await.unwrap(),
        TryOutcome::Allowed { attempt: 2 }
    );
    assert_eq!(
        store
            .short_code_try(short_code_try(ADA, 5, next.plus_secs(TTL + 1)))
            .await
            .unwrap(),
        TryOutcome::Allowed { attempt: 1 },
        "the window started at `next` ended at `next + TTL`"
    );
}

async fn fifty_concurrent_short_code_tries_count_exactly_the_maximum<B: Backend>() {
    let app = app_with_ada::<B>("otp-race").await;
    // All fifty have arrived at the store before any writes: the race is forced, not hoped for.
    let gate = Gate::opens_after(50);
    let store = GatedStore::new(app.backend.store(), Held::ShortCodeTry, gate.clone());
    let now = app.now();
    let tries: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.short_code_try(short_code_try(ADA, 5, now)).await })
        })
        .collect();
    let mut allowed = Vec::new();
    for task in tries {
        match task
            .await
            .expect("the task ran")
            .expect("the store answered")
        {
            TryOutcome::Allowed { attempt } => allowed.push(attempt),
            TryOutcome::Exhausted => {}
        }
    }
    assert_eq!(gate.arrived(), 50);
    allowed.sort_unstable();
    assert_eq!(
        allowed,
        vec![1, 2, 3, 4, 5],
        "exactly the maximum is evaluated"
    );
    assert_eq!(
        store
            .short_code_try(short_code_try(ADA, 5, now))
            .await
            .unwrap(),
        TryOutcome::Exhausted
    );
}

/// Issues Ada a token in slot 0 with `short` as its short code, straight through the store (the
/// request use case does not mail short codes yet), and returns the token and the code's hash.
async fn issue_with_short_code<B: Backend>(
    app: &TestApp<B>,
    short: &str,
) -> (shared::store::TokenRecord, shared::domain::TokenHash) {
    let key = shared::domain::TokenKey::new(integration_tests::app::TOKEN_KEY).unwrap();
    let email_key = email_key_of(ADA);
    let code = shared::domain::ShortCode::parse(short, 8).expect("eight digits");
    let short_hash = key.short_code_hash(&email_key, &code);
    let now = app.now();
    let token = shared::store::TokenRecord {
        hash: key.code_hash(&shared::domain::ResetCode::generate()),
        user_id: integration_tests::app::user_id("user-ada"),
        email_key: email_key.clone(),
        slot: 0,
        created_at: now,
        expires_at: now.plus_secs(TTL),
        password_changed_at: None,
    };
    let claim = shared::store::SlotClaim {
        email_key,
        slot: 0,
        expires_at: token.expires_at,
        now,
        token: Some(token.clone()),
        short_code: Some(short_hash.clone()),
    };
    assert_eq!(
        app.backend.store().claim(claim).await.unwrap(),
        shared::store::ClaimOutcome::Claimed
    );
    (token, short_hash)
}

/// The token a short code names: the live slot of the address holding its hash.
async fn token_named_by(
    store: &dyn ResetStore,
    short_hash: &shared::domain::TokenHash,
    now: shared::clock::EpochSecs,
) -> Option<shared::store::TokenRecord> {
    let slots = store.live_slots(&email_key_of(ADA), now).await.unwrap();
    let slot = slots
        .into_iter()
        .find(|s| s.short_code.as_ref() == Some(short_hash))?;
    store.token(&slot.token?, now).await.unwrap()
}

async fn revoking_short_codes_forgets_them_and_keeps_the_links<B: Backend>() {
    let app = app_with_ada::<B>("otp-revoke").await;
    let (token, short_hash) = issue_with_short_code(&app, "01234567").await;
    let store = app.backend.store();
    let now = app.now();
    assert_eq!(
        token_named_by(store.as_ref(), &short_hash, now).await,
        Some(token.clone())
    );
    // Nothing in the table is the code itself.
    let dump = app.backend.reset_table_dump().await;
    assert!(dump.contains(short_hash.as_str()) && !dump.contains("01234567"));

    assert_eq!(
        store
            .revoke_short_codes(&email_key_of(ADA), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(token_named_by(store.as_ref(), &short_hash, now).await, None);
    assert_eq!(
        store.token(&token.hash, now).await.unwrap(),
        Some(token),
        "the link still works"
    );
    assert_eq!(
        store
            .revoke_short_codes(&email_key_of(ADA), now)
            .await
            .unwrap(),
        0,
        "nothing left to revoke"
    );
}

async fn twenty_concurrent_consumes_of_one_short_code_write_the_password_once<B: Backend>() {
    let app = app_with_ada::<B>("otp-consume-race").await;
    let (_, short_hash) = issue_with_short_code(&app, "76543210").await;
    // All twenty have looked the code up before any password write: the race is forced.
    let gate = Gate::opens_after(20);
    let store = GatedStore::new(app.backend.store(), Held::ChangePassword, gate.clone());
    let users = app.backend.users();
    let hash = shared::hashing::hash_off_thread(integration_tests::app::password(NEW_PASSWORD))
        .await
        .expect("hashed");
    let now = app.now();
    let consumes: Vec<_> = (0..20)
        .map(|_| {
            let (store, users, hash, short_hash) = (
                store.clone(),
                users.clone(),
                hash.clone(),
                short_hash.clone(),
            );
            tokio::spawn(async move {
                let token = token_named_by(store.as_ref(), &short_hash, now)
                    .await
                    .expect("every consume finds the code before any spends it");
                let user = users
                    .by_email(&integration_tests::app::address(ADA))
                    .await
                    .unwrap()
                    .expect("Ada");
                store
                    .change_password(shared::store::PasswordChange {
                        changed_at: shared::store::PasswordChange::next_mark(
                            user.password_changed_at,
                            now,
                        ),
                        token,
                        user,
                        password_hash: hash,
                        now,
                        revoke: Vec::new(),
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut changed = 0;
    for task in consumes {
        match task.await.expect("the task ran") {
            shared::store::ChangeOutcome::Changed => changed += 1,
            shared::store::ChangeOutcome::TokenGone => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(gate.arrived(), 20);
    assert_eq!(changed, 1, "exactly one password write");
    let stored = app.backend.password_hash("user-ada").await.expect("set");
    assert!(hashing::verify(NEW_PASSWORD, &stored));
    assert_eq!(app.backend.password_changed_at("user-ada").await, Some(now));
    assert_eq!(token_named_by(store.as_ref(), &short_hash, now).await, None);
}

integration_tests::on_both_stores!(
    a_request_for_a_known_user_mails_one_link_whose_code_checks_valid,
    check_does_not_spend_the_code,
    consume_sets_the_password_spends_the_code_and_sends_the_changed_mail,
    an_expired_code_is_invalid_for_check_and_consume,
    a_slot_is_free_again_once_its_code_expires,
    consume_revokes_the_users_other_codes,
    a_request_for_an_unknown_address_sends_no_mail_and_answers_like_a_known_one,
    the_cap_answers_429_with_the_seconds_until_the_earliest_slot_frees,
    the_cap_holds_the_same_way_for_an_address_with_no_account,
    mail_goes_to_the_stored_address_not_the_typed_one,
    a_user_deleted_before_consume_leaves_the_code_unspent,
    consume_adds_one_to_the_session_version_in_the_password_transaction,
    short_code_tries_stop_at_the_maximum_until_their_window_ends,
    a_new_short_code_stretches_the_live_attempt_window_and_never_shortens_or_creates_one,
    fifty_concurrent_short_code_tries_count_exactly_the_maximum,
    revoking_short_codes_forgets_them_and_keeps_the_links,
    twenty_concurrent_consumes_of_one_short_code_write_the_password_once,
);
