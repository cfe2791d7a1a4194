//! Ingest authentication: optional bearer tokens, each allowed some signals.

use std::fmt;

use subtle::ConstantTimeEq;

use crate::otlp::Signal;
use crate::{Error, Result};

/// One configured ingest token.
pub struct IngestToken {
    /// Names the token in logs and metrics; the secret itself is never shown.
    pub name: String,
    pub secret: String,
    pub signals: Vec<Signal>,
}

impl fmt::Debug for IngestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestToken")
            .field("name", &self.name)
            .field("secret", &"***")
            .field("signals", &self.signals)
            .finish()
    }
}

/// Decides whether a request may send a signal. With no tokens configured, everyone may.
#[derive(Debug, Default)]
pub struct IngestAuth {
    tokens: Vec<IngestToken>,
}

impl IngestAuth {
    pub fn new(tokens: Vec<IngestToken>) -> IngestAuth {
        IngestAuth { tokens }
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Checks the value of an `authorization` header (HTTP) or metadata entry (gRPC): `Bearer <token>`.
    pub fn check(&self, authorization: Option<&[u8]>, signal: Signal) -> Result<()> {
        if self.is_open() {
            return Ok(());
        }
        let presented = authorization.and_then(bearer_token).ok_or(Error::MissingToken)?;
        // Compare with every token, whatever matched, so the time taken says nothing about the secrets.
        let mut matched = None;
        for token in &self.tokens {
            if bool::from(token.secret.as_bytes().ct_eq(presented)) {
                matched = Some(token);
            }
        }
        let token = matched.ok_or(Error::InvalidToken)?;
        if token.signals.contains(&signal) {
            Ok(())
        } else {
            Err(Error::SignalNotAllowed { token: token.name.clone(), signal })
        }
    }
}

fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = header.split_at_checked(7)?;
    let token = token.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer ") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> IngestAuth {
        IngestAuth::new(vec![
            IngestToken {
                name: "all".into(),
                secret: "s3cret-all".into(),
                signals: Signal::ALL.to_vec(),
            },
            IngestToken {
                name: "logs-only".into(),
                secret: "s3cret-logs".into(),
                signals: vec![Signal::Logs],
            },
        ])
    }

    #[test]
    fn without_tokens_everything_is_allowed() {
        assert!(IngestAuth::default().check(None, Signal::Traces).is_ok());
    }

    #[test]
    fn missing_wrong_and_malformed_tokens_are_refused() {
        let auth = auth();
        assert!(matches!(auth.check(None, Signal::Logs), Err(Error::MissingToken)));
        assert!(matches!(auth.check(Some(b"Bearer nope"), Signal::Logs), Err(Error::InvalidToken)));
        assert!(matches!(
            auth.check(Some(b"Basic s3cret-all"), Signal::Logs),
            Err(Error::MissingToken)
        ));
        assert!(matches!(
            auth.check(Some(b"Bearer s3cret-al"), Signal::Logs),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn a_token_may_send_only_its_signals() {
        let auth = auth();
        assert!(auth.check(Some(b"Bearer s3cret-logs"), Signal::Logs).is_ok());
        assert!(matches!(
            auth.check(Some(b"bearer s3cret-logs"), Signal::Traces),
            Err(Error::SignalNotAllowed { signal: Signal::Traces, .. })
        ));
        assert!(auth.check(Some(b"BEARER  s3cret-all "), Signal::Metrics).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", auth()).contains("s3cret"));
    }
}
