//! The recording adapters (mail and events, for the local API and the tests) are one type:
//! everything handed over, kept in memory in order, optionally printed, and a failure to
//! answer instead when a test asks for one. `RecordingMailer` and `RecordingEvents` are its
//! two instances, each with the port impl and the accessor of its own module.

use std::sync::{Mutex, MutexGuard};

/// Items kept in order, whether each is printed, and the error code every call should fail
/// with, if any.
pub struct Recorder<T> {
    kept: Mutex<Vec<T>>,
    fail_with: Mutex<Option<String>>,
    print: bool,
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self {
            kept: Mutex::new(Vec::new()),
            fail_with: Mutex::new(None),
            print: false,
        }
    }
}

fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Clone> Recorder<T> {
    /// Records silently (tests).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records and prints each item to standard output (the local API, where nothing else
    /// shows it).
    pub fn printing() -> Self {
        Self {
            print: true,
            ..Self::default()
        }
    }

    /// Makes every following call fail with `code` (or succeed again with `None`).
    pub fn fail_with(&self, code: Option<&str>) {
        *lock(&self.fail_with) = code.map(str::to_owned);
    }

    /// Everything kept so far, oldest first.
    pub(crate) fn all(&self) -> Vec<T> {
        lock(&self.kept).clone()
    }

    /// Keeps `items`, after the ones before.
    pub(crate) fn keep(&self, items: impl IntoIterator<Item = T>) {
        lock(&self.kept).extend(items);
    }

    /// The code the current call should fail with, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.fail_with).clone()
    }

    /// Whether each item is printed.
    pub(crate) fn prints(&self) -> bool {
        self.print
    }
}
