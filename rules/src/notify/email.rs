//! The email integration, with `lettre`: SMTP with STARTTLS (required unless `require_tls: false`, then used
//! when offered), implicit TLS on port 465, or plain for a local relay; authentication; a multipart message
//! with a plain-text and an HTML part, Alertmanager's default subject, and the configured headers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};

use super::config::{EmailConfig, GlobalConfig};
use super::integration::{SendError, secret};
use super::outbound::OutboundPolicy;
use super::outbox::OutboxEntry;
use super::render;

/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The header that carries the notification's idempotency key, so that a mail filter can drop a duplicate.
pub const NOTIFICATION_ID_HEADER: &str = "X-Sightline-Notification-Id";

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    policy: Arc<OutboundPolicy>,
    from: Mailbox,
    to: Mailboxes,
    subject: Option<String>,
    headers: BTreeMap<String, String>,
    clock: fn() -> i64,
}

/// The transport holds the password: never printed.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("smarthost", &format!("{}:{}", self.host, self.port))
            .field("to", &self.to.to_string())
            .finish_non_exhaustive()
    }
}

impl Email {
    pub fn new(
        config: &EmailConfig,
        global: &GlobalConfig,
        base_dir: &Path,
        policy: &Arc<OutboundPolicy>,
        clock: fn() -> i64,
    ) -> Result<Email, String> {
        let smarthost = config
            .smarthost
            .as_ref()
            .or(global.smtp_smarthost.as_ref())
            .ok_or("no smarthost and no global smtp_smarthost")?;
        let (host, port) = smarthost
            .rsplit_once(':')
            .and_then(|(host, port)| {
                Some((host.trim_matches(['[', ']']), port.parse::<u16>().ok()?))
            })
            .ok_or_else(|| format!("smarthost {smarthost:?} is not host:port"))?;
        let from_text = config.from.as_ref().or(global.smtp_from.as_ref()).ok_or("no from")?;
        let from: Mailbox =
            from_text.parse().map_err(|error| format!("from {from_text:?}: {error}"))?;
        let to_text = config.to.as_deref().unwrap_or_default();
        let to: Mailboxes = to_text.parse().map_err(|error| format!("to {to_text:?}: {error}"))?;
        if config.auth_secret.is_some() || global.smtp_auth_secret.is_some() {
            return Err("auth_secret (CRAM-MD5) is not supported; use auth_password".to_owned());
        }
        let require_tls = config.require_tls.or(global.smtp_require_tls).unwrap_or(true);
        let tls_parameters = || -> Result<TlsParameters, String> {
            let tls = config.tls_config.clone().unwrap_or_default();
            let name = tls.server_name.clone().unwrap_or_else(|| host.to_owned());
            let mut builder = TlsParameters::builder(name)
                .dangerous_accept_invalid_certs(tls.insecure_skip_verify.unwrap_or(false));
            if let Some(ca_file) = &tls.ca_file {
                let path = base_dir.join(ca_file);
                let pem = std::fs::read(&path)
                    .map_err(|error| format!("reading {}: {error}", path.display()))?;
                let certificate = Certificate::from_pem(&pem)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build_rustls().map_err(|error| format!("tls_config: {error}"))
        };
        let tls = if port == 465 {
            Tls::Wrapper(tls_parameters()?)
        } else if require_tls {
            Tls::Required(tls_parameters()?)
        } else {
            Tls::Opportunistic(tls_parameters()?)
        };
        let hello = config.hello.as_ref().or(global.smtp_hello.as_ref());
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(TIMEOUT))
            .hello_name(ClientId::Domain(hello.cloned().unwrap_or_else(|| "localhost".to_owned())));
        let username = config.auth_username.as_ref().or(global.smtp_auth_username.as_ref());
        if let Some(username) = username {
            let password =
                match secret(&config.auth_password, &config.auth_password_file, base_dir)? {
                    Some(password) => password,
                    None => secret(
                        &global.smtp_auth_password,
                        &global.smtp_auth_password_file,
                        base_dir,
                    )?
                    .unwrap_or_default(),
                };
            transport = transport.credentials(Credentials::new(username.clone(), password));
        }
        let mut headers = config.headers.clone();
        let subject = take_header(&mut headers, "Subject").filter(|subject| {
            let templated = subject.contains("{{");
            if templated {
                tracing::warn!(
                    "headers.Subject: templates are not applied yet; the default subject is used"
                );
            }
            !templated
        });
        // To and From come from their own fields (Alertmanager's defaults put them into the headers).
        take_header(&mut headers, "To");
        take_header(&mut headers, "From");
        for name in headers.keys() {
            HeaderName::new_from_ascii(name.clone())
                .map_err(|_| format!("headers: {name:?} is not a header name"))?;
        }
        Ok(Email {
            transport: transport.build(),
            host: host.to_owned(),
            port,
            policy: Arc::clone(policy),
            from,
            to,
            subject,
            headers,
            clock,
        })
    }

    pub async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        self.check_address().await?;
        let message = &entry.message;
        let now = (self.clock)();
        let subject = self.subject.clone().unwrap_or_else(|| render::title(message));
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(self.to.clone()))
            .subject(subject)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(NOTIFICATION_ID_HEADER),
                entry.idempotency_key.clone(),
            ));
        for (name, value) in &self.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| SendError::permanent(format!("{name:?} is not a header name")))?;
            builder = builder.raw_header(HeaderValue::new(name, value.clone()));
        }
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(render::text_body(message, now)),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(render::html_body(message, now)),
            );
        let email = builder
            .multipart(body)
            .map_err(|error| SendError::permanent(format!("building the email: {error}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => {
                Err(SendError::permanent(format!("the SMTP server refused: {error}")))
            }
            Err(error) => Err(SendError::retryable(format!("SMTP: {error}"))),
        }
    }

    /// The smarthost must resolve to addresses the outbound policy allows, like any other destination.
    async fn check_address(&self) -> Result<(), SendError> {
        let found = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|error| SendError::retryable(format!("resolving {}: {error}", self.host)))?;
        for address in found {
            self.policy.check(&self.host, address.ip()).map_err(SendError::permanent)?;
        }
        Ok(())
    }
}

/// Removes a header whatever the case of its name; returns its value.
fn take_header(headers: &mut BTreeMap<String, String>, name: &str) -> Option<String> {
    let key = headers.keys().find(|key| key.eq_ignore_ascii_case(name))?.clone();
    headers.remove(&key)
}
