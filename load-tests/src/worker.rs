//! Spreading agents over processes. A process may hold at most 20,000 open files here, so the
//! parent starts `switchboard-load worker` children, hands each its agents as one JSON line on
//! stdin, reads their progress and results as JSON lines on stdout, and tells them to stop by
//! closing stdin. Within a worker every agent is a task on one Tokio runtime.

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Mutex, Semaphore, watch};

use crate::agents::{AgentSpec, Live, Plan, Tally, run_agent};
use crate::report::WireHistogram;

/// Sockets one worker process holds at most (below the 20,000-file cap, with room for stdio,
/// the runtime and connections being torn down).
pub const MAX_AGENTS_PER_WORKER: usize = 9_500;

#[derive(Serialize, Deserialize)]
pub struct WorkerSpec {
    pub plan: Plan,
    pub agents: Vec<AgentSpec>,
    /// WebSocket handshakes in flight at once.
    pub connect_concurrency: usize,
}

/// The parent's last word to a worker before closing its stdin.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stop {
    pub final_seq: Option<i64>,
}

/// A line from a worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerLine {
    Progress(Counters),
    Result(WorkerResult),
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    pub connected: u64,
    pub frames: u64,
    pub matched: u64,
    pub errors: u64,
    pub reconnects: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    pub counters: Counters,
    pub end_to_end: WireHistogram,
    #[serde(default)]
    pub first_contact: WireHistogram,
    pub server_hop: WireHistogram,
    pub handshake: WireHistogram,
    pub recovery: WireHistogram,
    pub unique: u64,
    #[serde(default)]
    pub unique_bytes: u64,
    pub duplicated: u64,
    pub seq_gaps: u64,
    pub seq_duplicates: u64,
    pub tail_missing: u64,
    /// Time from start until every agent had connected once (None if some never did).
    pub all_connected_ms: Option<f64>,
}

/// The worker process: reads its spec from stdin, runs the agents until stdin closes.
pub async fn worker_main() -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    stdin.read_line(&mut line).await?;
    let spec: WorkerSpec = serde_json::from_str(&line).context("worker spec")?;
    let total = spec.agents.len() as u64;
    let plan = Arc::new(spec.plan);
    let live = Arc::new(Live::default());
    let handshakes = Arc::new(Semaphore::new(spec.connect_concurrency.max(1)));
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let agents: Vec<_> = spec
        .agents
        .into_iter()
        .map(|agent| tokio::spawn(run_agent(agent, plan.clone(), live.clone(), handshakes.clone(), stopped.clone())))
        .collect();
    let stdout = Arc::new(Mutex::new(tokio::io::stdout()));
    let all_connected = Arc::new(std::sync::Mutex::new(None::<f64>));
    let reporter = {
        let (live, stdout, all_connected) = (live.clone(), stdout.clone(), all_connected.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let counters = counters(&live);
                if counters.connected >= total
                    && let Ok(mut at) = all_connected.lock()
                {
                    at.get_or_insert(started.elapsed().as_secs_f64() * 1000.0);
                }
                let _ = emit(&stdout, &WorkerLine::Progress(counters)).await;
            }
        })
    };
    // Stop when the parent closes stdin (or goes away); before that it may say how far the
    // followed ticket's log got, so agents that stayed can be checked for a missing tail.
    let mut rest = String::new();
    let mut final_seq = None;
    while stdin.read_line(&mut rest).await.unwrap_or(0) > 0 {
        if let Ok(Stop { final_seq: Some(seq) }) = serde_json::from_str(&rest) {
            final_seq = Some(seq);
        }
        rest.clear();
    }
    let _ = stop.send(true);
    let mut tally = Tally::default();
    for agent in agents {
        if let Ok(mut one) = agent.await {
            if let (Some(last), Some(final_seq), true) = (one.last_seq, final_seq, one.rejoin) {
                one.tail_missing = (final_seq - last).max(0) as u64;
            }
            tally.merge(&one);
        }
    }
    reporter.abort();
    let result = WorkerResult {
        counters: counters(&live),
        end_to_end: tally.end_to_end.to_wire(),
        first_contact: tally.first_contact.to_wire(),
        server_hop: tally.server_hop.to_wire(),
        handshake: tally.handshake.to_wire(),
        recovery: tally.recovery.to_wire(),
        unique: tally.unique,
        unique_bytes: tally.unique_bytes,
        duplicated: tally.duplicated,
        seq_gaps: tally.seq_gaps,
        seq_duplicates: tally.seq_duplicates,
        tail_missing: tally.tail_missing,
        all_connected_ms: all_connected.lock().ok().and_then(|at| *at),
    };
    emit(&stdout, &WorkerLine::Result(result)).await
}

fn counters(live: &Live) -> Counters {
    Counters {
        connected: live.connected.load(Ordering::Relaxed),
        frames: live.frames.load(Ordering::Relaxed),
        matched: live.matched.load(Ordering::Relaxed),
        errors: live.errors.load(Ordering::Relaxed),
        reconnects: live.reconnects.load(Ordering::Relaxed),
    }
}

async fn emit(stdout: &Mutex<tokio::io::Stdout>, line: &WorkerLine) -> anyhow::Result<()> {
    let mut text = serde_json::to_string(line)?;
    text.push('\n');
    let mut stdout = stdout.lock().await;
    stdout.write_all(text.as_bytes()).await?;
    stdout.flush().await?;
    Ok(())
}

/// The parent's handle on its workers.
pub struct Fleet {
    workers: Vec<(Child, Option<ChildStdin>)>,
    latest: Arc<std::sync::Mutex<Vec<Counters>>>,
    results: Arc<std::sync::Mutex<Vec<WorkerResult>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// How agents are laid out: spread over `processes` workers and `sources` addresses.
pub struct Layout {
    pub processes: usize,
    pub sources: Vec<Ipv4Addr>,
    pub connect_concurrency: usize,
}

impl Layout {
    /// At least enough processes for the file cap, and one 127.0.0.x source per ~10,000
    /// sockets (each source address has ~28,000 ephemeral ports per destination).
    pub fn for_agents(agents: usize, processes: Option<usize>, sources: Option<Vec<Ipv4Addr>>) -> Layout {
        let needed = agents.div_ceil(MAX_AGENTS_PER_WORKER).max(1);
        let processes = processes.unwrap_or(needed).max(needed);
        let sources = sources.filter(|list| !list.is_empty()).unwrap_or_else(|| {
            (1..=agents.div_ceil(10_000).clamp(1, 8) as u8).map(|n| Ipv4Addr::new(127, 0, 0, n)).collect()
        });
        Layout { processes, sources, connect_concurrency: 128 }
    }
}

impl Fleet {
    /// Starts the workers, dealing `tokens` round-robin over processes, sources and `servers`.
    pub async fn start(
        plan: &Plan,
        tokens: &[String],
        servers: &[String],
        layout: &Layout,
        rejoin: impl Fn(usize) -> bool,
    ) -> anyhow::Result<Fleet> {
        let exe = std::env::current_exe().context("own executable")?;
        let mut specs: Vec<WorkerSpec> = (0..layout.processes)
            .map(|_| WorkerSpec {
                plan: plan.clone(),
                agents: Vec::new(),
                connect_concurrency: layout.connect_concurrency.div_ceil(layout.processes),
            })
            .collect();
        for (n, token) in tokens.iter().enumerate() {
            let home = n % servers.len();
            let ordered: Vec<String> = servers[home..].iter().chain(&servers[..home]).cloned().collect();
            specs[n % layout.processes].agents.push(AgentSpec {
                token: token.clone(),
                servers: ordered,
                source: layout.sources[n % layout.sources.len()],
                rejoin: rejoin(n),
            });
        }
        let latest = Arc::new(std::sync::Mutex::new(vec![Counters::default(); layout.processes]));
        let results = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        let mut readers = Vec::new();
        for (index, spec) in specs.into_iter().enumerate() {
            let mut child = Command::new(&exe)
                .arg("worker")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("start a worker process")?;
            let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("worker stdin"))?;
            let mut line = serde_json::to_string(&spec)?;
            line.push('\n');
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await?;
            let stdout = child.stdout.take().ok_or_else(|| anyhow!("worker stdout"))?;
            let (latest, results) = (latest.clone(), results.clone());
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str::<WorkerLine>(&line) {
                        Ok(WorkerLine::Progress(counters)) => {
                            if let Ok(mut latest) = latest.lock() {
                                latest[index] = counters;
                            }
                        }
                        Ok(WorkerLine::Result(result)) => {
                            if let Ok(mut results) = results.lock() {
                                results.push(result);
                            }
                        }
                        Err(error) => eprintln!("worker {index}: unreadable line ({error}): {line}"),
                    }
                }
            }));
            workers.push((child, Some(stdin)));
        }
        Ok(Fleet { workers, latest, results, readers })
    }

    /// The workers' latest counters, summed.
    pub fn counters(&self) -> Counters {
        let latest = self.latest.lock().map(|latest| latest.clone()).unwrap_or_default();
        latest.iter().fold(Counters::default(), |sum, one| Counters {
            connected: sum.connected + one.connected,
            frames: sum.frames + one.frames,
            matched: sum.matched + one.matched,
            errors: sum.errors + one.errors,
            reconnects: sum.reconnects + one.reconnects,
        })
    }

    /// Waits until `connected` agents are up (or `limit` passes); the time it took.
    pub async fn wait_connected(&self, wanted: u64, limit: Duration, mut progress: impl FnMut(Counters)) -> Duration {
        let begun = Instant::now();
        while begun.elapsed() < limit {
            let counters = self.counters();
            progress(counters);
            if counters.connected >= wanted {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        begun.elapsed()
    }

    /// Tells every worker to stop (with the followed ticket's final seq, when there is one)
    /// and collects their results.
    pub async fn stop(mut self, final_seq: Option<i64>) -> anyhow::Result<Vec<WorkerResult>> {
        let mut line = serde_json::to_string(&Stop { final_seq })?;
        line.push('\n');
        for (_, stdin) in &mut self.workers {
            if let Some(mut stdin) = stdin.take() {
                let _ = stdin.write_all(line.as_bytes()).await;
                let _ = stdin.flush().await;
            }
        }
        for (child, _) in &mut self.workers {
            match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
                Ok(status) => {
                    status?;
                }
                Err(_) => child.kill().await?,
            }
        }
        for reader in self.readers {
            let _ = reader.await;
        }
        let results = std::mem::take(&mut *self.results.lock().map_err(|_| anyhow!("results lock"))?);
        if results.len() != self.workers.len() {
            return Err(anyhow!("{} of {} workers reported", results.len(), self.workers.len()));
        }
        Ok(results)
    }
}
