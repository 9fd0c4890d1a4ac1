//! Simulated agents: WebSocket clients that log in with a token, subscribe, heartbeat and time
//! every marked message that reaches them. They run in worker processes (see `worker.rs`), each
//! holding at most a few thousand sockets, bound to several 127.0.0.x source addresses.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use tokio::net::TcpSocket;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::report::{Latency, now_us};

/// What one simulated agent does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentSpec {
    pub token: String,
    /// `ws://host:port/api/v1/ws` addresses: the first is this agent's node; when its socket
    /// drops the agent moves to the next (as behind a load balancer).
    pub servers: Vec<String>,
    pub source: Ipv4Addr,
    /// Reconnect after the socket drops (false: an agent who closed the laptop).
    pub rejoin: bool,
}

/// What every agent of a run subscribes to and times.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub subscribe_queue: bool,
    /// `ticket:<id>` topics to follow: each event whole (a queue frame carries only the
    /// ticket's row, without an internal note's text). With one ticket its seqs are tracked and
    /// a rejoining agent resumes after the last one it saw.
    pub tickets: Vec<i64>,
    /// Seconds between `ping` frames; 0 sends none and only answers the server's pings (as the
    /// console in a browser does).
    pub heartbeat_secs: u64,
    /// Message bodies that start with this are timed: `<marker><n>:<µs since epoch when due>`.
    pub marker: String,
    /// Messages numbered below this are a customer's first (a new customer, a new ticket): also
    /// timed on their own, since they take a longer path than a known customer's.
    #[serde(default)]
    pub first_contacts: u64,
}

/// Counters every agent of a worker shares, read by the progress line.
#[derive(Default)]
pub struct Live {
    pub connected: AtomicU64,
    pub frames: AtomicU64,
    pub matched: AtomicU64,
    pub errors: AtomicU64,
    pub reconnects: AtomicU64,
}

/// What one agent measured, merged per worker.
#[derive(Default)]
pub struct Tally {
    /// Marker time → received (the generator's schedule to this socket: end to end).
    pub end_to_end: Latency,
    /// The same for first contacts only ([`Plan::first_contacts`]).
    pub first_contact: Latency,
    /// The frame's `sent_at` → received (the server's last hop).
    pub server_hop: Latency,
    pub handshake: Latency,
    /// Socket dropped → caught up again on the ticket topic (reconnect, replay, live).
    pub recovery: Latency,
    pub unique: u64,
    /// The bytes of the unique marked frames (their mean is the typical frame's size).
    pub unique_bytes: u64,
    pub duplicated: u64,
    /// Ticket-topic seqs missing at the end (between the first and last one received).
    pub seq_gaps: u64,
    pub seq_duplicates: u64,
    /// Events at the end of the ticket's log that agents who stayed never got.
    pub tail_missing: u64,
    /// This agent's newest ticket-topic seq (not merged).
    pub last_seq: Option<i64>,
    /// Whether this agent rejoins after a drop (not merged).
    pub rejoin: bool,
}

impl Tally {
    pub fn merge(&mut self, other: &Tally) {
        self.end_to_end.merge(&other.end_to_end);
        self.first_contact.merge(&other.first_contact);
        self.server_hop.merge(&other.server_hop);
        self.handshake.merge(&other.handshake);
        self.recovery.merge(&other.recovery);
        self.unique += other.unique;
        self.unique_bytes += other.unique_bytes;
        self.duplicated += other.duplicated;
        self.seq_gaps += other.seq_gaps;
        self.seq_duplicates += other.seq_duplicates;
        self.tail_missing += other.tail_missing;
    }
}

/// The marked message numbers one agent has seen (a growable bitmap).
#[derive(Default)]
struct Seen(Vec<u64>);

impl Seen {
    /// True the first time `n` is seen.
    fn insert(&mut self, n: usize) -> bool {
        let (word, bit) = (n / 64, 1u64 << (n % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
}

/// Ticket-topic seqs one agent received, for gap/duplicate accounting and recovery timing.
#[derive(Default)]
struct SeqTrack {
    seen: Seen,
    first: Option<i64>,
    max: i64,
    /// Every seq from `first` through this one has arrived.
    contiguous: i64,
    duplicates: u64,
}

impl SeqTrack {
    fn record(&mut self, seq: i64) {
        if seq < 0 {
            return;
        }
        let first = *self.first.get_or_insert(seq);
        if seq < first {
            return;
        }
        if !self.seen.insert((seq - first) as usize) {
            self.duplicates += 1;
        }
        self.max = self.max.max(seq);
        if self.contiguous == 0 {
            self.contiguous = first;
        }
        while self.contiguous < self.max && self.is_seen(self.contiguous + 1 - first) {
            self.contiguous += 1;
        }
    }

    fn is_seen(&self, n: i64) -> bool {
        let n = n as usize;
        self.seen.0.get(n / 64).is_some_and(|word| word & (1 << (n % 64)) != 0)
    }

    fn gaps(&self) -> u64 {
        let Some(first) = self.first else { return 0 };
        (first..=self.max).filter(|seq| !self.is_seen(seq - first)).count() as u64
    }
}

/// Runs one agent until `stop` turns true; returns what it measured.
pub async fn run_agent(
    agent: AgentSpec,
    plan: Arc<Plan>,
    live: Arc<Live>,
    handshakes: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut seen = Seen::default();
    let mut seqs = SeqTrack::default();
    let mut server = 0;
    let mut dropped_at: Option<(Instant, i64)> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            break;
        }
        let url = &agent.servers[server % agent.servers.len()];
        let permit = handshakes.acquire().await;
        let begun = Instant::now();
        let connected = tokio::select! {
            result = connect(url, &agent.token, agent.source) => result,
            _ = stop.changed() => break,
        };
        drop(permit);
        let mut socket = match connected {
            Ok(socket) => socket,
            Err(_) => {
                live.errors.fetch_add(1, Ordering::Relaxed);
                if !agent.rejoin && dropped_at.is_some() {
                    break;
                }
                // Jittered back-off, then the next node.
                let jitter = Duration::from_micros(now_us().unsigned_abs() % 100_000);
                tokio::time::sleep(backoff + jitter).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                server += 1;
                continue;
            }
        };
        tally.handshake.record(begun.elapsed());
        backoff = Duration::from_millis(100);
        live.connected.fetch_add(1, Ordering::Relaxed);
        if dropped_at.is_some() {
            live.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let mut subscribes = Vec::new();
        if plan.subscribe_queue {
            subscribes.push(r#"{"type":"subscribe","topic":"queue"}"#.to_owned());
        }
        let tracked = plan.tickets.len() == 1;
        for ticket in &plan.tickets {
            subscribes.push(match seqs.first {
                // Resume where this agent left off: the server replays the gap.
                Some(_) if tracked => {
                    format!(r#"{{"type":"subscribe","topic":"ticket:{ticket}","after":{}}}"#, seqs.contiguous)
                }
                _ => format!(r#"{{"type":"subscribe","topic":"ticket:{ticket}"}}"#),
            });
        }
        let mut ok = true;
        for frame in subscribes {
            ok &= socket.send(Message::Text(frame.into())).await.is_ok();
        }
        let mut heartbeat = tokio::time::interval(Duration::from_secs(plan.heartbeat_secs.max(1)));
        heartbeat.tick().await;
        let stopped = loop {
            if !ok {
                break false;
            }
            tokio::select! {
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        live.frames.fetch_add(1, Ordering::Relaxed);
                        let received = now_us();
                        if let Some(frame) = MarkedFrame::parse(text.as_str(), &plan.marker) {
                            if seen.insert(frame.n) {
                                tally.unique += 1;
                                tally.unique_bytes += text.len() as u64;
                                tally.end_to_end.record_us(received - frame.due_us);
                                if (frame.n as u64) < plan.first_contacts {
                                    tally.first_contact.record_us(received - frame.due_us);
                                }
                            } else {
                                tally.duplicated += 1;
                            }
                            if let Some(sent) = frame.sent_us {
                                tally.server_hop.record_us(received - sent);
                            }
                            live.matched.fetch_add(1, Ordering::Relaxed);
                        }
                        if tracked && let Some(seq) = ticket_seq(text.as_str()) {
                            seqs.record(seq);
                            if let Some((at, before)) = dropped_at && seqs.contiguous > before && seqs.contiguous == seqs.max {
                                tally.recovery.record(at.elapsed());
                                dropped_at = None;
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break false,
                    Some(Ok(_)) => {}
                },
                _ = heartbeat.tick(), if plan.heartbeat_secs > 0 => {
                    ok = socket.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_ok();
                }
                _ = stop.changed() => break true,
            }
        };
        live.connected.fetch_sub(1, Ordering::Relaxed);
        if stopped {
            let _ = socket.close(None).await;
            break;
        }
        // The socket dropped (node killed, or the server closed it).
        dropped_at.get_or_insert((Instant::now(), seqs.contiguous));
        if !agent.rejoin {
            break;
        }
        server += 1;
    }
    tally.seq_gaps = seqs.gaps();
    tally.seq_duplicates = seqs.duplicates;
    tally.last_seq = seqs.first.map(|_| seqs.max);
    tally.rejoin = agent.rejoin;
    tally
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket from `source` to `url` with small buffers (the default 128 KiB read buffer per
/// client would cost the generator gigabytes at 19,000 sockets).
async fn connect(url: &str, token: &str, source: Ipv4Addr) -> anyhow::Result<Socket> {
    let address =
        url.strip_prefix("ws://").and_then(|rest| rest.split('/').next()).ok_or_else(|| anyhow!("bad url {url}"))?;
    let target: SocketAddr =
        tokio::net::lookup_host(address).await?.next().ok_or_else(|| anyhow!("no address for {address}"))?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source.into(), 0)).with_context(|| format!("bind {source}"))?;
    let stream = tokio::time::timeout(Duration::from_secs(20), socket.connect(target)).await??;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (socket, _) = tokio::time::timeout(
        Duration::from_secs(20),
        tokio_tungstenite::client_async_with_config(format!("{url}?token={token}"), stream, Some(config)),
    )
    .await??;
    Ok(socket)
}

/// The marked message in a `message_added` event frame, found by scanning (parsing every
/// frame as JSON would cost the generator more CPU than the server spends sending it).
#[derive(Debug, PartialEq)]
struct MarkedFrame {
    n: usize,
    due_us: i64,
    sent_us: Option<i64>,
}

impl MarkedFrame {
    fn parse(text: &str, marker: &str) -> Option<MarkedFrame> {
        if !text.starts_with(r#"{"type":"event""#) {
            return None;
        }
        // The event says what happened; on a ticket topic it holds the message, on `queue` the
        // message's text is the row's `preview` (and the row's subject may quote the first
        // message, so only the preview is read there). The event object's keys are sorted.
        let start = text.find(r#""event":{"#)?;
        let row = text[start..].find(r#","row":{"#).map(|at| start + at);
        let event = &text[start..row.unwrap_or(text.len())];
        if !event.contains(r#""type":"message_added""#) {
            return None;
        }
        let marked = match row {
            None => &event[event.find(marker)? + marker.len()..],
            Some(row) => {
                let preview = text[row..].find(r#""preview":""#)? + row + r#""preview":""#.len();
                text[preview..].strip_prefix(marker)?
            }
        };
        let mut parts = marked.splitn(3, [':', '"', ' ']);
        let n = parts.next()?.parse().ok()?;
        let due_us = parts.next()?.parse().ok()?;
        let sent_us = text
            .find(r#""sent_at":""#)
            .and_then(|at| text[at + 11..].split('"').next())
            .and_then(|stamp| stamp.parse::<jiff::Timestamp>().ok())
            .map(|stamp| stamp.as_microsecond());
        Some(MarkedFrame { n, due_us, sent_us })
    }
}

/// The `seq` of an event frame on a ticket topic (replayed or live).
fn ticket_seq(text: &str) -> Option<i64> {
    if !text.starts_with(r#"{"type":"event""#) || !text.contains(r#""topic":"ticket:"#) {
        return None;
    }
    let at = text.find(r#""seq":"#)? + 6;
    text[at..].split([',', '}']).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_frames_are_found_in_the_event_or_the_rows_preview_not_the_subject() {
        let on_ticket = r#"{"type":"event","topic":"ticket:3","ticket_id":3,"seq":4,"cursor":9,"sent_at":"2026-11-21T10:00:00.000500Z","event":{"at":"x","message":{"body":"load:ab:17:1700000000000123"},"seq":4,"type":"message_added"}}"#;
        let parsed = MarkedFrame::parse(on_ticket, "load:ab:").expect("marked");
        assert_eq!(parsed.n, 17);
        assert_eq!(parsed.due_us, 1_700_000_000_000_123);
        assert_eq!(
            parsed.sent_us,
            Some("2026-11-21T10:00:00.000500Z".parse::<jiff::Timestamp>().expect("ts").as_microsecond())
        );
        // A list frame carries no `sent_at` (issue 16's 400 bytes): no server hop from it.
        let on_queue = r#"{"type":"event","topic":"queue","seq":4,"cursor":9,"event":{"message":{"kind":"customer"},"type":"message_added"},"row":{"id":3,"number":3,"subject":"load:ab:2:1","status":"open","channel":"whatsapp","preview":"load:ab:17:1700000000000123"}}"#;
        assert_eq!(MarkedFrame::parse(on_queue, "load:ab:"), Some(MarkedFrame { sent_us: None, ..parsed }));
        let status = r#"{"type":"event","topic":"queue","ticket_id":3,"seq":5,"event":{"type":"status_changed"},"row":{"subject":"load:ab:2:1","preview":"load:ab:2:1"}}"#;
        assert_eq!(MarkedFrame::parse(status, "load:ab:"), None);
        let unmarked = r#"{"type":"event","topic":"queue","ticket_id":3,"seq":6,"event":{"type":"message_added"},"row":{"subject":"load:ab:2:1","preview":"thanks"}}"#;
        assert_eq!(MarkedFrame::parse(unmarked, "load:ab:"), None, "the subject is never read");
        assert_eq!(MarkedFrame::parse(r#"{"type":"pong"}"#, "load:ab:"), None);
    }

    #[test]
    fn seq_tracking_counts_gaps_duplicates_and_contiguity() {
        let mut track = SeqTrack::default();
        for seq in [5, 6, 7, 7, 9] {
            track.record(seq);
        }
        assert_eq!((track.contiguous, track.max, track.duplicates, track.gaps()), (7, 9, 1, 1));
        track.record(8);
        assert_eq!((track.contiguous, track.gaps()), (9, 0));
        assert_eq!(ticket_seq(r#"{"type":"event","topic":"ticket:3","ticket_id":3,"seq":12,"cursor":0}"#), Some(12));
        assert_eq!(ticket_seq(r#"{"type":"event","topic":"queue","ticket_id":3,"seq":12}"#), None);
    }

    #[test]
    fn seen_reports_the_first_sighting_only() {
        let mut seen = Seen::default();
        assert!(seen.insert(0));
        assert!(seen.insert(1000));
        assert!(!seen.insert(1000));
        assert!(seen.insert(63));
    }
}
