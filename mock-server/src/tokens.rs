//! The API token pairs the mock accepts, with optional per-token restrictions.

use dt_protocol::{Secret, TokenStore};

/// The pair the mock uses when none is configured. Printed at start.
pub const DEMO_PUBLIC: &str = "demo-public";
/// The demo pair's private token: public knowledge, for demos only.
pub const DEMO_PRIVATE: &str = "demo-private";

/// One token pair.
#[derive(Debug, Clone)]
pub struct Token {
    /// The public token (`DTAPI-Token`).
    pub public: String,
    /// The private token (HMAC key).
    pub private: Secret,
    /// Path prefixes this token may not use (answered with the 302 to `/403`).
    pub denied: Vec<String>,
}

/// Every accepted pair.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    tokens: Vec<Token>,
}

/// A token argument that is not `PUBLIC:PRIVATE`. The value is never echoed, since
/// it may hold a private token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token pair #{index} is not PUBLIC:PRIVATE with both parts non-empty")]
pub struct TokenParseError {
    /// The 1-based position of the bad pair.
    pub index: usize,
}

impl TokenSet {
    /// A set with the given tokens.
    pub fn new(tokens: Vec<Token>) -> Self {
        TokenSet { tokens }
    }

    /// The demo pair alone.
    pub fn demo() -> Self {
        TokenSet::new(vec![Token {
            public: DEMO_PUBLIC.into(),
            private: Secret::new(DEMO_PRIVATE),
            denied: vec![],
        }])
    }

    /// Parses `PUBLIC:PRIVATE` pairs (from `--token`, the env, or a file's lines).
    pub fn parse_pairs<'a>(
        pairs: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TokenParseError> {
        let mut tokens = Vec::new();
        for (i, p) in pairs.into_iter().enumerate() {
            let p = p.trim();
            match p.split_once(':') {
                Some((public, private)) if !public.is_empty() && !private.is_empty() => tokens
                    .push(Token {
                        public: public.to_string(),
                        private: Secret::new(private),
                        denied: vec![],
                    }),
                _ => return Err(TokenParseError { index: i + 1 }),
            }
        }
        Ok(TokenSet { tokens })
    }

    /// Pairs from a file: one `PUBLIC:PRIVATE` a line; blank lines and `#` comments skipped.
    pub fn parse_file(text: &str) -> Result<Self, TokenParseError> {
        Self::parse_pairs(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#')),
        )
    }

    /// Pairs from `DT_MOCK_TOKENS`: comma- or whitespace-separated.
    pub fn parse_env(value: &str) -> Result<Self, TokenParseError> {
        Self::parse_pairs(
            value
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty()),
        )
    }

    /// Adds the pairs of another set.
    pub fn extend(&mut self, other: TokenSet) {
        self.tokens.extend(other.tokens);
    }

    /// Whether no pair is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The pairs.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Mutable access, for scenarios that restrict or rotate tokens.
    pub fn tokens_mut(&mut self) -> &mut Vec<Token> {
        &mut self.tokens
    }

    /// Whether `public` may use `path`.
    pub fn permits(&self, public: &str, path: &str) -> bool {
        self.tokens
            .iter()
            .find(|t| t.public == public)
            .is_none_or(|t| !t.denied.iter().any(|d| path.starts_with(d.as_str())))
    }
}

impl TokenStore for TokenSet {
    fn private_for(&self, public: &str) -> Option<&Secret> {
        self.tokens
            .iter()
            .find(|t| t.public == public)
            .map(|t| &t.private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_hides_bad_ones() {
        let set = TokenSet::parse_env("a:b, c:d").unwrap();
        assert_eq!(set.tokens().len(), 2);
        let err = TokenSet::parse_pairs(["ok:fine", "secretwithoutcolon"]).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(!err.to_string().contains("secretwithoutcolon"));
    }

    #[test]
    fn private_token_may_contain_colons() {
        let set = TokenSet::parse_pairs(["pub:pri:v"]).unwrap();
        assert_eq!(set.private_for("pub").unwrap().expose_secret(), "pri:v");
    }

    #[test]
    fn file_skips_comments() {
        let set = TokenSet::parse_file("# team tokens\n\na:b\n").unwrap();
        assert_eq!(set.tokens().len(), 1);
    }
}
