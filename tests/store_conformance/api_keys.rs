//! ApiKeysPort: scoped API keys (migration 0032).

use std::collections::BTreeSet;

use switchboard_actors::api_keys::{NewApiKey, Scope};

use super::*;

fn key(account: AccountId, user: UserId, name: &str, hash: u8, expires_at: Option<Timestamp>) -> NewApiKey {
    NewApiKey {
        account_id: account,
        user_id: user,
        name: name.into(),
        prefix: format!("sbk_{name}"),
        key_hash: vec![hash; 32],
        scopes: BTreeSet::from([Scope::TicketsRead, Scope::MessagesWrite]),
        rate_limit_per_minute: 600,
        expires_at,
    }
}

/// A live key authenticates its active user; expiry, deactivation and deletion end it; lists are
/// per account (and per user when asked); last use is what was last written; another account
/// cannot delete a key.
pub async fn api_keys_authenticate_list_and_revoke(store: &dyn Store) {
    let account = store.create_account("Keys").await.expect("account");
    let other = store.create_account("Other keys").await.expect("account");
    let agent = store.create_user(new_user(account.id, "agent@keys.example", Role::Agent)).await.expect("agent");
    let admin = store.create_user(new_user(account.id, "admin@keys.example", Role::Admin)).await.expect("admin");
    let expires = now().saturating_add(SignedDuration::from_hours(1)).expect("time");
    let first = store.create_api_key(key(account.id, agent.id, "first", 1, Some(expires))).await.expect("key");
    assert_eq!(first.scopes, BTreeSet::from([Scope::TicketsRead, Scope::MessagesWrite]));
    assert_eq!((first.rate_limit_per_minute, first.last_used_at, first.expires_at), (600, None, Some(expires)));
    let second = store.create_api_key(key(account.id, admin.id, "second", 2, None)).await.expect("key");

    let (found, user) = store.api_key_user(&[1; 32], now()).await.expect("lookup").expect("live");
    assert_eq!((found.clone(), user.id), (first.clone(), agent.id));
    assert!(store.api_key_user(&[1; 32], expires).await.expect("lookup").is_none(), "expired");
    assert!(store.api_key_user(&[9; 32], now()).await.expect("lookup").is_none(), "unknown");
    assert!(store.api_key_user(&[2; 32], expires).await.expect("lookup").is_some(), "no expiry");

    let ids = |keys: Vec<switchboard_actors::api_keys::ApiKey>| keys.iter().map(|key| key.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_api_keys(account.id, None).await.expect("list")), [second.id, first.id]);
    assert_eq!(ids(store.list_api_keys(account.id, Some(agent.id)).await.expect("list")), [first.id]);
    assert!(store.list_api_keys(other.id, None).await.expect("list").is_empty());

    store.touch_api_key(first.id, expires).await.expect("touch");
    assert_eq!(store.api_key(account.id, first.id).await.expect("read").expect("key").last_used_at, Some(expires));
    assert!(store.api_key(other.id, first.id).await.expect("read").is_none());

    assert_eq!(store.delete_api_key(other.id, first.id).await.expect("delete"), None, "not another account's");
    assert_eq!(store.delete_api_key(account.id, first.id).await.expect("delete"), Some(vec![1; 32]));
    assert!(store.api_key_user(&[1; 32], now()).await.expect("lookup").is_none(), "revoked");
    assert_eq!(store.delete_api_key(account.id, first.id).await.expect("delete"), None);

    store
        .update_user(account.id, admin.id, UserPatch { active: Some(false), ..UserPatch::default() })
        .await
        .expect("deactivate");
    assert!(store.api_key_user(&[2; 32], now()).await.expect("lookup").is_none(), "deactivation stops keys");
}
