//! SessionsPort: login sessions.

use super::*;

/// A live session authenticates its user (with their teams, as a plain read has them); an
/// expired, deleted or deactivated user's session does not.
pub async fn sessions_authenticate_live_users(store: &dyn Store) {
    let account = store.create_account("Sessions").await.expect("account");
    let agent = store.create_user(new_user(account.id, "agent@sessions.example", Role::Agent)).await.expect("agent");
    let hash = vec![7u8; 32];
    let expires = now().saturating_add(SignedDuration::from_hours(1)).expect("time");
    store.create_session(NewSession::login(hash.clone(), agent.id, expires)).await.expect("session");
    assert_eq!(store.session_user(&hash, now()).await.expect("lookup").map(|found| found.user.id), Some(agent.id));
    // The session's user carries the teams too, in order, as a plain read does.
    let mut teams = Vec::new();
    for name in ["Zeta", "Alpha", "Mid"] {
        let team = NewTeam {
            account_id: account.id,
            name: name.into(),
            description: String::new(),
            member_ids: vec![agent.id],
        };
        teams.push(store.create_team(team).await.expect("team").id);
    }
    teams.sort_unstable();
    let by_session = store.session_user(&hash, now()).await.expect("lookup").expect("user").user;
    assert_eq!(by_session.team_ids, teams);
    assert_eq!(Some(by_session), store.user(account.id, agent.id).await.expect("read"));
    assert!(
        store.session_user(&hash, expires).await.expect("lookup").is_none(),
        "expired sessions do not authenticate"
    );
    store.delete_session(&hash).await.expect("delete");
    assert!(store.session_user(&hash, now()).await.expect("lookup").is_none());
    store.create_session(NewSession::login(hash.clone(), agent.id, expires)).await.expect("session");
    store
        .update_user(account.id, agent.id, UserPatch { active: Some(false), ..UserPatch::default() })
        .await
        .expect("deactivate");
    assert!(store.session_user(&hash, now()).await.expect("lookup").is_none(), "deactivation ends sessions");
}

/// A password change ends the user's other sessions.
pub async fn password_change_ends_other_sessions(store: &dyn Store) {
    let account = store.create_account("Session ends").await.expect("account");
    let agent = store.create_user(new_user(account.id, "session-ends@a.example", Role::Agent)).await.expect("agent");
    let later = now().checked_add(SignedDuration::from_hours(1)).expect("later");
    for token in [b"keep".to_vec(), b"end-1".to_vec(), b"end-2".to_vec()] {
        store.create_session(NewSession::login(token, agent.id, later)).await.expect("session");
    }
    store.delete_user_sessions(agent.id, Some(b"keep")).await.expect("end others");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_some(), "the asking session stays");
    assert!(store.session_user(b"end-1", now()).await.expect("read").is_none());
    assert!(store.session_user(b"end-2", now()).await.expect("read").is_none());
    store.delete_user_sessions(agent.id, None).await.expect("end all");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_none());
}

/// A user's sessions are listed with their device and times (the asking one marked), deleted by
/// public id only for their owner, and touched forward only; the account's policy comes with
/// the session's user.
pub async fn sessions_are_listed_revoked_and_touched(store: &dyn Store) {
    use switchboard_actors::security::{SecurityPolicy, SessionKind};
    let account = store.create_account("Session list").await.expect("account");
    let agent = store.create_user(new_user(account.id, "list@sessions.example", Role::Agent)).await.expect("agent");
    let other = store.create_user(new_user(account.id, "other@sessions.example", Role::Agent)).await.expect("other");
    let later = now().checked_add(SignedDuration::from_hours(1)).expect("later");
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
    let mut session = NewSession::login(b"laptop".to_vec(), agent.id, later);
    session.user_agent = firefox.to_owned();
    session.ip = "203.0.113.9".to_owned();
    store.create_session(session).await.expect("laptop");
    let mut token = NewSession::login(b"token".to_vec(), agent.id, later);
    token.kind = SessionKind::Token;
    store.create_session(token).await.expect("token");
    store.create_session(NewSession::login(b"theirs".to_vec(), other.id, later)).await.expect("theirs");

    let listed = store.user_sessions(agent.id, b"laptop", now()).await.expect("list");
    assert_eq!(listed.len(), 2);
    let laptop = listed.iter().find(|session| session.current).expect("the current one");
    assert_eq!((laptop.device.as_str(), laptop.ip.as_str()), ("Firefox on Linux", "203.0.113.9"));
    assert_eq!(laptop.kind, SessionKind::Login);
    assert!(listed.iter().any(|session| session.kind == SessionKind::Token && !session.current));
    assert_eq!(laptop.id.len(), 32);

    let found = store.session_user(b"laptop", now()).await.expect("read").expect("live");
    assert_eq!((found.kind, found.policy.clone()), (SessionKind::Login, SecurityPolicy::default()));
    let policy =
        SecurityPolicy { staff_mfa_required: true, session_idle_minutes: Some(30), session_lifetime_hours: None };
    store.set_security_policy(account.id, &policy).await.expect("policy");
    assert_eq!(store.security_policy(account.id).await.expect("policy"), policy);
    assert_eq!(store.session_user(b"laptop", now()).await.expect("read").expect("live").policy, policy);

    let seen = truncate_to_millis(now().checked_add(SignedDuration::from_mins(5)).expect("later"));
    store.touch_session(b"laptop", seen).await.expect("touch");
    store.touch_session(b"laptop", now()).await.expect("an earlier touch changes nothing");
    assert_eq!(store.session_user(b"laptop", now()).await.expect("read").expect("live").last_seen_at, seen);

    let theirs = store.user_sessions(other.id, b"", now()).await.expect("list")[0].id.clone();
    assert_eq!(store.delete_session_by_id(agent.id, &theirs).await.expect("delete"), None, "not theirs to end");
    assert!(store.session_user(b"theirs", now()).await.expect("read").is_some());
    assert_eq!(store.delete_session_by_id(agent.id, &laptop.id).await.expect("delete"), Some(b"laptop".to_vec()));
    assert!(store.session_user(b"laptop", now()).await.expect("read").is_none());
    assert_eq!(store.user_sessions(agent.id, b"laptop", now()).await.expect("list").len(), 1);
}

/// A TOTP enrolment waits until enabled (then cannot be restarted), each step and each
/// recovery code is accepted once, and turning MFA off removes both.
pub async fn totp_steps_and_recovery_codes_are_single_use(store: &dyn Store) {
    let account = store.create_account("Totp").await.expect("account");
    let agent = store.create_user(new_user(account.id, "totp@sessions.example", Role::Agent)).await.expect("agent");
    assert_eq!(store.totp_enrolment(agent.id).await.expect("read"), None);
    assert!(store.start_totp(account.id, agent.id, "AAAA").await.expect("start"));
    assert!(store.start_totp(account.id, agent.id, "BBBB").await.expect("restart while waiting"));
    let waiting = store.totp_enrolment(agent.id).await.expect("read").expect("waiting");
    assert_eq!((waiting.secret.as_str(), waiting.enabled()), ("BBBB", false));
    assert!(!store.use_totp_step(agent.id, 10).await.expect("step"), "no code counts before enabling");

    let hashes = vec![vec![1u8; 32], vec![2u8; 32]];
    assert!(store.enable_totp(agent.id, 100, &hashes).await.expect("enable"));
    assert!(!store.enable_totp(agent.id, 101, &hashes).await.expect("enable"), "once");
    assert!(!store.start_totp(account.id, agent.id, "CCCC").await.expect("start"), "an enabled one stays");
    let enabled = store.totp_enrolment(agent.id).await.expect("read").expect("enabled");
    assert_eq!((enabled.secret.as_str(), enabled.last_step), ("BBBB", Some(100)));

    assert!(!store.use_totp_step(agent.id, 100).await.expect("step"), "the confirming step is used");
    assert!(store.use_totp_step(agent.id, 101).await.expect("step"));
    assert!(!store.use_totp_step(agent.id, 101).await.expect("step"), "the same step twice");
    assert!(!store.use_totp_step(agent.id, 99).await.expect("step"), "an older step");

    assert_eq!(store.recovery_codes_left(agent.id).await.expect("count"), 2);
    assert!(store.use_recovery_code(agent.id, &[1u8; 32]).await.expect("code"));
    assert!(!store.use_recovery_code(agent.id, &[1u8; 32]).await.expect("code"), "used");
    assert!(!store.use_recovery_code(agent.id, &[9u8; 32]).await.expect("code"), "unknown");
    assert_eq!(store.recovery_codes_left(agent.id).await.expect("count"), 1);

    store.disable_totp(agent.id).await.expect("disable");
    assert_eq!(store.totp_enrolment(agent.id).await.expect("read"), None);
    assert_eq!(store.recovery_codes_left(agent.id).await.expect("count"), 0);
}
