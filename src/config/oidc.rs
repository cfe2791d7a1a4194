//! `auth.oidc`: single sign-on with an OpenID Connect provider (Keycloak, Okta, Entra ID, Google, Dex…),
//! and how its claims map to roles.

use sightline_ui::auth::Role;
use sightline_ui::auth::oidc::OidcSettings;

use super::reader::{Node, Reader, Section};

const ROLES: [(&str, Role); 3] =
    [("viewer", Role::Viewer), ("editor", Role::Editor), ("admin", Role::Admin)];

/// The settings, or `None` when the section is absent (or wrong: the errors are recorded).
pub(super) fn oidc(r: &mut Reader<'_>, parent: &mut Section<'_>) -> Option<OidcSettings> {
    let mut s = r.section(parent, "oidc");
    let (present, path) = (s.is_present(), s.path().to_owned());
    let issuer = r.read(&mut s, "issuer", url);
    let client_id = r.read(&mut s, "client_id", Reader::string).filter(|id| !id.is_empty());
    let client_secret = r.secret(&mut s, "client_secret", "client_secret_file");
    let redirect_url = r.read(&mut s, "redirect_url", url);
    let scopes = r
        .read(&mut s, "scopes", |r, n| {
            Some(r.list(n).iter().filter_map(|item| r.string(item)).collect::<Vec<_>>())
        })
        .unwrap_or_else(|| vec!["profile".to_owned(), "email".to_owned()]);
    let username_claim = r
        .read(&mut s, "username_claim", Reader::string)
        .unwrap_or_else(|| "preferred_username".to_owned());
    let role_claim =
        r.read(&mut s, "role_claim", Reader::string).unwrap_or_else(|| "groups".to_owned());
    let mut roles_s = r.section(&mut s, "roles");
    let mut roles = Vec::new();
    for (name, role) in ROLES {
        let values = r.read(&mut roles_s, name, |r, n| {
            Some(r.list(n).iter().filter_map(|item| r.string(item)).collect::<Vec<_>>())
        });
        if let Some(values) = values.filter(|values| !values.is_empty()) {
            roles.push((role, values));
        }
    }
    r.finish(roles_s);
    let default_role = r.read(&mut s, "default_role", |r, n| {
        r.choice(
            n,
            &[("none", None), ("viewer", Some(Role::Viewer)), ("editor", Some(Role::Editor))],
        )
    });
    let label =
        r.read(&mut s, "label", Reader::string).unwrap_or_else(|| "Single sign-on".to_owned());
    r.finish(s);
    if !present {
        return None;
    }
    for (key, missing) in [
        ("issuer", issuer.is_none()),
        ("client_id", client_id.is_none()),
        ("redirect_url", redirect_url.is_none()),
    ] {
        if missing && r.has_no_error_under(&format!("{path}.{key}")) {
            r.error(&format!("{path}.{key}"), "required field is missing");
        }
    }
    if roles.is_empty() && default_role.flatten().is_none() && r.has_no_error_under(&path) {
        r.error(
            &format!("{path}.roles"),
            "map at least one claim value to a role, or set default_role",
        );
    }
    Some(OidcSettings {
        issuer: issuer?,
        client_id: client_id?,
        client_secret: client_secret.map(|secret| secret.expose().to_owned()),
        redirect_url: redirect_url?,
        scopes,
        username_claim,
        role_claim,
        roles,
        default_role: default_role.flatten(),
        label,
    })
}

/// An absolute `https` URL, or `http` to this machine (a provider or daemon on localhost).
fn url(r: &mut Reader<'_>, node: &Node<'_>) -> Option<String> {
    let text = r.string(node)?;
    match reqwest::Url::parse(&text) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Some(text),
        Ok(url)
            if url.scheme() == "http"
                && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) =>
        {
            Some(text)
        }
        _ => {
            r.error(&node.path, format!("{text:?} is not an https URL (http only for localhost)"));
            None
        }
    }
}
