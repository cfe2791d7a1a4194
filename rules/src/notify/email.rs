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
use super::templates::{Field, FieldParser, Renderer};
use crate::template::NotificationTemplates;

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
    fields: EmailFields,
    clock: fn() -> i64,
}

/// The fields of an email configuration that are templates: `headers` (the `Subject` among them), `html`
/// and `text`. To and From are addresses, read once.
#[derive(Debug, Clone, Default)]
pub struct EmailFields {
    pub subject: Option<Field>,
    /// The other headers, by name.
    pub headers: Vec<(HeaderName, Field)>,
    pub html: Option<Field>,
    pub text: Option<Field>,
}

impl EmailFields {
    /// The templated fields of the email configuration at `path`, each checked; every problem.
    pub fn parse(
        templates: &NotificationTemplates,
        path: &str,
        config: &EmailConfig,
    ) -> Result<EmailFields, Vec<String>> {
        let mut parser = FieldParser::new(templates, path);
        let mut headers = config.headers.clone();
        let subject = take_header(&mut headers, "Subject");
        let subject = parser.field("headers.Subject", subject.as_deref());
        // To and From come from their own fields (Alertmanager's defaults put them into the headers).
        take_header(&mut headers, "To");
        take_header(&mut headers, "From");
        let mut templated_headers = Vec::new();
        for (name, value) in &headers {
            let Ok(header) = HeaderName::new_from_ascii(name.clone()) else {
                parser.error(format_args!("headers: {name:?} is not a header name"));
                continue;
            };
            if let Some(value) = parser.field(&format!("headers.{name}"), Some(value)) {
                templated_headers.push((header, value));
            }
        }
        let fields = EmailFields {
            subject,
            headers: templated_headers,
            html: parser.field("html", config.html.as_deref()),
            text: parser.field("text", config.text.as_deref()),
        };
        parser.finish(fields)
    }
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
        fields: EmailFields,
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
        Ok(Email {
            transport: transport.build(),
            host: host.to_owned(),
            port,
            policy: Arc::clone(policy),
            from,
            to,
            fields,
            clock,
        })
    }

    pub async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        self.check_address().await?;
        let message = &entry.message;
        let now = (self.clock)();
        let fields = &self.fields;
        let renderer = Renderer::new(message, now);
        // A header is one line: a template's line breaks would end it.
        let one_line = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let subject = renderer
            .render(fields.subject.as_ref(), false)
            .map_or_else(|| render::title(message), one_line);
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(self.to.clone()))
            .subject(subject)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(NOTIFICATION_ID_HEADER),
                entry.idempotency_key.clone(),
            ));
        for (name, field) in &fields.headers {
            if let Some(value) = renderer.render(Some(field), false) {
                builder = builder.raw_header(HeaderValue::new(name.clone(), one_line(value)));
            }
        }
        let text = renderer
            .render(fields.text.as_ref(), false)
            .unwrap_or_else(|| render::text_body(message, now));
        let html = renderer
            .render(fields.html.as_ref(), true)
            .unwrap_or_else(|| render::html_body(message, now));
        let body = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html));
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
