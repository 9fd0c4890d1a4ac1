//! `GET /api/v1/ws`: the live-push gateway. Each socket gets two tasks: a reader (client frames,
//! heartbeats, rate limit) and a writer that drains the socket's bounded outbox, handing every
//! queued frame to the connection at once so they leave in as few writes as possible. Delivery
//! never waits for a socket: the hub `try_send`s into the outbox and drops a client whose outbox
//! is full.

mod frame_guard;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use serde::Deserialize;
use switchboard_actors::agent::AgentMsg;
use switchboard_actors::api_keys::Scope;
use switchboard_actors::store::TicketScope;
use tokio::sync::mpsc;

use crate::accounts::AccountConfigs;
use crate::auth::TokenSource;
use crate::config::Settings;
use crate::error::ApiError;
use crate::live::protocol::*;
use crate::live::{Hub, SocketEntry};
use crate::sessions::Sessions;

#[derive(Clone, Debug)]
pub struct SocketSettings {
    /// How often the server pings.
    pub ping_interval: Duration,
    /// A client silent for this long is closed.
    pub client_timeout: Duration,
    /// Largest accepted client frame.
    pub max_frame_bytes: usize,
    /// Frames queued for a client before it counts as too slow and is dropped.
    pub outbox_frames: usize,
    /// Client frames per second allowed on average (bursts of 4× that are fine).
    pub max_frames_per_sec: u32,
    /// Open sockets one user may hold on this node.
    pub max_sockets_per_user: usize,
}

impl SocketSettings {
    pub fn from_settings(settings: &Settings) -> SocketSettings {
        SocketSettings {
            ping_interval: Duration::from_secs(settings.ws.ping_interval_secs),
            client_timeout: Duration::from_secs(settings.ws.client_timeout_secs),
            max_frame_bytes: settings.ws.max_frame_bytes,
            outbox_frames: settings.ws.outbox_frames,
            max_frames_per_sec: settings.ws.max_frames_per_sec,
            max_sockets_per_user: settings.ws.max_sockets_per_user,
        }
    }
}

/// `GET /ws`, registered by the app inside `/api/v1`.
pub fn routes(scope: &mut web::ServiceConfig) {
    scope.route("/ws", web::get().to(connect));
}

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// Close code telling the client its session ended (logout, deactivation, role change, password
/// reset): log in again rather than reconnect.
pub const SESSION_ENDED: u16 = 4001;

/// Upgrades to a WebSocket after authenticating with `?token=`, the session cookie or a bearer
/// token. A cookie is the browser's doing, so an upgrade carrying one must come from the hub's
/// own pages (cross-site WebSocket hijacking); a token in the URL or a header is the client's.
pub async fn connect(
    request: HttpRequest,
    body: web::Payload,
    query: web::Query<WsQuery>,
    sessions: web::Data<Sessions>,
    accounts: web::Data<AccountConfigs>,
    hub: web::Data<Hub>,
    socket_settings: web::Data<SocketSettings>,
) -> Result<HttpResponse, ApiError> {
    let (token, source) = match query.into_inner().token {
        Some(token) => (Some(token), TokenSource::Bearer),
        None => match crate::auth::request_token(&request) {
            Some((token, source)) => (Some(token), source),
            None => (None, TokenSource::Bearer),
        },
    };
    if source == TokenSource::Cookie {
        crate::auth::same_origin(&request, crate::auth::service::<Settings>(&request)?.as_ref())?;
    }
    let session_hash = crate::auth::token_hash(token.as_deref().unwrap_or_default());
    // A key's socket follows only the topics its scopes allow (checked on each subscribe).
    let (user, key_scopes) = match token.as_deref().filter(|token| crate::api_keys::is_api_key(token)) {
        Some(key) => {
            let keys = crate::auth::service::<crate::api_keys::ApiKeys>(&request)?;
            let (user, grant, budget) = keys.authenticate(key).await?;
            budget.spend().map_err(|(_, wait)| ApiError::KeyRateLimited(wait))?;
            (user, Some(Arc::new(grant.scopes)))
        }
        None => (sessions.authenticate(token).await?, None),
    };
    // "Staff must use MFA" holds the socket back too, like every API route but enrolment.
    if sessions.mfa_enrolment_pending(&user, None).await? {
        return Err(ApiError::MfaEnrolmentRequired);
    }
    let scope = if user.role.is_staff() {
        TicketScope::Account
    } else {
        // Live frames for customers are cut to what they may see by the account's field
        // settings, read without waiting: have them cached before the first frame.
        accounts.get(user.account_id).await?;
        sessions.customer_scope(&user).await?
    };
    let settings = socket_settings.get_ref().clone();
    let (outbox, outbox_rx) = mpsc::channel(settings.outbox_frames);
    let hub = hub.into_inner();
    let socket = hub.add_socket(user, scope, &session_hash, outbox).await.ok_or_else(|| ApiError::TooMany {
        code: crate::error::ErrorCode::TooManySockets,
        message: format!(
            "this user already holds {} open sockets on this server; close some (one per tab is enough)",
            settings.max_sockets_per_user
        ),
    })?;
    // The client's bytes pass a guard that ends the connection at a frame header over the limit.
    let guarded: std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>> =
        Box::pin(frame_guard::FrameGuard::new(body, settings.max_frame_bytes));
    let mut guarded = actix_web::dev::Payload::from(guarded);
    let body = <web::Payload as actix_web::FromRequest>::from_request(&request, &mut guarded)
        .into_inner()
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let (response, session, stream) = match actix_ws::handle(&request, body) {
        Ok(upgraded) => upgraded,
        Err(error) => {
            hub.remove_socket(&socket);
            return Err(ApiError::BadRequest {
                code: crate::error::ErrorCode::WebsocketRequired,
                message: format!("this endpoint speaks WebSocket: {error}"),
            });
        }
    };
    let stream = stream
        .max_frame_size(settings.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(settings.max_frame_bytes);
    actix_web::rt::spawn(write_frames(session.clone(), outbox_rx, hub.clock().clone()));
    actix_web::rt::spawn(read_frames(hub, socket, session, stream, settings, key_scopes));
    Ok(response)
}

/// Drains the outbox: everything already queued is handed over before waiting again, so the
/// connection flushes many frames per write.
async fn write_frames(
    mut session: actix_ws::Session,
    mut outbox: mpsc::Receiver<Frame>,
    clock: Arc<dyn switchboard_actors::clock::Clock>,
) {
    while let Some(frame) = outbox.recv().await {
        let mut batch = vec![frame];
        while batch.len() < 256
            && let Ok(frame) = outbox.try_recv()
        {
            batch.push(frame);
        }
        for frame in batch {
            if session.text(&*frame.text).await.is_err() {
                return;
            }
            metrics::counter!("switchboard_ws_frames_out_total").increment(1);
            if frame.committed_ms > 0 {
                let latency = clock.now().as_millisecond() - frame.committed_ms;
                metrics::histogram!("switchboard_ws_push_latency_seconds").record(latency.max(0) as f64 / 1000.0);
            }
        }
    }
}

/// Token bucket for client frames.
struct RateLimit {
    tokens: f64,
    per_sec: f64,
    burst: f64,
    last: Instant,
}

impl RateLimit {
    fn new(per_sec: u32) -> RateLimit {
        let per_sec = f64::from(per_sec.max(1));
        RateLimit { tokens: per_sec * 4.0, per_sec, burst: per_sec * 4.0, last: Instant::now() }
    }
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Refused frames in a row after which a flooding client is closed.
const FLOOD_CLOSE_AFTER: u32 = 500;

async fn read_frames(
    hub: Arc<Hub>,
    socket: Arc<SocketEntry>,
    session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    settings: SocketSettings,
    key_scopes: Option<Arc<BTreeSet<Scope>>>,
) {
    // The agent's session starts here, once the upgrade has answered: the handshake costs one
    // query (the session's), and in a reconnect storm thousands of activations (each reading
    // the agent's load) do not hold up the upgrades. Boxed, so the idle task stays small.
    if socket.staff()
        && let Some(agents) = hub.agents()
    {
        Box::pin(agents.deliver(&socket.user, AgentMsg::Connected(socket.id))).await;
    }
    let mut ping = tokio::time::interval(settings.ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut limit = RateLimit::new(settings.max_frames_per_sec);
    let mut refused_in_a_row = 0u32;
    let close = loop {
        tokio::select! {
            message = stream.recv() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        metrics::counter!("switchboard_ws_frames_in_total").increment(1);
                        if !limit.allow() {
                            refused_in_a_row += 1;
                            if refused_in_a_row == 1 {
                                hub.send_to(&socket, error(ErrorCode::RateLimited, "too many frames; slow down"));
                            }
                            if refused_in_a_row >= FLOOD_CLOSE_AFTER {
                                break Some(CloseReason { code: CloseCode::Policy, description: Some("flooding".to_owned()) });
                            }
                            continue;
                        }
                        refused_in_a_row = 0;
                        // Boxed: the subscribe paths hold store queries, and inline they would
                        // make every idle socket's task as large as its busiest moment.
                        Box::pin(handle_text(&hub, &socket, key_scopes.as_deref(), &text)).await;
                    }
                    Some(Ok(AggregatedMessage::Binary(_))) => hub.send_to(&socket, error(ErrorCode::InvalidFrame, "send JSON text frames")),
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        let mut session = session.clone();
                        let _ = session.pong(&bytes).await;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                    Some(Err(error)) => {
                        // A frame over the size limit or broken framing: the stream cannot go on.
                        tracing::debug!(socket = socket.id, %error, "closing a socket after a protocol error");
                        break Some(CloseReason { code: CloseCode::Size, description: Some(error.to_string()) });
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > settings.client_timeout {
                    break Some(CloseReason { code: CloseCode::Away, description: Some("heartbeat timeout".to_owned()) });
                }
                // A client heard from within half the interval is alive: pinging it is wasted
                // work (with thousands of idle sockets, heartbeats are most of what the hub does).
                // Half, because a silent client's last word is the pong to the previous ping.
                if last_heard.elapsed() >= settings.ping_interval / 2 {
                    let mut session = session.clone();
                    if session.ping(b"").await.is_err() {
                        break None;
                    }
                }
                // A session ends only once offline with no socket, so it needs telling again
                // only if it is not there (it ended before this socket's `Connected` reached it).
                if socket.staff() && let Some(agents) = hub.agents() && !agents.running(socket.user.id) {
                    Box::pin(agents.deliver(&socket.user, AgentMsg::Heartbeat(socket.id))).await;
                }
            }
            _ = socket.kill.notified() => {
                break Some(if socket.session_ended() {
                    CloseReason { code: CloseCode::Other(SESSION_ENDED), description: Some("session ended".to_owned()) }
                } else {
                    CloseReason { code: CloseCode::Again, description: Some("too slow: frames were not read".to_owned()) }
                });
            }
        }
    };
    hub.remove_socket(&socket);
    if let Some(agents) = hub.agents() {
        agents.send(socket.user.id, AgentMsg::Disconnected(socket.id));
    }
    // A client that stopped reading may never take the close frame: do not wait for it.
    let _ = tokio::time::timeout(Duration::from_millis(200), Box::pin(session.close(close))).await;
}

/// `key_scopes`: the scopes of the API key the socket was opened with (`None` for a session).
async fn handle_text(hub: &Arc<Hub>, socket: &Arc<SocketEntry>, key_scopes: Option<&BTreeSet<Scope>>, text: &str) {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(problem) => {
            hub.send_to(
                socket,
                error(ErrorCode::InvalidFrame, &format!("not a frame this server understands: {problem}")),
            );
            return;
        }
    };
    let agent = |message: AgentMsg| {
        if let Some(agents) = hub.agents() {
            agents.send(socket.user.id, message);
        }
    };
    let needed = match &frame {
        ClientFrame::Subscribe { topic, .. } => Some(crate::api_keys::scopes::topic_needs(topic)),
        ClientFrame::Presence { .. } | ClientFrame::Typing { .. } | ClientFrame::Viewing { .. } => {
            Some(Scope::TicketsWrite)
        }
        ClientFrame::Ping | ClientFrame::Unsubscribe { .. } => None,
    };
    if let (Some(held), Some(needed)) = (key_scopes, needed)
        && !switchboard_actors::api_keys::allows(held, needed)
    {
        hub.send_to(socket, error(ErrorCode::InsufficientScope, &ApiError::InsufficientScope(needed).to_string()));
        return;
    }
    match frame {
        ClientFrame::Ping => hub.send_to(socket, Frame::control(&ControlFrame::Pong { sent_at: hub.now() })),
        ClientFrame::Subscribe { topic, after } => {
            agent(AgentMsg::Activity);
            let result = match Topic::parse(&topic) {
                Some(Topic::Ticket(id)) => hub.subscribe_ticket(socket, id, after).await,
                Some(Topic::Queue) => hub.subscribe_queue(socket, after, false).await,
                Some(Topic::QueueAll) => hub.subscribe_queue(socket, after, true).await,
                Some(Topic::Presence) => hub.subscribe_presence(socket),
                Some(Topic::View(id)) => hub.subscribe_view(socket, id, after).await,
                Some(Topic::Notifications) => hub.subscribe_notifications(socket, after),
                Some(Topic::Dashboard) => hub.subscribe_dashboard(socket, after),
                None => Err(error(
                    ErrorCode::UnknownTopic,
                    "topics are `ticket:<id>`, `queue`, `presence`, `view:<id>`, `notifications` and `dashboard`",
                )),
            };
            if let Err(frame) = result {
                hub.send_to(socket, frame);
            }
        }
        ClientFrame::Unsubscribe { topic } => match Topic::parse(&topic) {
            Some(topic) if hub.unsubscribe(socket, topic) => {
                hub.send_to(
                    socket,
                    Frame::control(&ControlFrame::Ack { topic: &topic.name(), seq: None, cursor: None }),
                );
            }
            _ => hub.send_to(socket, error(ErrorCode::NotSubscribed, "this socket does not follow that topic")),
        },
        ClientFrame::Presence { status } if socket.staff() => agent(AgentMsg::SetStatus(status)),
        // Presence on a ticket is announced to its followers: only for a ticket of the agent's
        // own account, or one agent could write into every account's ticket pages.
        ClientFrame::Typing { ticket_id, on } if socket.staff() => {
            if Box::pin(hub.may_follow(socket, ticket_id)).await {
                agent(AgentMsg::Typing(ticket_id, on));
            } else {
                hub.send_to(socket, error(ErrorCode::ForbiddenTopic, "no such ticket, or not yours to follow"));
            }
        }
        ClientFrame::Viewing { ticket_id } if socket.staff() => match ticket_id {
            Some(id) if !Box::pin(hub.may_follow(socket, id)).await => {
                hub.send_to(socket, error(ErrorCode::ForbiddenTopic, "no such ticket, or not yours to follow"));
            }
            _ => agent(AgentMsg::Viewing(ticket_id)),
        },
        ClientFrame::Presence { .. } | ClientFrame::Typing { .. } | ClientFrame::Viewing { .. } => {
            hub.send_to(socket, error(ErrorCode::Forbidden, "presence is for agents"));
        }
    }
}
