//! Forcing interleavings: a [`GatedStore`] wraps any [`ResetStore`] and holds calls of one
//! operation at a [`Gate`] until the test opens it, so a race test runs the interleaving it
//! claims to test instead of whatever the scheduler picked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

use shared::clock::EpochSecs;
use shared::domain::{EmailKey, TokenHash};
use shared::store::{
    ChangeOutcome, ClaimOutcome, HitOutcome, PasswordChange, ResetStore, ShortCodeTry, SlotClaim,
    SlotRecord, StoreError, TokenRecord, TryOutcome, WindowHit,
};

/// A gate calls wait at until it opens: by the test ([`Gate::open`]) or by itself once
/// `opens_after` calls have arrived (a barrier that stays open).
#[derive(Debug)]
pub struct Gate {
    arrived: AtomicUsize,
    opens_after: Option<usize>,
    arrival: Notify,
    open: watch::Sender<bool>,
}

impl Gate {
    /// Closed until [`Gate::open`].
    pub fn closed() -> Arc<Self> {
        Self::new(None)
    }

    /// Opens by itself when `n` calls wait at it, so all `n` are past their previous step
    /// before any goes on.
    pub fn opens_after(n: usize) -> Arc<Self> {
        Self::new(Some(n))
    }

    fn new(opens_after: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            arrived: AtomicUsize::new(0),
            opens_after,
            arrival: Notify::new(),
            open: watch::channel(false).0,
        })
    }

    /// Lets every waiting and future call through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// How many calls have arrived so far.
    pub fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` calls wait at the gate.
    pub async fn until_arrived(&self, n: usize) {
        loop {
            let notified = self.arrival.notified();
            if self.arrived() >= n {
                return;
            }
            notified.await;
        }
    }

    /// Arrives and waits for the gate to open.
    pub async fn pass(&self) {
        let n = self.arrived.fetch_add(1, Ordering::SeqCst) + 1;
        self.arrival.notify_waiters();
        if self.opens_after.is_some_and(|after| n >= after) {
            self.open();
        }
        let mut open = self.open.subscribe();
        // The sender lives as long as the gate, so this only ends when the gate opens.
        let _ = open.wait_for(|o| *o).await;
    }
}

/// A store operation, as a [`HookedStore`]'s hook sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// [`ResetStore::live_slots`].
    LiveSlots,
    /// [`ResetStore::claim`]: after the slot read, before the conditional write.
    Claim,
    /// [`ResetStore::release`].
    Release,
    /// [`ResetStore::token`]: a code's lookup (one per token key during a rotation).
    Token,
    /// [`ResetStore::change_password`]: after consume's reads, before its transaction.
    ChangePassword,
    /// [`ResetStore::revoke_all`].
    RevokeAll,
    /// [`ResetStore::hit`].
    Hit,
    /// [`ResetStore::revoke_short_codes`].
    RevokeShortCodes,
    /// [`ResetStore::short_code_try`]: before the conditional count.
    ShortCodeTry,
}

/// What a [`HookedStore`] runs before each operation.
pub type Hook = Box<
    dyn Fn(Held) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync,
>;

/// A store that runs `hook` before every operation, then passes it to `inner`: a gate
/// before one operation ([`GatedStore`]), time spent on each ([`HookedStore::new`] with a
/// clock), whatever a test needs to force.
pub struct HookedStore {
    inner: Arc<dyn ResetStore>,
    hook: Hook,
}

impl HookedStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ResetStore>, hook: Hook) -> Arc<Self> {
        Arc::new(Self { inner, hook })
    }
}

/// A store whose `held` operation waits at `gate` before it runs; everything else passes
/// straight through.
pub struct GatedStore;

impl GatedStore {
    /// Wraps `inner`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(inner: Arc<dyn ResetStore>, held: Held, gate: Arc<Gate>) -> Arc<HookedStore> {
        HookedStore::new(
            inner,
            Box::new(move |op| {
                let gate = gate.clone();
                Box::pin(async move {
                    if op == held {
                        gate.pass().await;
                    }
                })
            }),
        )
    }
}

#[async_trait::async_trait]
impl ResetStore for HookedStore {
    async fn live_slots(
        &self,
        k: &EmailKey,
        now: EpochSecs,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        (self.hook)(Held::LiveSlots).await;
        self.inner.live_slots(k, now).await
    }

    async fn claim(&self, claim: SlotClaim) -> Result<ClaimOutcome, StoreError> {
        (self.hook)(Held::Claim).await;
        self.inner.claim(claim).await
    }

    async fn release(&self, token: &TokenRecord) -> Result<(), StoreError> {
        (self.hook)(Held::Release).await;
        self.inner.release(token).await
    }

    async fn token(
        &self,
        hash: &TokenHash,
        now: EpochSecs,
    ) -> Result<Option<TokenRecord>, StoreError> {
        (self.hook)(Held::Token).await;
        self.inner.token(hash, now).await
    }

    async fn change_password(&self, change: PasswordChange) -> Result<ChangeOutcome, StoreError> {
        (self.hook)(Held::ChangePassword).await;
        self.inner.change_password(change).await
    }

    async fn revoke_all(
        &self,
        email_key: &EmailKey,
        numbers: &[u32],
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        (self.hook)(Held::RevokeAll).await;
        self.inner.revoke_all(email_key, numbers, now).await
    }

    async fn revoke_short_codes(
        &self,
        email_key: &EmailKey,
        now: EpochSecs,
    ) -> Result<u32, StoreError> {
        (self.hook)(Held::RevokeShortCodes).await;
        self.inner.revoke_short_codes(email_key, now).await
    }

    async fn hit(&self, hit: WindowHit) -> Result<HitOutcome, StoreError> {
        (self.hook)(Held::Hit).await;
        self.inner.hit(hit).await
    }

    async fn short_code_try(&self, attempt: ShortCodeTry) -> Result<TryOutcome, StoreError> {
        (self.hook)(Held::ShortCodeTry).await;
        self.inner.short_code_try(attempt).await
    }

    async fn extend_short_code_window(
        &self,
        email_key: &EmailKey,
        until: EpochSecs,
        now: EpochSecs,
    ) -> Result<(), StoreError> {
        self.inner
            .extend_short_code_window(email_key, until, now)
            .await
    }
}
