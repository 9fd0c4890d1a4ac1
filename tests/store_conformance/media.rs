//! MediaPort: each account's index of stored files.

use super::*;

/// Stored files are indexed per account (an account holds a file, an author may attach it only
/// when they uploaded it or it arrived on that ticket).
pub async fn media_index(store: &dyn Store) {
    let ours = store.create_account("Media A").await.expect("account");
    let theirs = store.create_account("Media B").await.expect("account");
    let ids = store.account_ids().await.expect("accounts");
    assert!(ids.contains(&ours.id) && ids.contains(&theirs.id), "every account is listed: {ids:?}");
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "oldest first: {ids:?}");
    let agent = store.create_user(new_user(ours.id, "media-agent@a.example", Role::Agent)).await.expect("agent");
    let colleague = store.create_user(new_user(ours.id, "media-colleague@a.example", Role::Agent)).await.expect("user");
    let hash = "AB".repeat(32);
    let inbound = "cd".repeat(32);
    assert!(!store.media_in_account(ours.id, &hash).await.expect("read"));
    store.add_media(ours.id, &hash, MediaOwner::Uploader(agent.id), now()).await.expect("upload");
    store.add_media(ours.id, &hash, MediaOwner::Uploader(agent.id), now()).await.expect("twice is harmless");
    store.add_media(ours.id, &inbound, MediaOwner::Ticket(77), now()).await.expect("inbound");
    assert!(store.media_in_account(ours.id, &hash.to_lowercase()).await.expect("read"), "hashes are case-blind");
    assert!(!store.media_in_account(theirs.id, &hash).await.expect("read"), "another account holds nothing");
    assert!(store.media_attachable(ours.id, &hash, agent.id, 1).await.expect("read"), "the uploader may attach it");
    assert!(!store.media_attachable(ours.id, &hash, colleague.id, 1).await.expect("read"), "a colleague may not");
    assert!(store.media_attachable(ours.id, &inbound, colleague.id, 77).await.expect("read"), "it arrived there");
    assert!(!store.media_attachable(ours.id, &inbound, colleague.id, 78).await.expect("read"), "not on another");
    assert!(!store.media_attachable(theirs.id, &inbound, colleague.id, 77).await.expect("read"));
}
