//! Customer channels: WhatsApp (Cloud API), the primary one, and email. Both keep the same two
//! background loops, which live here; `secrets` holds the secrets they check (configured, or
//! generated per install), `staff_only` the login gate in front of both sandboxes and
//! `bounded_log` the memory bound their stores share.

pub mod bounded_log;
pub mod email;
pub mod secrets;
pub mod staff_only;
pub mod whatsapp;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use switchboard_actors::bus::TicketChange;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

/// How long to wait after a failed inbox pass before trying again.
const INBOX_FAILURE_PAUSE: Duration = Duration::from_millis(500);

/// Runs inbox passes forever: straight on while a pass finds work, `idle` when it found none, a
/// short pause after a failure. `what` names the inbox in the log.
pub fn spawn_inbox_passes<Pass, PassFut, Idle, IdleFut>(what: &'static str, pass: Pass, idle: Idle) -> JoinHandle<()>
where
    Pass: Fn() -> PassFut + Send + 'static,
    PassFut: Future<Output = Result<usize, String>> + Send,
    Idle: Fn() -> IdleFut + Send + 'static,
    IdleFut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            match pass().await {
                Ok(0) => idle().await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, inbox = what, "inbox processing failed; retrying");
                    tokio::time::sleep(INBOX_FAILURE_PAUSE).await;
                }
            }
        }
    })
}

/// Sends replies as their commits come by on the bus (`on_change`), and runs `sweep` every
/// `every` and whenever the bus lagged, for leftovers and retries.
pub fn spawn_outbound<Sweep, SweepFut>(
    mut changes: broadcast::Receiver<Arc<TicketChange>>,
    every: Duration,
    on_change: impl Fn(&TicketChange) + Send + 'static,
    sweep: Sweep,
) -> JoinHandle<()>
where
    Sweep: Fn() -> SweepFut + Send + 'static,
    SweepFut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(change) => on_change(&change),
                    Err(RecvError::Lagged(_)) => sweep().await,
                    Err(RecvError::Closed) => return,
                },
                _ = tick.tick() => sweep().await,
            }
        }
    })
}
