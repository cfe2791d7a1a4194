//! The webhook integration: Alertmanager's version-4 JSON payload, POSTed to the configured URL, with an
//! `Idempotency-Key` header that stays the same across the retries of one notification, and (when a signing
//! secret is configured) an HMAC-SHA256 signature of the body and a timestamp, so that the receiver can tell
//! the request comes from us and is not a replay.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ring::hmac;

use super::config::WebhookConfig;
use super::integration::{SendError, authorization, outcome, request_error, secret};
use super::outbound::OutboundPolicy;
use super::outbox::OutboxEntry;
use crate::file::parse_duration;

/// The header of the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "X-Sightline-Signature";
/// Alertmanager's default webhook timeout is none; a notification stuck on a silent receiver would hold the
/// others back, so ours is bounded.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    authorization: Option<String>,
    signing_key: Option<hmac::Key>,
}

/// The URL and credentials are secrets: never printed.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &"***").finish_non_exhaustive()
    }
}

impl Webhook {
    pub fn new(
        config: &WebhookConfig,
        base_dir: &Path,
        policy: &Arc<OutboundPolicy>,
    ) -> Result<Webhook, String> {
        let url = secret(&config.url, &config.url_file, base_dir)?
            .ok_or_else(|| "one of url or url_file is required".to_owned())?;
        let url = reqwest::Url::parse(url.trim())
            .map_err(|error| format!("the url does not read: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("the url's scheme must be http or https, not {}", url.scheme()));
        }
        let timeout = match &config.timeout {
            Some(text) => parse_duration(text).map_err(|error| format!("timeout: {error}"))?,
            None => DEFAULT_TIMEOUT,
        };
        let http = config.http_config.as_ref();
        let signing_key = secret(&config.signing_secret, &config.signing_secret_file, base_dir)?
            .map(|key| hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()));
        Ok(Webhook {
            url,
            client: policy.client(http, timeout, base_dir)?,
            policy: Arc::clone(policy),
            authorization: authorization(http, base_dir)?,
            signing_key,
        })
    }

    pub async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        self.policy.check_url(&self.url).map_err(SendError::permanent)?;
        let body = serde_json::to_vec(&entry.message).expect("a message serializes");
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &entry.idempotency_key);
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(key) = &self.signing_key {
            let now = chrono::Utc::now().timestamp();
            request = request.header(SIGNATURE_HEADER, signature(key, now, &body));
        }
        let response = request.body(body).send().await.map_err(request_error)?;
        outcome(response).await
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(key: &hmac::Key, unix_seconds: i64, body: &[u8]) -> String {
    let mut context = hmac::Context::with_key(key);
    context.update(format!("{unix_seconds}.").as_bytes());
    context.update(body);
    format!("t={unix_seconds},v1={}", hex::encode(context.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_time_and_body() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let ours = signature(&key, 1_700_000_000, b"{}");
        let by_hand = hmac::sign(&key, b"1700000000.{}");
        assert_eq!(ours, format!("t=1700000000,v1={}", hex::encode(by_hand.as_ref())));
    }
}
