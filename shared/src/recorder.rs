//! What the recording adapters (mail and events, for the local API and the tests) share:
//! everything handed over, kept in memory in order, and a failure to answer instead when a
//! test asks for one.

use std::sync::{Mutex, MutexGuard};

/// Items kept in order, and the error code every call should fail with, if any.
pub(crate) struct Recorder<T> {
    kept: Mutex<Vec<T>>,
    fail_with: Mutex<Option<String>>,
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self {
            kept: Mutex::new(Vec::new()),
            fail_with: Mutex::new(None),
        }
    }
}

fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Clone> Recorder<T> {
    /// Everything kept so far, oldest first.
    pub(crate) fn all(&self) -> Vec<T> {
        lock(&self.kept).clone()
    }

    /// Keeps `items`, after the ones before.
    pub(crate) fn keep(&self, items: impl IntoIterator<Item = T>) {
        lock(&self.kept).extend(items);
    }

    /// Makes every following call fail with `code` (or succeed again with `None`).
    pub(crate) fn fail_with(&self, code: Option<&str>) {
        *lock(&self.fail_with) = code.map(str::to_owned);
    }

    /// The code the current call should fail with, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.fail_with).clone()
    }
}
