//! Single sign-on with OpenID Connect: the authorization code flow with PKCE, a `state` bound to the browser
//! and a `nonce` bound to the ID token (the `openidconnect` crate does the protocol and verifies the token's
//! signature, issuer, audience, expiry and nonce). The provider is found by discovery and its keys are
//! fetched again every few minutes, so that key rotation needs no restart.
//!
//! A login in progress lives in the browser, not here: its [`PendingLogin`] (state, PKCE verifier, nonce,
//! start time) is the value of an `HttpOnly` cookie. Nothing accumulates on the server, so no flood of
//! started logins can crowd out real ones, and a restart loses none.
//!
//! What a login yields is an [`Identity`]: the provider's subject, a user name from a claim, and the role
//! that the configured role claim maps to. Users and sessions are [`super::AuthStore`]'s.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value as Json;

use super::Role;

/// How long a login may take at the provider.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long the provider's metadata and keys are used before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(5 * 60);

/// `auth.oidc` of the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer, whose `/.well-known/openid-configuration` describes the provider.
    pub issuer: String,
    pub client_id: String,
    /// Absent for a public client (PKCE alone).
    pub client_secret: Option<String>,
    /// This daemon's `/api/v1/auth/oidc/callback`, as the provider knows it.
    pub redirect_url: String,
    /// Scopes asked besides `openid`.
    pub scopes: Vec<String>,
    /// The claim that names the user (`preferred_username` by default).
    pub username_claim: String,
    /// The claim whose value (a string or a list of strings) decides the role (`groups` by default).
    pub role_claim: String,
    /// Claim values per role; the highest role with a matching value wins.
    pub roles: Vec<(Role, Vec<String>)>,
    /// The role of users whose claim matches none; `None`: they are refused.
    pub default_role: Option<Role>,
    /// The login button's text.
    pub label: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("username_claim", &self.username_claim)
            .field("role_claim", &self.role_claim)
            .field("roles", &self.roles)
            .field("default_role", &self.default_role)
            .field("label", &self.label)
            .finish()
    }
}

impl OidcSettings {
    /// The role that these role claim values map to.
    pub fn role_for(&self, values: &[String]) -> Option<Role> {
        self.roles
            .iter()
            .filter(|(_, wanted)| wanted.iter().any(|value| values.contains(value)))
            .map(|(role, _)| *role)
            .max()
            .or(self.default_role)
    }
}

/// Who the provider says logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// The user name to create or find, from `username_claim`.
    pub name: String,
    /// The role the claims give; `None`: none (the login is refused, and a linked user loses access).
    pub role: Option<Role>,
}

/// Why a login failed. The message is for the user; nothing secret is in it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OidcError(String);

impl OidcError {
    fn new(message: impl Into<String>) -> OidcError {
        OidcError(message.into())
    }
}

/// A login sent to the provider and not back yet, as its cookie holds it: the `state` the provider must send
/// back, the PKCE verifier, the nonce the ID token must carry, and when it started (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub state: String,
    verifier: String,
    nonce: String,
    started_ms: i64,
}

impl PendingLogin {
    /// The cookie value: the four parts, URL-safe base64 and digits, joined by `.`.
    pub fn to_cookie(&self) -> String {
        format!("{}.{}.{}.{}", self.state, self.verifier, self.nonce, self.started_ms)
    }

    pub fn from_cookie(value: &str) -> Option<PendingLogin> {
        let mut parts = value.split('.');
        let login = PendingLogin {
            state: parts.next()?.to_owned(),
            verifier: parts.next()?.to_owned(),
            nonce: parts.next()?.to_owned(),
            started_ms: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(login)
    }
}

/// The relying party: settings, an HTTP client that follows no redirect, and the provider's metadata.
pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("issuer", &self.settings.issuer).finish_non_exhaustive()
    }
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Oidc, OidcError> {
        let http = reqwest::Client::builder()
            // Following redirects would let the provider's answers send requests elsewhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| OidcError::new(format!("building the OIDC HTTP client: {error}")))?;
        Ok(Oidc { settings, http, metadata: tokio::sync::Mutex::new(None) })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Starts a login at `now_ms`: the provider's authorization URL to send the browser to, and the login
    /// that the browser keeps (in a cookie) until the provider sends it back.
    pub async fn start(&self, now_ms: i64) -> Result<(String, PendingLogin), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let login = PendingLogin {
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            started_ms: now_ms,
        };
        Ok((url.to_string(), login))
    }

    /// Finishes `login` (from the browser's cookie) at `now_ms`, for the `state` and `code` the provider sent
    /// back: exchanges the code for tokens, verifies the ID token and maps its claims.
    pub async fn finish(
        &self,
        login: PendingLogin,
        state: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<Identity, OidcError> {
        // The state must be the one this browser was given: else another site started this login.
        if login.state != state {
            return Err(OidcError::new("this login was not started in this browser: log in again"));
        }
        let timeout_ms = i64::try_from(LOGIN_TIMEOUT.as_millis()).unwrap_or(i64::MAX);
        if now_ms.saturating_sub(login.started_ms) > timeout_ms {
            return Err(OidcError::new("this login took too long: log in again"));
        }
        let client = self.client().await?;
        let exchange = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| {
                OidcError::new(format!("the provider has no token endpoint: {error}"))
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(login.verifier));
        let tokens = exchange.request_async(&self.http).await.map_err(|error| {
            tracing::warn!(error = ?error, "the OIDC token request failed");
            OidcError::new(format!("the provider refused the authorization code: {error}"))
        })?;
        let id_token =
            tokens.id_token().ok_or_else(|| OidcError::new("the provider sent no ID token"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(login.nonce))
            .map_err(|error| OidcError::new(format!("the ID token is not valid: {error}")))?;
        if let Some(expected) = claims.access_token_hash() {
            let actual =
                id_token.signing_alg().ok().zip(id_token.signing_key(&verifier).ok()).and_then(
                    |(alg, key)| AccessTokenHash::from_token(tokens.access_token(), alg, key).ok(),
                );
            if actual.as_ref() != Some(expected) {
                return Err(OidcError::new("the access token does not match the ID token"));
            }
        }
        // The token is verified: its payload can be read for the claims the crate does not model.
        let payload = payload_claims(&id_token.to_string())?;
        let name = claim_strings(&payload, &self.settings.username_claim)
            .into_iter()
            .next()
            .ok_or_else(|| {
                OidcError::new(format!(
                    "the ID token has no {} claim to name the user",
                    self.settings.username_claim
                ))
            })?;
        let groups = claim_strings(&payload, &self.settings.role_claim);
        let role = self.settings.role_for(&groups);
        Ok(Identity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            name,
            role,
        })
    }

    /// A client for the provider, from metadata fetched at most [`METADATA_TTL`] ago.
    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let metadata = {
            let mut cached = self.metadata.lock().await;
            match &*cached {
                Some((fetched, metadata)) if fetched.elapsed() < METADATA_TTL => metadata.clone(),
                _ => {
                    let issuer = IssuerUrl::new(self.settings.issuer.clone())
                        .map_err(|error| OidcError::new(format!("auth.oidc.issuer: {error}")))?;
                    let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                        .await
                        .map_err(|error| {
                            tracing::warn!(issuer = %self.settings.issuer, error = %error, "OIDC discovery failed");
                            OidcError::new("the identity provider cannot be reached: try again later")
                        })?;
                    *cached = Some((Instant::now(), metadata.clone()));
                    metadata
                }
            }
        };
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone())
            .map_err(|error| OidcError::new(format!("auth.oidc.redirect_url: {error}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

/// The claims of a compact JWT's payload.
fn payload_claims(token: &str) -> Result<Json, OidcError> {
    let invalid = || OidcError::new("the ID token's payload cannot be read");
    let payload = token.split('.').nth(1).ok_or_else(invalid)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// A claim's value as strings: a string, or the strings of a list.
fn claim_strings(claims: &Json, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Json::String(value)) => vec![value.clone()],
        Some(Json::Array(values)) => {
            values.iter().filter_map(|value| value.as_str().map(str::to_owned)).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://id.example.org".into(),
            client_id: "sightline".into(),
            client_secret: None,
            redirect_url: "https://sightline.example.org/api/v1/auth/oidc/callback".into(),
            scopes: vec!["profile".into()],
            username_claim: "preferred_username".into(),
            role_claim: "groups".into(),
            roles: vec![
                (Role::Admin, vec!["sre-leads".into()]),
                (Role::Editor, vec!["sre".into(), "oncall".into()]),
            ],
            default_role: None,
            label: "Single sign-on".into(),
        }
    }

    #[test]
    fn the_highest_role_whose_values_the_claim_holds_wins_else_the_default() {
        let mut settings = settings();
        let values = |list: &[&str]| list.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
        assert_eq!(settings.role_for(&values(&["oncall", "sre-leads"])), Some(Role::Admin));
        assert_eq!(settings.role_for(&values(&["oncall"])), Some(Role::Editor));
        assert_eq!(settings.role_for(&values(&["marketing"])), None);
        settings.default_role = Some(Role::Viewer);
        assert_eq!(settings.role_for(&values(&[])), Some(Role::Viewer));
    }

    #[tokio::test]
    async fn an_unreachable_provider_a_foreign_state_and_an_old_login_are_clear_errors() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let oidc = Oidc::new(OidcSettings { issuer: "http://127.0.0.1:1".into(), ..settings() })
            .expect("client");
        let error = oidc.start(0).await.expect_err("no provider");
        assert_eq!(error.to_string(), "the identity provider cannot be reached: try again later");
        let login = PendingLogin {
            state: "s".into(),
            verifier: "v".into(),
            nonce: "n".into(),
            started_ms: 1_000,
        };
        let error = oidc.finish(login.clone(), "other", "code", 2_000).await.expect_err("foreign");
        assert_eq!(error.to_string(), "this login was not started in this browser: log in again");
        let late = 1_000 + 10 * 60 * 1000 + 1;
        let error = oidc.finish(login, "s", "code", late).await.expect_err("too old");
        assert_eq!(error.to_string(), "this login took too long: log in again");
    }

    #[test]
    fn a_pending_login_survives_its_cookie_and_a_mangled_cookie_is_none() {
        let login = PendingLogin {
            state: "c3RhdGU".into(),
            verifier: "dmVyaWZpZXI".into(),
            nonce: "bm9uY2U".into(),
            started_ms: 1_795_000_000_000,
        };
        assert_eq!(PendingLogin::from_cookie(&login.to_cookie()), Some(login));
        for mangled in ["", "a.b.c", "a.b.c.d", "a.b.c.1.e"] {
            assert_eq!(PendingLogin::from_cookie(mangled), None, "{mangled}");
        }
    }

    #[test]
    fn claims_are_read_as_a_string_or_a_list_of_strings() {
        let claims =
            serde_json::json!({ "sub": "42", "groups": ["sre", 7, "oncall"], "name": "Ana" });
        assert_eq!(claim_strings(&claims, "groups"), ["sre", "oncall"]);
        assert_eq!(claim_strings(&claims, "name"), ["Ana"]);
        assert!(claim_strings(&claims, "missing").is_empty());
        let token = format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_eq!(payload_claims(&token).expect("payload")["sub"], "42");
        assert!(payload_claims("not-a-token").is_err());
    }
}
