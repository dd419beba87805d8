//! The environment as the sections read it: values trimmed, empty ones unset, defaults from
//! [`SETTINGS`](super::SETTINGS), and every error naming its variable (never its value).

use std::ops::RangeInclusive;
use std::time::Duration;

use super::{ConfigError, Profile, default_of};

/// A lookup (the process environment, or a map in tests) and the profile it is read for.
pub(super) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Lambda or the local API: some defaults differ.
    pub(super) profile: Profile,
}

impl<'a> Env<'a> {
    pub(super) fn new(profile: Profile, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup, profile }
    }

    /// The value as set: trimmed, `None` when unset or empty.
    pub(super) fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value as set, else its default from `SETTINGS`.
    pub(super) fn value(&self, var: &str) -> Option<String> {
        self.get(var).or_else(|| default_of(var).map(str::to_owned))
    }

    /// The value or its default, empty when neither.
    pub(super) fn text(&self, var: &str) -> String {
        self.value(var).unwrap_or_default()
    }

    /// A whole number within `range`.
    pub(super) fn number(
        &self,
        var: &'static str,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let v = self
            .value(var)
            .ok_or_else(|| ConfigError::new(var, "is required"))?
            .parse::<u64>()
            .map_err(|_| ConfigError::new(var, "must be a whole number"))?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError::new(
                var,
                format!("must be between {} and {}", range.start(), range.end()),
            ))
        }
    }

    /// A number of milliseconds within `range`.
    pub(super) fn millis(
        &self,
        var: &'static str,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(var, range).map(Duration::from_millis)
    }

    /// `true`/`1`/`yes` or `false`/`0`/`no`.
    pub(super) fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        match self.value(var).as_deref() {
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            _ => Err(ConfigError::new(var, "must be true or false")),
        }
    }

    /// The value (or default) through `parse`, whose error becomes the reason.
    pub(super) fn parsed<T, E: std::fmt::Display>(
        &self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ConfigError> {
        parse(&self.text(var)).map_err(|e| ConfigError::new(var, e.to_string()))
    }
}
