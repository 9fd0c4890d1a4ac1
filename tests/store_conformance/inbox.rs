//! InboxPort: the channels' inboxes, stored before they are acknowledged, then claimed.

use super::*;

/// The email inbox: raw bytes round-trip, claims hold entries, done marks.
pub async fn email_inbox_claims(store: &dyn Store) {
    // Not UTF-8 on purpose: mail is bytes.
    let raw: &[u8] = b"From: a@b.example\r\nSubject: caf\xe9\r\n\r\nbody\xff";
    let first = store.email_inbox_append(raw, now()).await.expect("append");
    let second = store.email_inbox_append(b"second", now()).await.expect("append");
    let (at, until) = (now(), now().saturating_add(SignedDuration::from_secs(30)).expect("time"));
    let claimed = store.email_inbox_claim(10, at, until).await.expect("claim");
    let ours: Vec<_> = claimed.iter().filter(|(id, _)| *id == first || *id == second).collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0], &(first, raw.to_vec()), "oldest first, bytes intact");
    assert!(store.email_inbox_claim(10, at, until).await.expect("claim").is_empty(), "held by the first claim");
    let expired =
        store.email_inbox_claim(10, until, until.saturating_add(SignedDuration::from_secs(30)).expect("time"));
    assert_eq!(expired.await.expect("claim").len(), 2, "a claim that ran out is taken again");
    store.email_inbox_done(&[(first, None), (second, Some("no sender".to_owned()))], now()).await.expect("done");
    let far = until.saturating_add(SignedDuration::from_hours(1)).expect("time");
    assert!(
        store.email_inbox_claim(10, far, far).await.expect("claim").iter().all(|(id, _)| *id != first && *id != second)
    );
}

/// The WhatsApp webhook's record, and claims: an entry stored by a node that processes it at
/// once is nobody else's until its claim runs out; two passes at once never take the same entry.
pub async fn webhook_inbox_claims(store: &dyn Store) {
    let before = store.whatsapp_webhook_stats().await.expect("stats");
    let id = store.inbox_append("{}", now(), None, false).await.expect("append");
    let stats = store.whatsapp_webhook_stats().await.expect("stats");
    assert_eq!((stats.received, stats.pending), (before.received + 1, before.pending + 1));
    assert!(stats.last_received_at.is_some());
    store.inbox_done(&[(id, Some("unparseable".to_owned()))], now()).await.expect("done");
    let stats = store.whatsapp_webhook_stats().await.expect("stats");
    assert_eq!((stats.failed, stats.pending), (before.failed + 1, before.pending));

    // Claims: an entry stored by a node that processes it at once is nobody else's until its
    // claim runs out; two passes at once never take the same entry.
    let (at, until) = (now(), now().saturating_add(SignedDuration::from_secs(30)).expect("time"));
    let held = store.inbox_append("held", at, Some(until), false).await.expect("append");
    let mut free = Vec::new();
    for n in 0..4 {
        free.push(store.inbox_append(&format!("free {n}"), at, None, false).await.expect("append"));
    }
    let (one, two) = tokio::join!(store.inbox_claim(3, at, until), store.inbox_claim(3, at, until));
    let mut taken: Vec<i64> = one.expect("claim").into_iter().chain(two.expect("claim")).map(|(id, _)| id).collect();
    // (On PostgreSQL the slower claim may come back empty rather than take the next rows.)
    taken.extend(store.inbox_claim(10, at, until).await.expect("claim").into_iter().map(|(id, _)| id));
    taken.sort_unstable();
    assert_eq!(taken, free, "every free entry exactly once, the held one not at all");
    let later = until.saturating_add(SignedDuration::from_secs(1)).expect("time");
    let retaken: Vec<i64> =
        store.inbox_claim(10, later, later).await.expect("claim").into_iter().map(|(id, _)| id).collect();
    assert!(retaken.contains(&held) && free.iter().all(|id| retaken.contains(id)), "claims that ran out: {retaken:?}");
}
