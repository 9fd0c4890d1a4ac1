//! The registry on a toy kind: each actor appends what it is told to a log it saves to an
//! in-memory "store" after every message, so a lost, duplicated or reordered message shows.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use super::*;

#[derive(Debug, thiserror::Error)]
enum ToyError {
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

enum ToyMsg {
    Append(u32),
    /// Appends, then asks to passivate.
    AppendThenStop(u32),
    Log(oneshot::Sender<Vec<u32>>),
    /// Panics after a pause, so requests can queue behind it.
    Crash(oneshot::Sender<()>),
}

#[derive(Default)]
struct Toy {
    /// How long loading from the "store" takes.
    load_time: Duration,
    /// How long handling one message takes.
    handle_time: Duration,
    saved: Mutex<HashMap<u32, Vec<u32>>>,
    loads: AtomicUsize,
    starts: AtomicUsize,
    restarts: AtomicUsize,
}

impl Toy {
    fn saved(&self, key: u32) -> Vec<u32> {
        self.saved.lock().map(|saved| saved.get(&key).cloned().unwrap_or_default()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ActorKind for Toy {
    type Key = u32;
    type Seed = ();
    type Loaded = Vec<u32>;
    type Msg = ToyMsg;
    type State = (u32, Vec<u32>);
    type Error = ToyError;
    const NAME: &'static str = "toy";

    async fn load(&self, key: &u32, _seed: &(), why: Activation) -> Result<Vec<u32>, ToyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if why == Activation::Restart {
            self.restarts.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(self.load_time).await;
        Ok(self.saved(*key))
    }

    async fn start(
        &self,
        _myself: &Myself<ToyMsg>,
        key: &u32,
        _seed: (),
        loaded: Vec<u32>,
    ) -> Result<Self::State, ToyError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        Ok((*key, loaded))
    }

    async fn handle(&self, _myself: &Myself<ToyMsg>, state: &mut Self::State, message: ToyMsg) -> Next {
        let (key, log) = state;
        let next = match message {
            ToyMsg::Append(value) => {
                log.push(value);
                Next::Continue
            }
            ToyMsg::AppendThenStop(value) => {
                log.push(value);
                Next::Stop
            }
            ToyMsg::Log(reply) => {
                let _ = reply.send(log.clone());
                Next::Continue
            }
            ToyMsg::Crash(_in_flight) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!("crash requested for toy {key}")
            }
        };
        // Senders interleave with the actor's handling.
        tokio::time::sleep(self.handle_time).await;
        if let Ok(mut saved) = self.saved.lock() {
            saved.insert(*key, log.clone());
        }
        next
    }
}

async fn registry(idle_timeout: Option<Duration>) -> Registry<Toy> {
    // Loads slow enough for concurrent first uses to overlap.
    registry_of(Toy { load_time: Duration::from_millis(20), ..Toy::default() }, idle_timeout).await
}

async fn registry_of(toy: Toy, idle_timeout: Option<Duration>) -> Registry<Toy> {
    let settings = RegistrySettings { idle_timeout, call_timeout: Some(Duration::from_secs(5)) };
    Registry::start(toy, settings).await.expect("registry starts")
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_activate_one_actor() {
    let toys = registry(None).await;
    let asks = (0..20).map(|_| {
        let toys = toys.clone();
        tokio::spawn(async move { toys.ask(&7, &(), ToyMsg::Log).await })
    });
    for ask in asks {
        assert_eq!(ask.await.expect("joined").expect("answered"), Vec::<u32>::new());
    }
    assert_eq!(toys.kind().starts.load(Ordering::SeqCst), 1, "one actor for the key");
    assert_eq!(toys.active(), 1);
    let first = toys.running(&7);
    toys.tell(&7, &(), ToyMsg::Append(1)).await.expect("told");
    assert_eq!(toys.running(&7), first, "a live actor is reused");
    toys.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_actor_passivates_and_comes_back_with_its_state() {
    let toys = registry(Some(Duration::from_millis(100))).await;
    toys.tell(&1, &(), ToyMsg::Append(1)).await.expect("told");
    toys.tell(&1, &(), ToyMsg::Append(2)).await.expect("told");
    wait_until("the idle actor stopped", || toys.active() == 0).await;
    assert_eq!(toys.kind().saved(1), vec![1, 2]);
    toys.tell(&1, &(), ToyMsg::Append(3)).await.expect("told");
    assert_eq!(toys.ask(&1, &(), ToyMsg::Log).await.expect("answered"), vec![1, 2, 3]);
    assert_eq!(toys.kind().starts.load(Ordering::SeqCst), 2, "activated again from the store");
    toys.shutdown().await;
}

/// Messages sent while the actor is passivating are either queued ahead of its `Passivate` (and
/// handled by it) or go to a fresh actor that starts after it stopped: none lost, none reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_passivating_are_neither_lost_nor_reordered() {
    // Fast loads and slow handling: a successor that did not wait for its predecessor to drain
    // would start from a log the predecessor is still appending to.
    let toy = Toy { handle_time: Duration::from_micros(300), ..Toy::default() };
    let toys = registry_of(toy, None).await;
    let mut expected = Vec::new();
    for round in 0..20u32 {
        let stop_at = round * 100;
        toys.tell(&3, &(), ToyMsg::AppendThenStop(stop_at)).await.expect("told");
        expected.push(stop_at);
        // Varied pauses, so what follows lands before, during and after the actor's leaving.
        tokio::time::sleep(Duration::from_micros(u64::from(round % 5) * 400)).await;
        for value in stop_at + 1..stop_at + 30 {
            toys.tell(&3, &(), ToyMsg::Append(value)).await.expect("told");
            expected.push(value);
        }
    }
    let log = toys.ask(&3, &(), ToyMsg::Log).await.expect("answered");
    assert_eq!(log, expected);
    assert!(toys.kind().starts.load(Ordering::SeqCst) > 1, "the actor did passivate on the way");
    toys.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_actor_is_restarted_and_queued_requests_reach_its_successor() {
    let toys = registry(None).await;
    toys.tell(&5, &(), ToyMsg::Append(1)).await.expect("told");
    let crashing = {
        let toys = toys.clone();
        tokio::spawn(async move { toys.ask(&5, &(), ToyMsg::Crash).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    // Queued behind the crash: never handled by the failed actor, so it is sent again.
    let queued = toys.ask(&5, &(), ToyMsg::Log).await;
    let crashed = crashing.await.expect("joined");
    assert!(matches!(crashed, Err(ToyError::Delivery(DeliveryError::Crashed))), "in flight: {crashed:?}");
    assert_eq!(queued.expect("answered by the successor"), vec![1]);

    wait_until("the supervisor restarted it", || toys.kind().restarts.load(Ordering::SeqCst) == 1).await;
    wait_until("the restarted actor is live", || toys.active() == 1).await;
    let before = toys.running(&5);
    toys.tell(&5, &(), ToyMsg::Append(2)).await.expect("told");
    assert_eq!(toys.ask(&5, &(), ToyMsg::Log).await.expect("answered"), vec![1, 2]);
    assert_eq!(toys.running(&5), before);
    // Other keys are untouched.
    assert_eq!(toys.ask(&6, &(), ToyMsg::Log).await.expect("answered"), Vec::<u32>::new());
    toys.shutdown().await;
}
