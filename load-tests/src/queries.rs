//! A closed loop of read requests: workers walk a list of `(kind, path)` GETs until the deadline,
//! each waiting for its answer before the next, and every kind keeps its latency and what its
//! answers held (a count the caller reads from each body). The `search` and `reports` scenarios
//! are lists of paths for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::hub::Hub;
use crate::report::Latency;

/// Per kind: the latency of its requests and the sum of what `count` read from their answers.
pub type ByKind = BTreeMap<&'static str, (Latency, u64)>;

/// Runs `paths` with `concurrency` requests in flight for `duration`; any answer but 200 stops
/// the run with its body.
pub async fn closed_loop(
    hub: &Hub,
    token: &str,
    paths: Vec<(&'static str, String)>,
    duration: Duration,
    concurrency: usize,
    count: fn(&Value) -> u64,
) -> anyhow::Result<ByKind> {
    let paths = Arc::new(paths);
    let results: Arc<Mutex<ByKind>> = Arc::new(Mutex::new(BTreeMap::new()));
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (hub, token, paths, results) = (hub.clone(), token.to_owned(), paths.clone(), results.clone());
        workers.push(tokio::spawn(async move {
            let mut next = worker;
            while Instant::now() < deadline {
                let (kind, path) = &paths[next % paths.len()];
                next += step(worker);
                let started = Instant::now();
                let (status, body) = hub.call(reqwest::Method::GET, path, &token, None).await?;
                let elapsed = started.elapsed();
                if status != 200 {
                    bail!("{path}: {status} {body}");
                }
                let mut results = results.lock().await;
                let entry = results.entry(kind).or_insert_with(|| (Latency::default(), 0));
                entry.0.record(elapsed);
                entry.1 += count(&body);
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let results = results.lock().await;
    Ok(results.iter().map(|(kind, (latency, counted))| (*kind, (latency.clone(), *counted))).collect())
}

/// Workers walk the list with co-prime steps, so they do not ask the same thing at once.
fn step(worker: usize) -> usize {
    [1, 3, 7, 11, 13, 17, 19, 23][worker % 8]
}
