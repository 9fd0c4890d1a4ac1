//! The registry of keyed actors, written once for every kind (tickets, WhatsApp conversations,
//! agent sessions): one actor per key on this node, activated on first use from the store,
//! passivated when idle without losing what was queued for it, restarted under supervision.
//!
//! A kind says only what is particular to it ([`ActorKind`]: how to load and start an actor for a
//! key, how it handles a message); [`Registry`] does the rest:
//!
//! - **Activation.** A caller that finds no live actor loads what it starts from (in its own task,
//!   so cold activations of different keys run in parallel), then asks the registry's supervisor
//!   to spawn it; spawns are serialised there, so a key never has two live actors on this node.
//! - **Delivery.** Messages are sent while holding the key's entry. An `ask` carries a node-unique
//!   request id, and the actor records the one it is handling: when a crash drops the reply, the
//!   caller knows whether its request was in flight (an error) or still queued, never handled
//!   (sent again, to the restarted actor).
//! - **Passivation.** An actor idle for the kind's timeout (or whose handler says
//!   [`Next::Stop`]) marks itself stopping, leaves the live map, and sends itself `Passivate`:
//!   senders enqueue while holding its entry, so everything sent to it so far is ahead of
//!   `Passivate` and is handled; a message arriving after that finds no live actor and activates
//!   a fresh one, which waits for the stopping one to finish first (so it loads what the old one
//!   saved and handles messages after the old one's).
//! - **Supervision.** Every actor is linked to the registry's supervisor, which restarts one that
//!   failed (reloading it from the store) unless it was stopping or a caller already replaced it.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, MessagingErr, SupervisionEvent};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why a message got no answer; each kind's error type says what it means to its callers.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// The actor failed while handling the message (or kept failing before it could take it).
    #[error("the actor failed while handling the message; it was restarted")]
    Crashed,
    #[error("the actor did not answer in time")]
    Timeout,
    /// The actor could not be spawned.
    #[error("the actor could not start: {0}")]
    Unavailable(String),
}

/// Why an actor is being started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// A message arrived for a key with no live actor.
    FirstUse,
    /// The supervisor replaces an actor that failed.
    Restart,
}

/// What the actor does after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Passivate: leave the registry, handle what is already queued, then stop.
    Stop,
}

/// One kind of keyed actor: everything the registry needs to know about it.
#[async_trait::async_trait]
pub trait ActorKind: Send + Sync + Sized + 'static {
    type Key: Clone + Eq + Hash + Debug + Send + Sync + 'static;
    /// What a caller knows beyond the key that starting the actor needs (the customer a
    /// conversation serves, the agent of a session); kept to restart the actor.
    type Seed: Clone + Send + Sync + 'static;
    /// What [`load`](Self::load) read from the store for [`start`](Self::start).
    type Loaded: Send + 'static;
    type Msg: Send + 'static;
    type State: Send + 'static;
    type Error: std::error::Error + From<DeliveryError> + Send + Sync + 'static;

    /// Names the kind in logs and metrics (`switchboard_{NAME}_actor_restarts_total`).
    const NAME: &'static str;

    /// Reads what the actor starts from. Runs outside the supervisor on first use, inside the
    /// actor's start on a restart.
    async fn load(&self, key: &Self::Key, seed: &Self::Seed, why: Activation) -> Result<Self::Loaded, Self::Error>;

    /// The actor's state, built in its `pre_start`.
    async fn start(
        &self,
        myself: &Myself<Self::Msg>,
        key: &Self::Key,
        seed: Self::Seed,
        loaded: Self::Loaded,
    ) -> Result<Self::State, Self::Error>;

    /// Handles one message. A panic here fails the actor; its supervisor restarts it.
    async fn handle(&self, myself: &Myself<Self::Msg>, state: &mut Self::State, message: Self::Msg) -> Next;

    /// Called once the actor stopped cleanly (passivated or shut down), not after a failure.
    fn stopped(&self, _state: &mut Self::State) {}

    /// Whether `message` counts as use, postponing passivation (a reload request does not).
    fn is_activity(_message: &Self::Msg) -> bool {
        true
    }
}

#[derive(Clone, Debug)]
pub struct RegistrySettings {
    /// An actor idle this long stops; the next message activates it again from the store.
    /// `None`: actors stop only when their handler says so.
    pub idle_timeout: Option<Duration>,
    /// How long an `ask` waits for the answer; `None` waits as long as the actor takes.
    pub call_timeout: Option<Duration>,
}

/// How often a message is sent again after finding its actor gone (passivated or failed) before
/// it was enqueued; such a message never reached a handler, so sending it again is safe.
const SEND_ATTEMPTS: usize = 3;

/// Longest wait for a stopping predecessor (or a failed actor) to finish before its successor
/// starts anyway.
const PREDECESSOR_WAIT: Duration = Duration::from_secs(10);

/// Source of request ids, unique on this node; 0 marks a message nobody waits for.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// What a keyed actor's mailbox carries.
enum Envelope<M> {
    Deliver {
        request: u64,
        message: M,
    },
    IdleCheck,
    /// Sent by the actor to itself once it left the live map; everything queued before it is
    /// still handled.
    Passivate,
}

/// The actor's handle on itself, for messages it schedules to itself.
pub struct Myself<M: Send + 'static> {
    actor: ActorRef<Envelope<M>>,
}

impl<M: Send + 'static> Myself<M> {
    pub fn id(&self) -> ActorId {
        self.actor.get_id()
    }

    /// Sends `make()` to this actor after `delay` (dropped if it stopped by then).
    pub fn send_after(&self, delay: Duration, make: impl FnOnce() -> M + Send + 'static) -> JoinHandle<()> {
        let actor = self.actor.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = actor.send_message(Envelope::Deliver { request: 0, message: make() });
        })
    }
}

/// A live actor and the id of the request it is handling.
struct Live<M: Send + 'static> {
    actor: ActorRef<Envelope<M>>,
    handling: Arc<AtomicU64>,
}

impl<M: Send + 'static> Clone for Live<M> {
    fn clone(&self) -> Self {
        Live { actor: self.actor.clone(), handling: self.handling.clone() }
    }
}

impl<M: Send + 'static> Live<M> {
    fn alive(&self) -> bool {
        matches!(self.actor.get_status(), ActorStatus::Starting | ActorStatus::Running)
    }
}

struct Inner<A: ActorKind> {
    kind: A,
    settings: RegistrySettings,
    live: DashMap<A::Key, Live<A::Msg>>,
    /// Actors that left `live` to passivate and are finishing what was queued for them.
    stopping: DashMap<A::Key, ActorCell>,
}

impl<A: ActorKind> Inner<A> {
    fn live(&self, key: &A::Key) -> Option<Live<A::Msg>> {
        self.live.get(key).filter(|entry| entry.alive()).map(|entry| entry.clone())
    }

    /// Removes `actor` from both maps where it is still the one registered for `key`.
    fn forget(&self, key: &A::Key, actor: ActorId) {
        self.live.remove_if(key, |_, registered| registered.actor.get_id() == actor);
        self.stopping.remove_if(key, |_, cell| cell.get_id() == actor);
    }
}

/// The node's actors of one kind, by key.
pub struct Registry<A: ActorKind> {
    inner: Arc<Inner<A>>,
    supervisor: ActorRef<SupervisorMsg<A>>,
}

impl<A: ActorKind> Clone for Registry<A> {
    fn clone(&self) -> Self {
        Registry { inner: self.inner.clone(), supervisor: self.supervisor.clone() }
    }
}

impl<A: ActorKind> Registry<A> {
    /// Starts the registry's supervisor.
    pub async fn start(kind: A, settings: RegistrySettings) -> Result<Registry<A>, A::Error> {
        let inner = Arc::new(Inner { kind, settings, live: DashMap::new(), stopping: DashMap::new() });
        let (supervisor, _) = Actor::spawn(None, Supervisor(PhantomData), inner.clone())
            .await
            .map_err(|error| DeliveryError::Unavailable(format!("{} supervisor: {error}", A::NAME)))?;
        Ok(Registry { inner, supervisor })
    }

    pub fn kind(&self) -> &A {
        &self.inner.kind
    }

    /// Number of live actors on this node.
    pub fn active(&self) -> usize {
        self.inner.live.len()
    }

    /// The id of the key's live actor, if it runs on this node.
    pub fn running(&self, key: &A::Key) -> Option<ActorId> {
        self.inner.live(key).map(|entry| entry.actor.get_id())
    }

    /// Sends `message` only if the key's actor is live (nothing to do otherwise).
    pub fn tell_if_running(&self, key: &A::Key, message: A::Msg) {
        if let Some(entry) = self.inner.live.get(key).filter(|entry| entry.alive()) {
            let _ = entry.actor.send_message(Envelope::Deliver { request: 0, message });
        }
    }

    /// Sends `message` to the key's actor, activating it if needed; the id of the actor that
    /// took it.
    pub async fn tell(&self, key: &A::Key, seed: &A::Seed, mut message: A::Msg) -> Result<ActorId, A::Error> {
        for _ in 0..SEND_ATTEMPTS {
            let envelope = Envelope::Deliver { request: 0, message };
            let sent = match self.inner.live.get(key).filter(|entry| entry.alive()) {
                // Sent while holding the entry; see the module's passivation note.
                Some(entry) => entry.actor.send_message(envelope).map(|()| entry.actor.get_id()),
                None => Err(MessagingErr::SendErr(envelope)),
            };
            match sent {
                Ok(actor) => return Ok(actor),
                Err(MessagingErr::SendErr(Envelope::Deliver { message: unsent, .. })) => message = unsent,
                Err(_) => return Err(DeliveryError::Crashed.into()),
            }
            self.activate(key, seed).await?;
        }
        Err(DeliveryError::Crashed.into())
    }

    /// Sends the message `request` builds around a reply channel to the key's actor (activating
    /// it if needed) and waits for the answer.
    pub async fn ask<R: Send + 'static>(
        &self,
        key: &A::Key,
        seed: &A::Seed,
        request: impl Fn(oneshot::Sender<R>) -> A::Msg,
    ) -> Result<R, A::Error> {
        for _ in 0..SEND_ATTEMPTS {
            let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
            let (reply, answer) = oneshot::channel();
            let sent = match self.inner.live.get(key).filter(|entry| entry.alive()) {
                // Sent while holding the entry; see the module's passivation note.
                Some(entry) => {
                    let envelope = Envelope::Deliver { request: id, message: request(reply) };
                    entry.actor.send_message(envelope).is_ok().then(|| entry.clone())
                }
                None => None,
            };
            let Some(entry) = sent else {
                self.activate(key, seed).await?;
                continue;
            };
            let answer = match self.inner.settings.call_timeout {
                Some(limit) => match tokio::time::timeout(limit, answer).await {
                    Ok(answer) => answer,
                    Err(_) => return Err(DeliveryError::Timeout.into()),
                },
                None => answer.await,
            };
            return match answer {
                Ok(answer) => Ok(answer),
                // The actor dropped our reply: it failed. If it failed handling this very
                // request, that is the caller's error; if the request was still queued, it was
                // never handled and goes to the restarted actor.
                Err(_) if entry.handling.load(Ordering::SeqCst) == id => Err(DeliveryError::Crashed.into()),
                Err(_) => {
                    // Let the failed actor finish dying before a replacement is looked for.
                    let _ = entry.actor.get_cell().wait(Some(PREDECESSOR_WAIT)).await;
                    self.activate(key, seed).await?;
                    continue;
                }
            };
        }
        Err(DeliveryError::Crashed.into())
    }

    /// Makes sure the key has a live actor.
    pub async fn activate(&self, key: &A::Key, seed: &A::Seed) -> Result<(), A::Error> {
        if self.inner.live(key).is_some() {
            return Ok(());
        }
        // A predecessor still draining its mailbox goes first: its successor loads what it saved.
        if let Some(predecessor) = self.inner.stopping.get(key).map(|cell| cell.clone()) {
            let _ = predecessor.wait(Some(PREDECESSOR_WAIT)).await;
        }
        let loaded = self.inner.kind.load(key, seed, Activation::FirstUse).await?;
        let (reply, answer) = oneshot::channel();
        let activate = SupervisorMsg::Activate { key: key.clone(), seed: seed.clone(), loaded, reply };
        self.supervisor.send_message(activate).map_err(|_| DeliveryError::Crashed)?;
        answer.await.map_err(|_| DeliveryError::Crashed)?
    }

    /// Stops every actor (each finishes the message it is handling) and then the supervisor.
    pub async fn shutdown(&self) {
        let _ = self.supervisor.stop_and_wait(Some("shutdown".to_owned()), Some(PREDECESSOR_WAIT)).await;
    }
}

/// The ractor actor around a kind's state: delivery bookkeeping, idle checks, passivation.
struct Keyed<A>(PhantomData<fn() -> A>);

struct KeyedArgs<A: ActorKind> {
    inner: Arc<Inner<A>>,
    key: A::Key,
    seed: A::Seed,
    /// Loaded by the caller on first use; `None` on a restart, when the actor loads it itself.
    loaded: Option<A::Loaded>,
    handling: Arc<AtomicU64>,
}

struct KeyedState<A: ActorKind> {
    inner: Arc<Inner<A>>,
    key: A::Key,
    state: A::State,
    myself: Myself<A::Msg>,
    handling: Arc<AtomicU64>,
    last_active: Instant,
    idle_check: Option<JoinHandle<()>>,
    leaving: bool,
}

impl<A: ActorKind> KeyedState<A> {
    /// Leaves the live map and queues `Passivate` behind everything already sent. Marked
    /// stopping first, so a caller that no longer finds this actor live waits for it to finish.
    fn leave(&mut self) {
        if std::mem::replace(&mut self.leaving, true) {
            return;
        }
        let actor = &self.myself.actor;
        self.inner.stopping.insert(self.key.clone(), actor.get_cell());
        self.inner.live.remove_if(&self.key, |_, registered| registered.actor.get_id() == actor.get_id());
        let _ = actor.send_message(Envelope::Passivate);
    }
}

impl<A: ActorKind> Actor for Keyed<A> {
    type Msg = Envelope<A::Msg>;
    type State = KeyedState<A>;
    type Arguments = KeyedArgs<A>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: KeyedArgs<A>,
    ) -> Result<KeyedState<A>, ActorProcessingErr> {
        let KeyedArgs { inner, key, seed, loaded, handling } = args;
        let loaded = match loaded {
            Some(loaded) => loaded,
            None => inner.kind.load(&key, &seed, Activation::Restart).await?,
        };
        let myself = Myself { actor: myself };
        let state = inner.kind.start(&myself, &key, seed, loaded).await?;
        Ok(KeyedState {
            inner,
            key,
            state,
            myself,
            handling,
            last_active: Instant::now(),
            idle_check: None,
            leaving: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut KeyedState<A>,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(idle) = state.inner.settings.idle_timeout {
            let every = (idle / 2).max(Duration::from_millis(50));
            state.idle_check = Some(myself.send_interval(every, || Envelope::IdleCheck));
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut KeyedState<A>,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(check) = state.idle_check.take() {
            check.abort();
        }
        state.inner.forget(&state.key, myself.get_id());
        state.inner.kind.stopped(&mut state.state);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut KeyedState<A>,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            Envelope::Deliver { request, message } => {
                if request != 0 {
                    state.handling.store(request, Ordering::SeqCst);
                }
                if A::is_activity(&message) {
                    state.last_active = Instant::now();
                }
                if state.inner.kind.handle(&state.myself, &mut state.state, message).await == Next::Stop {
                    state.leave();
                }
            }
            Envelope::IdleCheck => {
                if let Some(idle) = state.inner.settings.idle_timeout
                    && state.last_active.elapsed() >= idle
                {
                    state.leave();
                }
            }
            Envelope::Passivate => myself.stop(Some("idle".to_owned())),
        }
        Ok(())
    }
}

enum SupervisorMsg<A: ActorKind> {
    Activate { key: A::Key, seed: A::Seed, loaded: A::Loaded, reply: oneshot::Sender<Result<(), A::Error>> },
}

/// The ractor parent of a registry's actors: serialises activations and restarts failures.
struct Supervisor<A>(PhantomData<fn() -> A>);

struct SupervisorState<A: ActorKind> {
    inner: Arc<Inner<A>>,
    /// Which key (and seed) each child serves, to restart the right one.
    children: HashMap<ActorId, (A::Key, A::Seed)>,
}

impl<A: ActorKind> SupervisorState<A> {
    async fn spawn_child(
        &mut self,
        supervisor: &ActorRef<SupervisorMsg<A>>,
        key: A::Key,
        seed: A::Seed,
        loaded: Option<A::Loaded>,
    ) -> Result<(), A::Error> {
        let handling = Arc::new(AtomicU64::new(0));
        let args = KeyedArgs {
            inner: self.inner.clone(),
            key: key.clone(),
            seed: seed.clone(),
            loaded,
            handling: handling.clone(),
        };
        let (actor, _) =
            Actor::spawn_linked(None, Keyed(PhantomData), args, supervisor.get_cell()).await.map_err(|error| {
                tracing::error!(kind = A::NAME, ?key, %error, "actor failed to start");
                DeliveryError::Unavailable(error.to_string())
            })?;
        self.children.insert(actor.get_id(), (key.clone(), seed));
        self.inner.live.insert(key, Live { actor, handling });
        Ok(())
    }
}

impl<A: ActorKind> Actor for Supervisor<A> {
    type Msg = SupervisorMsg<A>;
    type State = SupervisorState<A>;
    type Arguments = Arc<Inner<A>>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        inner: Arc<Inner<A>>,
    ) -> Result<SupervisorState<A>, ActorProcessingErr> {
        Ok(SupervisorState { inner, children: HashMap::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut SupervisorState<A>,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Activate { key, seed, loaded, reply } => {
                // Another caller may have activated it while this one was loading.
                let result = match state.inner.live(&key) {
                    Some(_) => Ok(()),
                    None => state.spawn_child(&myself, key, seed, Some(loaded)).await,
                };
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorState<A>,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some((key, _)) = state.children.remove(&cell.get_id()) {
                    state.inner.forget(&key, cell.get_id());
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some((key, seed)) = state.children.remove(&cell.get_id()) else { return Ok(()) };
                let was_stopping =
                    state.inner.stopping.get(&key).is_some_and(|stopping| stopping.get_id() == cell.get_id());
                state.inner.forget(&key, cell.get_id());
                // A passivating actor is not brought back (the next message activates one), nor
                // one a caller already replaced.
                if was_stopping || state.inner.live(&key).is_some() {
                    tracing::error!(kind = A::NAME, ?key, %error, "actor failed");
                    return Ok(());
                }
                metrics::counter!(format!("switchboard_{}_actor_restarts_total", A::NAME)).increment(1);
                tracing::error!(kind = A::NAME, ?key, %error, "actor failed; restarting from the store");
                if let Err(error) = state.spawn_child(&myself, key.clone(), seed, None).await {
                    // It will be activated again by the next message.
                    tracing::error!(kind = A::NAME, ?key, %error, "restart failed");
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
