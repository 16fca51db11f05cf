//! The private token.
//!
//! A [`Secret`] can be used as an HMAC key but never shows itself: `Debug` prints a
//! placeholder and there is no `Display`, so a secret cannot slip into a log line,
//! an error message or a journal entry by formatting.

use std::fmt;

/// A private API token. Compare and format it only through this type.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a private token.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The token's bytes, for use as an HMAC key. The name is long on purpose: every
    /// call site is a place where the secret leaves this type.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (an unusable configuration).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-private");
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
