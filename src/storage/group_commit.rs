//! The group-commit writer: ticket writes from many actors (and the small writes that go with
//! them: WhatsApp conversation saves, first-contact customers, webhook inbox appends) queue here and are written by one
//! task in shared transactions. A batch closes when the queue is empty (after an optional short
//! linger while under load) or holds `max_batch` writes; every caller is answered only after its
//! batch committed. If a batch fails, its writes are retried one per transaction, so one bad
//! write (a seq conflict) fails alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use switchboard_actors::domain::Channel;
use switchboard_actors::store::{NewUser, StoreError, StoreResult, TicketCommit, TicketIdentity, TimerChange};
use switchboard_actors::whatsapp::Conversation;
use tokio::sync::oneshot;

#[derive(Debug)]
pub enum WriteOp {
    Create(TicketCommit),
    Commit(TicketCommit),
    /// Insert (id 0) or update a WhatsApp conversation; one per inbound message, so batching it
    /// with the ticket writes halves the transactions of WhatsApp ingest.
    SaveConversation {
        conversation: Box<Conversation>,
        /// Timers of this conversation set in the same transaction: `(name, due)`.
        timers: Vec<(String, Timestamp)>,
    },
    /// A customer's first contact: the user and their addresses on one channel.
    CreateCustomer {
        user: Box<NewUser>,
        channel: Channel,
        addresses: Vec<String>,
        at: Timestamp,
    },
    /// A received webhook, stored before it is acknowledged.
    InboxAppend {
        body: String,
        received_at: Timestamp,
        claimed_until: Option<Timestamp>,
        /// Stored beside its own processing, whose writes are on their way: rides along with
        /// them ([`WriteOp::rides_along`]) instead of taking an fsync'd transaction of its own.
        beside_processing: bool,
    },
    /// A durable timer set or cleared outside a ticket write (WhatsApp window timers).
    Timer(TimerChange),
    /// A stored webhook was processed (or could never be: `error`).
    InboxDone {
        id: i64,
        error: Option<String>,
        at: Timestamp,
    },
    /// The reports projection's pass: its measure changes, the aggregates' move and the cursor's
    /// from `from` to `to` (`Conflict` when the cursor is elsewhere). Through the writer so that
    /// on SQLite it is written on the writer's thread between two batches, without holding the
    /// one write lock across sqlx's round trips while webhooks wait (issue 16, T3's tail).
    RecordMeasures {
        from: i64,
        to: i64,
        write: Box<switchboard_actors::reports::MeasureWrite>,
    },
    /// A log follower's pass that wrote nothing else (no notification, no webhook delivery):
    /// its cursor moves from `from` to `to`, riding along with the next batch instead of taking
    /// a transaction (an fsync, and on SQLite the one write lock) of its own every pass.
    /// Answers [`WriteOutcome::Exists`], not an error, when the cursor is elsewhere, so another
    /// node's pass never fails the batch it rode in.
    MoveCursor {
        cursor: Cursor,
        from: i64,
        to: i64,
    },
    /// Rebuilds up to `limit` (all with `None`) of the full-text bands new messages marked
    /// pending (migration 0042); answers [`WriteOutcome::Indexed`] with how many it rebuilt.
    IndexSearch {
        limit: Option<usize>,
        /// The background pass's: nobody waits on it, so it rides along with the next batch. A
        /// search about to read the index does not.
        background: bool,
    },
}

/// The event-log followers whose cursors [`WriteOp::MoveCursor`] moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Notifier,
    Webhooks,
}

impl Cursor {
    /// The cursor's one-row table.
    pub fn table(self) -> &'static str {
        match self {
            Cursor::Notifier => "notifier_cursor",
            Cursor::Webhooks => "webhook_cursor",
        }
    }

    /// Whose cursor it is, for the conflict's message.
    pub fn whose(self) -> &'static str {
        match self {
            Cursor::Notifier => "the notifier's",
            Cursor::Webhooks => "the webhook dispatcher's",
        }
    }
}

impl WriteOp {
    /// The ticket write in this op, if it is one.
    pub fn ticket_commit(&self) -> Option<&TicketCommit> {
        match self {
            WriteOp::Create(commit) | WriteOp::Commit(commit) => Some(commit),
            WriteOp::SaveConversation { .. }
            | WriteOp::CreateCustomer { .. }
            | WriteOp::InboxAppend { .. }
            | WriteOp::InboxDone { .. }
            | WriteOp::RecordMeasures { .. }
            | WriteOp::IndexSearch { .. }
            | WriteOp::MoveCursor { .. }
            | WriteOp::Timer(_) => None,
        }
    }

    /// A write nobody is waiting on to go on: it does not earn a transaction (an fsync) of its
    /// own while others are coming, but joins the next batch, or is written alone after
    /// [`GroupCommitSettings::ride_along_wait`] of quiet. A processed webhook's mark is one: the message it carried
    /// is already in front of the agents, and re-processing an unmarked one is harmless (messages
    /// are idempotent by wamid; the entry's claim outlasts the wait). One fsync'd batch fewer per
    /// inbound WhatsApp message on the writer the next webhook waits for (issue 16, T3).
    ///
    /// A webhook stored while it is being processed rides along too: its processing's writes
    /// (the message, the conversation) follow within a millisecond, and the webhook is answered
    /// only once both committed, so the two share one transaction instead of two.
    fn rides_along(&self) -> bool {
        matches!(
            self,
            WriteOp::InboxDone { .. }
                | WriteOp::InboxAppend { beside_processing: true, .. }
                | WriteOp::IndexSearch { background: true, .. }
                | WriteOp::MoveCursor { .. }
        )
    }
}

/// A batch's search-index requests ([`WriteOp::IndexSearch`]): noted as the batch's ops are
/// written, rebuilt together after its messages (so the rebuild covers them), each answered
/// with the bands rebuilt.
#[derive(Default)]
pub struct IndexRequests(Vec<(usize, Option<usize>)>);

impl IndexRequests {
    /// Notes a request whose outcome comes next in `outcomes`, answered later by [`Self::answer`].
    pub fn add(&mut self, outcomes: &mut Vec<WriteOutcome>, limit: Option<usize>) {
        self.0.push((outcomes.len(), limit));
        outcomes.push(WriteOutcome::Indexed(0));
    }

    /// The bands the batch may rebuild: `None` when nothing asked, `Some(None)` for all.
    pub fn limit(&self) -> Option<Option<usize>> {
        self.0.iter().map(|(_, limit)| *limit).reduce(|all, limit| all.zip(limit).map(|(all, limit)| all.max(limit)))
    }

    pub fn answer(&self, outcomes: &mut [WriteOutcome], rebuilt: usize) {
        for (at, _) in &self.0 {
            outcomes[*at] = WriteOutcome::Indexed(rebuilt);
        }
    }
}

fn only_rides_along(batch: &[Pending]) -> bool {
    batch.iter().all(|pending| pending.op.rides_along())
}

/// Whether a batch had company, so the next one lingers for more: writes that rode along do
/// not count (they waited for company, and would have every batch linger).
fn under_load(batch: &[Pending]) -> bool {
    batch.iter().filter(|pending| !pending.op.rides_along()).nth(1).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Created(TicketIdentity),
    Committed,
    /// The row id of a saved conversation or inbox entry.
    Saved(i64),
    /// Nothing written: the row was there already (a customer created concurrently).
    Exists,
    /// Full-text bands rebuilt.
    Indexed(usize),
}

/// A backend that can apply several writes in one transaction.
#[async_trait::async_trait]
pub trait BatchWriter: Send + Sync + 'static {
    /// Applies all of `ops` in one transaction and commits it; all or nothing.
    async fn write_batch(&self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>>;
}

/// A backend whose batches are written synchronously on the writer's own thread (SQLite).
pub trait BlockingBatchWriter: Send + 'static {
    /// Applies all of `ops` in one transaction and commits it; all or nothing.
    fn write_batch(&mut self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>>;
}

#[derive(Clone, Debug)]
pub struct GroupCommitSettings {
    /// Most writes in one transaction.
    pub max_batch: usize,
    /// While the previous batch had company, wait up to this long for more writes before
    /// committing: fewer, larger transactions under load, no added latency when idle.
    pub linger: Duration,
    /// Writes that may wait for the writer before callers are slowed down.
    pub queue: usize,
    /// Independent writer tasks, each with its own transactions. A ticket's writes always take the
    /// same lane (its actor already orders them), so lanes only add parallelism between tickets:
    /// worth it on PostgreSQL, pointless on SQLite's single writer.
    pub lanes: usize,
    /// The longest a batch of only writes that ride along ([`WriteOp::rides_along`]) waits for
    /// company before it is written alone.
    pub ride_along_wait: Duration,
}

impl Default for GroupCommitSettings {
    fn default() -> Self {
        GroupCommitSettings {
            max_batch: 512,
            linger: Duration::from_micros(300),
            queue: 65_536,
            lanes: 1,
            ride_along_wait: Duration::from_millis(25),
        }
    }
}

struct Pending {
    op: WriteOp,
    reply: oneshot::Sender<StoreResult<WriteOutcome>>,
}

/// The handle writers submit through; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    lanes: Arc<[flume::Sender<Pending>]>,
}

impl GroupCommit {
    /// Writes batches from `settings.lanes` tasks of the async runtime (PostgreSQL).
    pub fn start(writer: Arc<dyn BatchWriter>, settings: GroupCommitSettings) -> GroupCommit {
        let lanes = (0..settings.lanes.max(1))
            .map(|_| {
                let (sender, receiver) = flume::bounded(settings.queue);
                tokio::spawn(run(writer.clone(), receiver, settings.clone()));
                sender
            })
            .collect();
        GroupCommit { lanes }
    }

    /// Writes batches on one dedicated thread that owns `writer` (SQLite has one writer anyway).
    /// The thread ends once every handle is dropped.
    pub fn start_on_thread(
        writer: impl BlockingBatchWriter,
        settings: GroupCommitSettings,
    ) -> std::io::Result<GroupCommit> {
        let (sender, receiver) = flume::bounded(settings.queue);
        std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || run_on_thread(writer, receiver, settings))?;
        Ok(GroupCommit { lanes: Arc::new([sender]) })
    }

    /// Queues `op` and waits until the transaction holding it committed (or failed).
    pub async fn submit(&self, mut op: WriteOp) -> StoreResult<WriteOutcome> {
        if let WriteOp::InboxAppend { beside_processing, .. } = &mut op
            && self.lanes.len() > 1
        {
            // The processing's writes go to their tickets' lanes, seldom this one: waiting for
            // company here would only hold the answer back.
            *beside_processing = false;
        }
        let lane = match &op {
            WriteOp::Commit(commit) => commit.ticket.id.unsigned_abs() as usize % self.lanes.len(),
            // New tickets have no id yet and no earlier write to stay behind.
            WriteOp::Create(commit) => {
                commit.events.first().map_or(0, |event| event.at.subsec_nanosecond() as usize) % self.lanes.len()
            }
            // A customer's conversation saves stay in order on one lane (its actor awaits each).
            WriteOp::SaveConversation { conversation, .. } => {
                conversation.customer_id.unsigned_abs() as usize % self.lanes.len()
            }
            WriteOp::CreateCustomer { at, .. } => at.subsec_nanosecond() as usize % self.lanes.len(),
            WriteOp::InboxAppend { received_at, .. } => received_at.subsec_nanosecond() as usize % self.lanes.len(),
            WriteOp::InboxDone { id, .. } => id.unsigned_abs() as usize % self.lanes.len(),
            // One owner's timer changes stay in order on one lane.
            WriteOp::Timer(change) => change.owner.id.unsigned_abs() as usize % self.lanes.len(),
            // One pass at a time moves the cursor: any lane keeps them in order.
            WriteOp::RecordMeasures { .. } => 0,
            WriteOp::IndexSearch { .. } => 0,
            // One follower's passes are one at a time: any lane keeps them in order.
            WriteOp::MoveCursor { .. } => 0,
        };
        let (reply, answer) = oneshot::channel();
        self.lanes[lane]
            .send_async(Pending { op, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".to_owned()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the writer stopped before committing".to_owned()))?
    }
}

/// Takes what is already queued behind `first`, up to `max_batch` writes.
fn take_queued(receiver: &flume::Receiver<Pending>, batch: &mut Vec<Pending>, max_batch: usize) {
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
}

/// Adds the writes that arrive before `until` to `batch` while `wanted` says it wants more.
async fn gather(
    receiver: &flume::Receiver<Pending>,
    batch: &mut Vec<Pending>,
    max_batch: usize,
    until: Instant,
    wanted: impl Fn(&[Pending]) -> bool,
) {
    while wanted(batch) && batch.len() < max_batch {
        match tokio::time::timeout_at(until.into(), receiver.recv_async()).await {
            Ok(Ok(pending)) => {
                batch.push(pending);
                take_queued(receiver, batch, max_batch);
            }
            _ => break,
        }
    }
}

/// [`gather`] on the writer's own thread.
fn gather_blocking(
    receiver: &flume::Receiver<Pending>,
    batch: &mut Vec<Pending>,
    max_batch: usize,
    until: Instant,
    wanted: impl Fn(&[Pending]) -> bool,
) {
    while wanted(batch) && batch.len() < max_batch {
        match receiver.recv_deadline(until) {
            Ok(pending) => {
                batch.push(pending);
                take_queued(receiver, batch, max_batch);
            }
            Err(_) => break,
        }
    }
}

async fn run(writer: Arc<dyn BatchWriter>, receiver: flume::Receiver<Pending>, settings: GroupCommitSettings) {
    let mut busy = false;
    while let Ok(first) = receiver.recv_async().await {
        let mut batch = vec![first];
        let deadline = Instant::now() + settings.linger;
        take_queued(&receiver, &mut batch, settings.max_batch);
        gather(&receiver, &mut batch, settings.max_batch, deadline, |_| busy).await;
        gather(&receiver, &mut batch, settings.max_batch, Instant::now() + settings.ride_along_wait, only_rides_along)
            .await;
        busy = under_load(&batch);
        let started = Instant::now();
        let (mut ops, replies) = split(batch);
        let result = writer.write_batch(&mut ops).await;
        if let Some((ops, replies)) = answer(ops, replies, result, started) {
            for (op, reply) in ops.into_iter().zip(replies) {
                let mut single = [op];
                let _ = reply.send(single_outcome(writer.write_batch(&mut single).await));
            }
        }
    }
}

fn run_on_thread(
    mut writer: impl BlockingBatchWriter,
    receiver: flume::Receiver<Pending>,
    settings: GroupCommitSettings,
) {
    let mut busy = false;
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        let deadline = Instant::now() + settings.linger;
        take_queued(&receiver, &mut batch, settings.max_batch);
        gather_blocking(&receiver, &mut batch, settings.max_batch, deadline, |_| busy);
        gather_blocking(
            &receiver,
            &mut batch,
            settings.max_batch,
            Instant::now() + settings.ride_along_wait,
            only_rides_along,
        );
        busy = under_load(&batch);
        let started = Instant::now();
        let (mut ops, replies) = split(batch);
        let result = write_guarded(&mut writer, &mut ops);
        if let Some((ops, replies)) = answer(ops, replies, result, started) {
            for (op, reply) in ops.into_iter().zip(replies) {
                let mut single = [op];
                let _ = reply.send(single_outcome(write_guarded(&mut writer, &mut single)));
            }
        }
    }
}

/// A panic while writing fails that batch (rolled back when the transaction is dropped), not
/// the thread every later write needs.
fn write_guarded(writer: &mut impl BlockingBatchWriter, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer.write_batch(ops)))
        .unwrap_or_else(|_| Err(StoreError::Internal("the store writer panicked writing a batch".to_owned())))
}

type Replies = Vec<oneshot::Sender<StoreResult<WriteOutcome>>>;

fn split(batch: Vec<Pending>) -> (Vec<WriteOp>, Replies) {
    batch.into_iter().map(|pending| (pending.op, pending.reply)).unzip()
}

/// Answers every caller of a written batch. A failed batch of several writes comes back, ops
/// and callers, to be retried one write per transaction, so one bad write (a seq conflict) fails
/// alone.
#[must_use]
fn answer(
    ops: Vec<WriteOp>,
    replies: Replies,
    result: StoreResult<Vec<WriteOutcome>>,
    started: Instant,
) -> Option<(Vec<WriteOp>, Replies)> {
    let size = replies.len();
    match result {
        Ok(outcomes) => {
            metrics::histogram!("switchboard_store_batch_size").record(size as f64);
            metrics::histogram!("switchboard_store_commit_seconds").record(started.elapsed().as_secs_f64());
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            None
        }
        Err(error) if size == 1 => {
            metrics::counter!("switchboard_store_write_failures_total").increment(1);
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(error));
            }
            None
        }
        Err(error) => {
            tracing::debug!(%error, size, "batch failed; retrying its writes one by one");
            Some((ops, replies))
        }
    }
}

/// The outcome of a write retried alone.
fn single_outcome(result: StoreResult<Vec<WriteOutcome>>) -> StoreResult<WriteOutcome> {
    let result = result.and_then(|mut outcomes| {
        outcomes.pop().ok_or_else(|| StoreError::Internal("writer returned no outcome".to_owned()))
    });
    if result.is_err() {
        metrics::counter!("switchboard_store_write_failures_total").increment(1);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records each batch's ops by kind, and answers every op.
    struct Recorder(Arc<Mutex<Vec<Vec<&'static str>>>>);

    impl BlockingBatchWriter for Recorder {
        fn write_batch(&mut self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>> {
            let kinds = ops
                .iter()
                .map(|op| match op {
                    WriteOp::InboxDone { .. } => "done",
                    WriteOp::InboxAppend { .. } => "append",
                    _ => "other",
                })
                .collect();
            self.0.lock().expect("recorder").push(kinds);
            Ok(ops.iter().map(|_| WriteOutcome::Saved(1)).collect())
        }
    }

    fn writer(ride_along_wait: Duration) -> (GroupCommit, Arc<Mutex<Vec<Vec<&'static str>>>>) {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let settings = GroupCommitSettings { ride_along_wait, ..GroupCommitSettings::default() };
        let writes = GroupCommit::start_on_thread(Recorder(batches.clone()), settings).expect("writer thread");
        (writes, batches)
    }

    fn done(id: i64) -> WriteOp {
        WriteOp::InboxDone { id, error: None, at: Timestamp::UNIX_EPOCH }
    }

    fn append() -> WriteOp {
        WriteOp::InboxAppend {
            body: "{}".to_owned(),
            received_at: Timestamp::UNIX_EPOCH,
            claimed_until: None,
            beside_processing: false,
        }
    }

    #[tokio::test]
    async fn a_processed_mark_waits_for_the_next_write_and_shares_its_transaction() {
        let (writes, batches) = writer(Duration::from_secs(30));
        let marked = tokio::spawn({
            let writes = writes.clone();
            async move { writes.submit(done(7)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(batches.lock().expect("batches").is_empty(), "a mark alone is not a transaction of its own");
        writes.submit(append()).await.expect("appended");
        marked.await.expect("task").expect("marked");
        assert_eq!(*batches.lock().expect("batches"), vec![vec!["done", "append"]]);
    }

    #[tokio::test]
    async fn a_processed_mark_with_no_company_is_written_alone_after_the_wait() {
        let (writes, batches) = writer(Duration::from_millis(20));
        writes.submit(done(7)).await.expect("marked");
        writes.submit(done(8)).await.expect("marked");
        assert_eq!(*batches.lock().expect("batches"), vec![vec!["done"], vec!["done"]]);
    }

    #[test]
    fn marks_that_rode_along_do_not_make_the_next_batch_linger() {
        let pending = |op| Pending { op, reply: oneshot::channel().0 };
        assert!(!under_load(&[pending(append()), pending(done(1)), pending(done(2))]));
        assert!(under_load(&[pending(append()), pending(append())]));
    }

    #[test]
    fn a_batch_rebuilds_what_its_largest_index_request_asks_and_answers_each() {
        let mut outcomes = vec![WriteOutcome::Committed];
        let mut requests = IndexRequests::default();
        assert_eq!(requests.limit(), None, "nothing asked: no rebuild");
        requests.add(&mut outcomes, Some(16));
        requests.add(&mut outcomes, Some(64));
        assert_eq!(requests.limit(), Some(Some(64)));
        requests.add(&mut outcomes, None);
        assert_eq!(requests.limit(), Some(None), "a search asks for every band");
        requests.answer(&mut outcomes, 5);
        assert_eq!(
            outcomes,
            [WriteOutcome::Committed, WriteOutcome::Indexed(5), WriteOutcome::Indexed(5), WriteOutcome::Indexed(5)]
        );
    }

    #[tokio::test]
    async fn other_writes_do_not_wait_for_company() {
        // A wait longer than the test's timeout: an append that waited would fail it.
        let (writes, batches) = writer(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(60), writes.submit(append()))
            .await
            .expect("not held back")
            .expect("appended");
        assert_eq!(*batches.lock().expect("batches"), vec![vec!["append"]]);
    }
}
