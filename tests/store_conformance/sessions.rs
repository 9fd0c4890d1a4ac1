//! SessionsPort: login sessions.

use super::*;

/// A live session authenticates its user (with their teams, as a plain read has them); an
/// expired, deleted or deactivated user's session does not.
pub async fn sessions_authenticate_live_users(store: &dyn Store) {
    let account = store.create_account("Sessions").await.expect("account");
    let agent = store.create_user(new_user(account.id, "agent@sessions.example", Role::Agent)).await.expect("agent");
    let hash = vec![7u8; 32];
    let expires = now().saturating_add(SignedDuration::from_hours(1)).expect("time");
    store
        .create_session(NewSession { token_hash: hash.clone(), user_id: agent.id, expires_at: expires })
        .await
        .expect("session");
    assert_eq!(store.session_user(&hash, now()).await.expect("lookup").map(|user| user.id), Some(agent.id));
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
    let by_session = store.session_user(&hash, now()).await.expect("lookup").expect("user");
    assert_eq!(by_session.team_ids, teams);
    assert_eq!(Some(by_session), store.user(account.id, agent.id).await.expect("read"));
    assert!(
        store.session_user(&hash, expires).await.expect("lookup").is_none(),
        "expired sessions do not authenticate"
    );
    store.delete_session(&hash).await.expect("delete");
    assert!(store.session_user(&hash, now()).await.expect("lookup").is_none());
    store
        .create_session(NewSession { token_hash: hash.clone(), user_id: agent.id, expires_at: expires })
        .await
        .expect("session");
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
        store
            .create_session(NewSession { token_hash: token, user_id: agent.id, expires_at: later })
            .await
            .expect("session");
    }
    store.delete_user_sessions(agent.id, Some(b"keep")).await.expect("end others");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_some(), "the asking session stays");
    assert!(store.session_user(b"end-1", now()).await.expect("read").is_none());
    assert!(store.session_user(b"end-2", now()).await.expect("read").is_none());
    store.delete_user_sessions(agent.id, None).await.expect("end all");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_none());
}
