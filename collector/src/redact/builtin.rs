//! The built-in rules: what sightline redacts out of the box, and how each one finds what it redacts.
//!
//! On by default: credentials in headers and in keys that name them, payment cards, JWTs, bearer tokens,
//! well-known credential formats, private keys, URL credentials, signed URL parameters and SQL literals.
//! Off by default, because they are often wanted: email addresses and IP addresses. Each one can be switched
//! off, or given another action, in `redaction.builtin`.

use super::Action;
use super::detect::MASK;

/// A built-in rule. Its [`Builtin::name`] is its name in the configuration and in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    AuthorizationHeader,
    SecretKey,
    PaymentCard,
    Jwt,
    BearerToken,
    AwsAccessKey,
    GithubToken,
    SlackToken,
    SlackWebhook,
    StripeKey,
    PrivateKey,
    UrlCredentials,
    SignedUrlParameter,
    SqlLiterals,
    Email,
    IpAddress,
}

/// How a built-in value detector finds its matches.
#[derive(Debug)]
pub enum Finder {
    /// Runs `regex` on values that contain one of `literals` (as written: list the spellings that occur), or
    /// on every value when there are none; replaces capture `group`, or the whole match.
    Regex {
        literals: &'static [&'static str],
        regex: &'static str,
        group: Option<usize>,
        mask: &'static str,
    },
    /// [`super::card`].
    Cards,
    /// The values of the signed URL parameters (`?sig=…`), names from the configuration, as written or in
    /// lower or upper case.
    SignedParameters,
}

/// The query parameters that sign a URL, from the OpenTelemetry semantic conventions for `url.query`.
pub const SIGNED_URL_PARAMETERS: [&str; 7] = [
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
];

/// The attribute keys that hold SQL text whose literals [`Builtin::SqlLiterals`] replaces.
pub const SQL_KEYS: [&str; 2] = ["db.query.text", "db.statement"];

impl Builtin {
    pub const ALL: [Builtin; 16] = [
        Builtin::AuthorizationHeader,
        Builtin::SecretKey,
        Builtin::PaymentCard,
        Builtin::Jwt,
        Builtin::BearerToken,
        Builtin::AwsAccessKey,
        Builtin::GithubToken,
        Builtin::SlackToken,
        Builtin::SlackWebhook,
        Builtin::StripeKey,
        Builtin::PrivateKey,
        Builtin::UrlCredentials,
        Builtin::SignedUrlParameter,
        Builtin::SqlLiterals,
        Builtin::Email,
        Builtin::IpAddress,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::AuthorizationHeader => "authorization_header",
            Builtin::SecretKey => "secret_key",
            Builtin::PaymentCard => "payment_card",
            Builtin::Jwt => "jwt",
            Builtin::BearerToken => "bearer_token",
            Builtin::AwsAccessKey => "aws_access_key",
            Builtin::GithubToken => "github_token",
            Builtin::SlackToken => "slack_token",
            Builtin::SlackWebhook => "slack_webhook",
            Builtin::StripeKey => "stripe_key",
            Builtin::PrivateKey => "private_key",
            Builtin::UrlCredentials => "url_credentials",
            Builtin::SignedUrlParameter => "signed_url_parameter",
            Builtin::SqlLiterals => "sql_literals",
            Builtin::Email => "email",
            Builtin::IpAddress => "ip_address",
        }
    }

    /// What a detector finds, in a few words, for people reading the rules (`GET /api/v1/redaction`); key
    /// rules show their [`Builtin::key_pattern`] instead.
    pub fn finds(self) -> &'static str {
        match self {
            Builtin::AuthorizationHeader => "keys ending in authorization or cookie",
            Builtin::SecretKey => "keys naming a password, secret, token, API key or credentials",
            Builtin::PaymentCard => "payment card numbers that pass the Luhn check",
            Builtin::Jwt => "JSON Web Tokens (eyJ….eyJ….…)",
            Builtin::BearerToken => "the credentials after Bearer or Authorization: Basic",
            Builtin::AwsAccessKey => "AWS access key ids (AKIA…, ASIA…)",
            Builtin::GithubToken => "GitHub tokens (ghp_…, github_pat_…)",
            Builtin::SlackToken => "Slack tokens (xoxb-…, xoxp-…, xapp-…)",
            Builtin::SlackWebhook => "Slack webhook URLs",
            Builtin::StripeKey => {
                "Stripe secret and restricted keys, webhook secrets (sk_live_…, whsec_…)"
            }
            Builtin::PrivateKey => "PEM private key blocks",
            Builtin::UrlCredentials => "user:password@ in URLs",
            Builtin::SignedUrlParameter => "signatures and tokens in URL query parameters",
            Builtin::SqlLiterals => "string and number literals in db.query.text and db.statement",
            Builtin::Email => "e-mail addresses",
            Builtin::IpAddress => "IPv4 and IPv6 addresses",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|builtin| builtin.name() == name)
    }

    /// The action when the configuration names none; `None`: off by default.
    pub fn default_action(self) -> Option<Action> {
        match self {
            Builtin::Email | Builtin::IpAddress => None,
            _ => Some(Action::Mask),
        }
    }

    /// Key rules act on whole values, so they may drop them; detectors replace parts of a value and may not;
    /// SQL literals are always replaced by `?`.
    pub fn allows(self, action: Action) -> bool {
        match self {
            Builtin::AuthorizationHeader | Builtin::SecretKey => true,
            Builtin::SqlLiterals => action == Action::Mask,
            _ => action != Action::Drop,
        }
    }

    /// The regex a key rule matches keys against (case-insensitively).
    pub fn key_pattern(self) -> Option<&'static str> {
        match self {
            // `http.request.header.authorization`, `proxy-authorization`, `cookie`, `set-cookie`.
            Builtin::AuthorizationHeader => Some(r"(?i)(?:^|[._-])(?:authorization|cookie)$"),
            // A key whose last segment (after `.`, `_`, `-` or a camelCase hump) names a password, secret,
            // token, API key or credential: `db.password`, `client_secret`, `x-api-key`, `accessToken`,
            // `AWS_SECRET_ACCESS_KEY`. Not `gen_ai.usage.input_tokens`, `tokenizer` or `auth.token.expires_at`:
            // the word must be the whole last segment.
            Builtin::SecretKey => Some(concat!(
                r"(?i:(?:^|[._-])(?:password|passwd|pwd|passphrase|secret|token|apikey|api[._-]key",
                r"|private[._-]?key|access[._-]?key|credentials?)$)",
                r"|[a-z0-9](?:Password|Passwd|Passphrase|Secret|Token|ApiKey|PrivateKey|AccessKey|Credentials?)$",
            )),
            _ => None,
        }
    }

    /// Bytes of which every match of this detector holds at least one: a value with none of them cannot
    /// match, and skips the detector's literal search. (Non-ASCII bytes always count, for `\s` and case
    /// folding outside ASCII.)
    pub fn necessary_bytes(self) -> &'static [u8] {
        match self {
            Builtin::AuthorizationHeader | Builtin::SecretKey | Builtin::SqlLiterals => b"",
            Builtin::PaymentCard => b"0123456789",
            Builtin::Jwt => b"J",
            // `bearer\s+…` or `authorization:\s*basic …`.
            Builtin::BearerToken => b" \t\n\r\x0b\x0c:",
            Builtin::AwsAccessKey => b"A",
            Builtin::GithubToken | Builtin::StripeKey => b"_",
            Builtin::SlackToken | Builtin::PrivateKey => b"-",
            Builtin::SlackWebhook | Builtin::UrlCredentials => b":",
            Builtin::SignedUrlParameter => b"=",
            Builtin::Email => b"@",
            Builtin::IpAddress => b".:",
        }
    }

    pub fn finder(self) -> Option<Finder> {
        let regex =
            |literals, regex, group, mask| Some(Finder::Regex { literals, regex, group, mask });
        match self {
            Builtin::AuthorizationHeader | Builtin::SecretKey | Builtin::SqlLiterals => None,
            Builtin::PaymentCard => Some(Finder::Cards),
            Builtin::SignedUrlParameter => Some(Finder::SignedParameters),
            Builtin::Jwt => regex(
                &["eyJ"],
                r"eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",
                None,
                MASK,
            ),
            Builtin::BearerToken => regex(
                &["Bearer", "bearer", "BEARER", "Basic", "basic", "BASIC"],
                r"(?i)(?:\bbearer\s+|\bauthorization:\s*basic\s+)([A-Za-z0-9._~+/=-]{8,})",
                Some(1),
                MASK,
            ),
            Builtin::AwsAccessKey => regex(
                &[
                    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA",
                    "APKA",
                ],
                r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z2-7]{16}\b",
                None,
                MASK,
            ),
            Builtin::GithubToken => regex(
                &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
                r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
                None,
                MASK,
            ),
            Builtin::SlackToken => regex(
                &["xoxa-", "xoxb-", "xoxe-", "xoxp-", "xoxr-", "xoxs-", "xapp-"],
                r"\b(?:xox[abeprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})",
                None,
                MASK,
            ),
            Builtin::SlackWebhook => regex(
                &["hooks.slack.com/"],
                r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
                None,
                MASK,
            ),
            Builtin::StripeKey => regex(
                &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
                r"\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{10,})",
                None,
                MASK,
            ),
            Builtin::PrivateKey => regex(
                &["-----BEGIN"],
                // To the END line, or to the end of the value when it was cut before it.
                concat!(
                    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)",
                    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
                ),
                None,
                MASK,
            ),
            // `https://user:pass@host/` → `https://REDACTED:REDACTED@host/`, as the semantic conventions write it.
            Builtin::UrlCredentials => regex(
                &["://"],
                r"[A-Za-z][A-Za-z0-9+.-]*://([^\s/?#@]+)@",
                Some(1),
                "REDACTED:REDACTED",
            ),
            Builtin::Email => regex(
                &["@"],
                r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                None,
                MASK,
            ),
            Builtin::IpAddress => regex(
                &[],
                concat!(
                    r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}",
                    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
                    r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b",
                    r"|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?\b",
                ),
                None,
                MASK,
            ),
        }
    }
}
