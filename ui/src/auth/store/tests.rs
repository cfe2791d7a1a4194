use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use sightline_storage::ServiceScope;

use super::*;

const START_MS: i64 = 1_750_000_000_000;

thread_local! {
    // Each test runs on a thread of its own, so each has its own clock.
    static NOW: Cell<i64> = const { Cell::new(START_MS) };
}

fn clock() -> i64 {
    NOW.with(Cell::get)
}

fn advance(by: Duration) {
    NOW.with(|now| now.set(now.get() + duration_ms(by)));
}

fn store() -> AuthStore {
    AuthStore::open(Path::new(":memory:"), AuthSettings::default(), clock).expect("open")
}

fn store_with_user(name: &str, password: &str, role: Role) -> AuthStore {
    let store = store();
    store.create_user("test", name, password, role).expect("create user");
    store
}

fn login(store: &AuthStore, name: &str, password: &str) -> LoginOutcome {
    store.login(name, password).expect("login")
}

fn session_of(outcome: LoginOutcome) -> NewSession {
    match outcome {
        LoginOutcome::Success(session) => session,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn actions(store: &AuthStore) -> Vec<(String, String)> {
    let mut entries = store.audit_log(100, None).expect("audit log");
    entries.reverse();
    entries.into_iter().map(|entry| (entry.actor, entry.action)).collect()
}

#[test]
fn the_first_start_creates_an_admin_with_a_generated_password_shown_once() {
    let store = store();
    let password = store.ensure_admin(None).expect("ensure").expect("a generated password");
    assert!(password.len() >= 40);
    assert_eq!(store.ensure_admin(None).expect("ensure"), None, "only when there are no users");
    let session = session_of(login(&store, "admin", &password));
    assert_eq!(session.user.role, Role::Admin);
}

#[test]
fn the_first_admin_takes_the_configured_password() {
    let store = store();
    assert_eq!(store.ensure_admin(Some("configured password")).expect("ensure"), None);
    session_of(login(&store, "admin", "configured password"));
    assert!(matches!(login(&store, "admin", "another password"), LoginOutcome::Refused));
}

#[test]
fn a_session_token_identifies_its_user_and_role_until_logout() {
    let store = store_with_user("ana", "ana's long password", Role::Editor);
    let session = session_of(login(&store, "ana", "ana's long password"));
    assert_ne!(session.token, session.csrf_token);
    let principal = store.session(&session.token).expect("lookup").expect("a session");
    assert_eq!(principal.name, "ana");
    assert_eq!(principal.role, Role::Editor);
    assert_eq!(principal.credential, Credential::Session { csrf_token: session.csrf_token });
    assert_eq!(store.session("not a token").expect("lookup"), None);
    store.logout(&session.token).expect("logout");
    assert_eq!(store.session(&session.token).expect("lookup"), None);
}

#[test]
fn wrong_passwords_and_unknown_names_are_refused_alike() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    assert!(matches!(login(&store, "ana", "ana's long passworD"), LoginOutcome::Refused));
    assert!(matches!(login(&store, "nobody", "ana's long password"), LoginOutcome::Refused));
}

#[test]
fn five_failures_in_a_row_lock_the_name_even_for_the_right_password_until_the_lockout_ends() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    for _ in 0..4 {
        assert!(matches!(login(&store, "ana", "guess"), LoginOutcome::Refused));
    }
    // A success in between starts the count again.
    session_of(login(&store, "ana", "ana's long password"));
    for _ in 0..5 {
        assert!(matches!(login(&store, "ana", "guess"), LoginOutcome::Refused));
    }
    match login(&store, "ana", "ana's long password") {
        LoginOutcome::Locked { retry_after } => assert_eq!(retry_after, Duration::from_secs(900)),
        other => panic!("expected a lock, got {other:?}"),
    }
    advance(Duration::from_secs(899));
    assert!(matches!(login(&store, "ana", "ana's long password"), LoginOutcome::Locked { .. }));
    advance(Duration::from_secs(1));
    session_of(login(&store, "ana", "ana's long password"));
    let log = actions(&store);
    assert!(log.contains(&("ana".into(), "login_locked".into())), "{log:?}");
    assert_eq!(log.iter().filter(|(_, action)| action == "login_failed").count(), 9);
}

#[test]
fn names_that_do_not_exist_lock_too() {
    let store = store();
    for _ in 0..5 {
        assert!(matches!(login(&store, "nobody", "guess"), LoginOutcome::Refused));
    }
    assert!(matches!(login(&store, "nobody", "guess"), LoginOutcome::Locked { .. }));
}

#[test]
fn a_session_ends_after_its_idle_time_and_requests_extend_it_up_to_its_maximum_age() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let idle = store.settings.session_idle;
    let max = store.settings.session_max;
    let session = session_of(login(&store, "ana", "ana's long password"));
    assert_eq!(session.expires_at, START_MS + duration_ms(idle));
    // Used every idle-time-minus-a-minute, it lives until its maximum age…
    let step = idle - Duration::from_secs(60);
    let mut used = Duration::ZERO;
    while used + step < max {
        advance(step);
        used += step;
        assert!(store.session(&session.token).expect("lookup").is_some(), "after {used:?}");
    }
    advance(max - used);
    assert_eq!(store.session(&session.token).expect("lookup"), None, "maximum age");
    // …and unused, it ends after the idle time.
    let session = session_of(login(&store, "ana", "ana's long password"));
    advance(idle);
    assert_eq!(store.session(&session.token).expect("lookup"), None, "idle");
}

#[test]
fn changing_ones_password_needs_the_current_one_and_ends_the_other_sessions() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let here = session_of(login(&store, "ana", "ana's long password"));
    let elsewhere = session_of(login(&store, "ana", "ana's long password"));
    let changed = store
        .change_password("ana", "wrong password", "ana's new password", Some(&here.token))
        .expect("change");
    assert!(!changed);
    assert!(matches!(
        store.change_password("ana", "ana's long password", "short", Some(&here.token)),
        Err(AuthError::Invalid(_))
    ));
    let changed = store
        .change_password("ana", "ana's long password", "ana's new password", Some(&here.token))
        .expect("change");
    assert!(changed);
    assert!(store.session(&here.token).expect("lookup").is_some());
    assert_eq!(store.session(&elsewhere.token).expect("lookup"), None);
    assert!(matches!(login(&store, "ana", "ana's long password"), LoginOutcome::Refused));
    session_of(login(&store, "ana", "ana's new password"));
}

#[test]
fn role_changes_apply_to_open_sessions_and_are_audited() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let session = session_of(login(&store, "ana", "ana's long password"));
    store.update_user("boss", "ana", Some(Role::Editor), None).expect("update");
    let principal = store.session(&session.token).expect("lookup").expect("session");
    assert_eq!(principal.role, Role::Editor);
    let entry = store.audit_log(1, None).expect("audit").remove(0);
    assert_eq!(
        (entry.actor.as_str(), entry.action.as_str(), entry.target.as_deref()),
        ("boss", "role_changed", Some("ana"))
    );
    assert_eq!(entry.detail.as_deref(), Some("viewer -> editor"));
}

#[test]
fn the_last_admin_can_be_neither_demoted_nor_deleted() {
    let store = store_with_user("root", "root's long password", Role::Admin);
    let demoted = store.update_user("root", "root", Some(Role::Viewer), None);
    assert!(matches!(demoted, Err(AuthError::Invalid(_))), "{demoted:?}");
    assert!(matches!(store.delete_user("root", "root"), Err(AuthError::Invalid(_))));
    store.create_user("root", "second", "second's long password", Role::Admin).expect("create");
    store.delete_user("second", "root").expect("delete");
    assert_eq!(store.users().expect("users").len(), 1);
}

#[test]
fn deleting_a_user_ends_their_sessions() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let session = session_of(login(&store, "ana", "ana's long password"));
    store.delete_user("admin", "ana").expect("delete");
    assert_eq!(store.session(&session.token).expect("lookup"), None);
    assert!(matches!(store.delete_user("admin", "ana"), Err(AuthError::NoSuchUser(_))));
}

#[test]
fn user_names_are_checked_and_unique() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let again = store.create_user("admin", "ana", "another long password", Role::Viewer);
    assert!(matches!(again, Err(AuthError::UserExists(_))), "{again:?}");
    for name in ["", "with space", "<script>", &"x".repeat(65)] {
        let created = store.create_user("admin", name, "a long password", Role::Viewer);
        assert!(matches!(created, Err(AuthError::Invalid(_))), "{name:?}: {created:?}");
    }
}

#[test]
fn the_audit_log_pages_backwards_from_the_newest() {
    let store = store();
    for i in 0..5 {
        store.record("ana", &format!("action {i}"), None, None).expect("record");
    }
    let first = store.audit_log(2, None).expect("page");
    let actions: Vec<&str> = first.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["action 4", "action 3"]);
    let next = store.audit_log(10, Some(first[1].id)).expect("page");
    assert_eq!(next.len(), 3);
    assert_eq!(next[0].action, "action 2");
}

#[test]
fn an_api_token_acts_as_its_user_with_at_most_its_role_until_it_expires() {
    let store = store_with_user("ana", "ana's long password", Role::Editor);
    let day = Duration::from_secs(24 * 3600);
    let created = store.create_token("ana", "grafana", Role::Viewer, Some(day)).expect("create");
    assert!(created.token.starts_with(API_TOKEN_PREFIX) && created.token.len() > 40);
    assert_eq!(created.info.expires_at, Some(START_MS + duration_ms(day)));
    let principal = store.token(&created.token).expect("lookup").expect("a principal");
    assert_eq!(
        principal,
        Principal {
            name: "ana".into(),
            role: Role::Viewer,
            scope: ServiceScope::All,
            credential: Credential::ApiToken { id: created.info.id }
        }
    );
    let listed = store.tokens(Some("ana")).expect("tokens");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(START_MS), "the use is recorded");
    assert_eq!(store.token("sl_not-a-token").expect("lookup"), None);
    advance(day);
    assert_eq!(store.token(&created.token).expect("lookup"), None, "expired");
}

#[test]
fn a_token_cannot_do_more_than_its_user_even_after_the_user_is_demoted() {
    let store = store_with_user("ana", "ana's long password", Role::Editor);
    store.create_user("test", "root", "root's long password", Role::Admin).expect("admin");
    let refused = store.create_token("ana", "too much", Role::Admin, None);
    assert!(matches!(refused, Err(AuthError::Invalid(_))), "{refused:?}");
    let token = store.create_token("ana", "ci", Role::Editor, None).expect("create").token;
    store.update_user("root", "ana", Some(Role::Viewer), None).expect("demote");
    assert_eq!(store.token(&token).expect("lookup").expect("principal").role, Role::Viewer);
}

#[test]
fn revoked_tokens_and_the_tokens_of_deleted_users_stop_working() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    store.create_user("test", "bo", "bo's long password", Role::Viewer).expect("bo");
    let first = store.create_token("ana", "first", Role::Viewer, None).expect("create");
    let second = store.create_token("ana", "second", Role::Viewer, None).expect("create");
    let theirs = store.revoke_token("bo", first.info.id, Some("bo"));
    assert!(matches!(theirs, Err(AuthError::NoSuchToken(_))), "not bo's to revoke: {theirs:?}");
    store.revoke_token("ana", first.info.id, Some("ana")).expect("revoke");
    assert_eq!(store.token(&first.token).expect("lookup"), None);
    assert!(store.token(&second.token).expect("lookup").is_some());
    store.delete_user("root", "ana").expect("delete");
    assert_eq!(store.token(&second.token).expect("lookup"), None);
    assert!(store.tokens(None).expect("tokens").is_empty());
    let log = actions(&store);
    assert!(log.contains(&("ana".into(), "token_created".into())), "{log:?}");
    assert!(log.contains(&("ana".into(), "token_revoked".into())), "{log:?}");
}

#[test]
fn a_users_scope_is_their_globs_and_their_teams_and_admins_see_every_service() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    store.create_user("test", "root", "root's long password", Role::Admin).expect("admin");
    let session = session_of(login(&store, "ana", "ana's long password"));
    let scope =
        |store: &AuthStore| store.session(&session.token).expect("lookup").expect("session").scope;
    assert_eq!(scope(&store), ServiceScope::All, "no globs anywhere: every service");

    store.set_user_scopes("root", "ana", &["checkout-*".into()]).expect("scopes");
    assert_eq!(scope(&store), ServiceScope::Only(vec!["checkout-*".into()]));
    let team = Team {
        name: "payments".into(),
        scopes: vec!["pay?".into()],
        members: vec!["ana".into(), "root".into()],
    };
    assert!(store.save_team("root", &team).expect("team"), "created");
    assert_eq!(scope(&store), ServiceScope::Only(vec!["checkout-*".into(), "pay?".into()]));
    let token = store.create_token("ana", "ci", Role::Viewer, None).expect("token").token;
    assert_eq!(store.token(&token).expect("lookup").expect("principal").scope, scope(&store));

    let root = session_of(login(&store, "root", "root's long password"));
    assert_eq!(
        store.session(&root.token).expect("lookup").expect("session").scope,
        ServiceScope::All
    );

    store.delete_team("root", "payments").expect("delete");
    assert_eq!(scope(&store), ServiceScope::Only(vec!["checkout-*".into()]));
    store.set_user_scopes("root", "ana", &[]).expect("scopes");
    assert_eq!(scope(&store), ServiceScope::All);
    let log = actions(&store);
    for action in ["scopes_changed", "team_created", "team_deleted"] {
        assert!(log.contains(&("root".into(), action.into())), "{action}: {log:?}");
    }
}

#[test]
fn teams_list_their_members_and_refuse_unknown_users_and_bad_globs() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    let mut team =
        Team { name: "ops".into(), scopes: vec!["*".into()], members: vec!["ana".into()] };
    store.save_team("root", &team).expect("save");
    team.members.push("nobody".into());
    assert!(matches!(store.save_team("root", &team), Err(AuthError::NoSuchUser(_))));
    team.members.pop();
    team.scopes = vec![String::new()];
    assert!(matches!(store.save_team("root", &team), Err(AuthError::Invalid(_))));
    let teams = store.teams().expect("teams");
    assert_eq!(
        teams,
        [Team { name: "ops".into(), scopes: vec!["*".into()], members: vec!["ana".into()] }]
    );
    assert!(matches!(store.delete_team("root", "nope"), Err(AuthError::NoSuchTeam(_))));
}

#[test]
fn failures_further_apart_than_the_lockout_do_not_add_up() {
    let store = store_with_user("ana", "ana's long password", Role::Viewer);
    for _ in 0..4 {
        assert!(matches!(login(&store, "ana", "guess"), LoginOutcome::Refused));
    }
    advance(store.settings.lockout + Duration::from_secs(1));
    for _ in 0..4 {
        assert!(matches!(login(&store, "ana", "guess"), LoginOutcome::Refused));
    }
    session_of(login(&store, "ana", "ana's long password"));
}

#[test]
fn old_audit_entries_and_stale_failures_are_purged_as_logins_come() {
    let store = store();
    store.record("root", "old", None, None).expect("record");
    assert!(matches!(login(&store, "made-up", "guess"), LoginOutcome::Refused));
    let retention = store.settings.audit_retention;
    advance(retention + Duration::from_secs(60));
    assert!(matches!(login(&store, "another", "guess"), LoginOutcome::Refused));
    let actions: Vec<String> = actions(&store).into_iter().map(|(_, action)| action).collect();
    assert_eq!(actions, ["login_failed"], "only the new failure is left");
    let names: Vec<String> = store
        .connection()
        .prepare("SELECT name FROM login_failures")
        .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
        .expect("failures");
    assert_eq!(names, ["another"]);
}

fn identity(
    subject: &str,
    name: &str,
    role: impl Into<Option<Role>>,
) -> crate::auth::oidc::Identity {
    crate::auth::oidc::Identity {
        issuer: "https://id.example.org".into(),
        subject: subject.into(),
        name: name.into(),
        role: role.into(),
    }
}

#[test]
fn a_provider_subject_gets_one_user_whose_role_follows_the_claims_and_no_password() {
    let store = store_with_user("admin", "the admin's password", Role::Admin);
    let first = store.oidc_login(&identity("sub-1", "ana", Role::Editor)).expect("first login");
    assert_eq!((first.user.name.as_str(), first.user.role), ("ana", Role::Editor));
    // The same subject logs in to the same user, even if the name claim changed; the role follows.
    let again = store.oidc_login(&identity("sub-1", "ana.b", Role::Viewer)).expect("second login");
    assert_eq!((again.user.name.as_str(), again.user.role), ("ana", Role::Viewer));
    let users: Vec<(String, Role)> =
        store.users().expect("users").into_iter().map(|u| (u.name, u.role)).collect();
    assert_eq!(users, [("admin".to_owned(), Role::Admin), ("ana".to_owned(), Role::Viewer)]);
    // No password logs in as the user the provider created.
    assert!(matches!(login(&store, "ana", "!"), LoginOutcome::Refused));
    assert!(matches!(login(&store, "ana", ""), LoginOutcome::Refused));
    let actions: Vec<String> =
        store.audit_log(10, None).expect("audit").into_iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&"user_created".to_owned())
            && actions.contains(&"role_changed".to_owned())
    );
}

#[test]
fn a_provider_cannot_log_in_as_an_existing_local_user_or_demote_the_last_admin() {
    let store = store_with_user("admin", "the admin's password", Role::Admin);
    let taken = store.oidc_login(&identity("sub-9", "admin", Role::Admin));
    assert!(matches!(taken, Err(AuthError::Invalid(_))), "{taken:?}");
    // Deleting the local admin is refused while it is the last one; an SSO admin becomes the only other.
    store.oidc_login(&identity("sub-2", "bo", Role::Admin)).expect("bo");
    store.delete_user("test", "admin").expect("delete the local admin");
    let bo = store.oidc_login(&identity("sub-2", "bo", Role::Viewer)).expect("bo again");
    assert_eq!(bo.user.role, Role::Admin, "the last admin stays one");
    // A deleted user's link goes with it: the subject makes a new user.
    store.oidc_login(&identity("sub-3", "cy", Role::Admin)).expect("cy");
    store.delete_user("cy", "bo").expect("delete bo");
    let back = store.oidc_login(&identity("sub-2", "bo", Role::Editor)).expect("bo is new");
    assert_eq!(back.user.role, Role::Editor);
}

#[test]
fn claims_without_a_role_refuse_the_login_and_take_a_linked_users_sessions_and_tokens() {
    let store = store_with_user("admin", "the admin's password", Role::Admin);
    let refused = store.oidc_login(&identity("sub-5", "dee", None));
    assert!(
        matches!(&refused, Err(AuthError::Invalid(m)) if m.contains("no sightline role")),
        "{refused:?}"
    );
    assert!(store.users().expect("users").iter().all(|u| u.name != "dee"), "no user is created");

    let session = store.oidc_login(&identity("sub-5", "dee", Role::Editor)).expect("dee");
    let token = store.create_token("dee", "ci", Role::Editor, None).expect("token");
    assert!(store.session(&session.token).expect("session").is_some());
    assert!(store.oidc_login(&identity("sub-5", "dee", None)).is_err());
    assert!(store.session(&session.token).expect("session").is_none(), "the session ended");
    assert!(store.tokens(Some("dee")).expect("tokens").is_empty(), "{:?}", token.info);
}
