//! Measurements and their output: HDR latency histograms (microseconds), the per-run report
//! (a human table on stdout, one JSON object per run in `--json FILE`) and the progress line.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Latencies in microseconds, from 1 µs to 10 minutes, 3 significant digits.
#[derive(Clone)]
pub struct Latency(Histogram<u64>);

/// A histogram as it crosses from a worker process to the parent: (value µs, count) pairs.
pub type WireHistogram = Vec<(u64, u64)>;

impl Default for Latency {
    fn default() -> Self {
        Latency(Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant, valid bounds"))
    }
}

impl Latency {
    pub fn record_us(&mut self, micros: i64) {
        self.0.saturating_record(micros.max(1) as u64);
    }

    pub fn record(&mut self, elapsed: Duration) {
        self.record_us(elapsed.as_micros().min(i64::MAX as u128) as i64);
    }

    pub fn merge(&mut self, other: &Latency) {
        // Both have the same bounds, so adding cannot fail; saturate rather than lose a run.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn to_wire(&self) -> WireHistogram {
        self.0.iter_recorded().map(|value| (value.value_iterated_to(), value.count_at_value())).collect()
    }

    pub fn from_wire(wire: &WireHistogram) -> Latency {
        let mut latency = Latency::default();
        for &(value, count) in wire {
            let _ = latency.0.record_n(value.max(1), count);
        }
        latency
    }

    /// The value at quantile `q` (0–1) in milliseconds; None when nothing was recorded.
    pub fn ms(&self, q: f64) -> Option<f64> {
        (!self.0.is_empty()).then(|| self.0.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (!self.0.is_empty()).then(|| self.0.max() as f64 / 1000.0)
    }

    /// `p50 … max` as one line, for the table.
    pub fn summary(&self) -> String {
        if self.0.is_empty() {
            return "no samples".to_owned();
        }
        let ms = |q| self.ms(q).unwrap_or(f64::NAN);
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n={})",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            self.max_ms().unwrap_or(f64::NAN),
            self.count()
        )
    }

    /// The percentiles as JSON fields with `prefix` (`p50_ms` …), for the details object.
    pub fn json(&self) -> Value {
        serde_json::json!({
            "p50_ms": self.ms(0.5), "p90_ms": self.ms(0.9), "p99_ms": self.ms(0.99),
            "p999_ms": self.ms(0.999), "max_ms": self.max_ms(), "samples": self.count(),
        })
    }
}

/// One scenario run, as written to `--json FILE` (null where not measured).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub agents: Option<u64>,
    pub offered_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub errors: u64,
    pub lost: Option<u64>,
    pub duplicated: Option<u64>,
    pub rss_bytes_per_connection: Option<f64>,
    /// Everything else the scenario measured (other histograms, CPU, rates), by name.
    pub details: Map<String, Value>,
    /// When and against what it ran.
    pub date: String,
    pub servers: Vec<String>,
}

impl Report {
    pub fn new(scenario: &str, servers: &[String]) -> Report {
        Report {
            scenario: scenario.to_owned(),
            date: jiff::Zoned::now().strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
            servers: servers.to_vec(),
            ..Report::default()
        }
    }

    /// Takes the headline percentiles from `latency`.
    pub fn headline(&mut self, latency: &Latency) {
        self.p50_ms = latency.ms(0.5);
        self.p99_ms = latency.ms(0.99);
        self.p999_ms = latency.ms(0.999);
        self.max_ms = latency.max_ms();
    }

    pub fn detail(&mut self, name: &str, value: impl Serialize) {
        self.details.insert(name.to_owned(), serde_json::to_value(value).unwrap_or(Value::Null));
    }

    /// The human table on stdout.
    pub fn print(&self, histograms: &[(&str, &Latency)]) {
        let opt = |value: Option<f64>, unit: &str| value.map_or("—".to_owned(), |v| format!("{v:.1}{unit}"));
        let count = |value: Option<u64>| value.map_or("—".to_owned(), |v| v.to_string());
        println!();
        println!("== {} ({})", self.scenario, self.date);
        println!("  {:<28} {}", "servers", self.servers.join(", "));
        println!("  {:<28} {}", "agents", count(self.agents));
        println!("  {:<28} {}", "offered rate", opt(self.offered_rate, "/s"));
        println!("  {:<28} {}", "achieved rate", opt(self.achieved_rate, "/s"));
        for (name, latency) in histograms {
            println!("  {:<28} {}", name, latency.summary());
        }
        println!("  {:<28} {}", "errors", self.errors);
        println!("  {:<28} {}", "lost", count(self.lost));
        println!("  {:<28} {}", "duplicated", count(self.duplicated));
        println!("  {:<28} {}", "RSS per connection", opt(self.rss_bytes_per_connection, " B"));
        for (name, value) in &self.details {
            if !value.is_object() {
                println!("  {name:<28} {value}");
            }
        }
    }

    /// Appends this run to the JSON array in `path` (created when missing).
    pub fn append_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut runs: Vec<Value> = match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text)?,
            _ => Vec::new(),
        };
        runs.push(serde_json::to_value(self)?);
        std::fs::write(path, serde_json::to_string_pretty(&runs)? + "\n")?;
        Ok(())
    }
}

/// A line on stderr every `every` (kept on one line on a terminal, one per tick otherwise).
pub struct Progress {
    started: Instant,
    last: Instant,
    every: Duration,
    terminal: bool,
}

impl Progress {
    pub fn new(every: Duration) -> Progress {
        let now = Instant::now();
        Progress { started: now, last: now, every, terminal: std::io::stderr().is_terminal() }
    }

    pub fn tick(&mut self, line: impl FnOnce() -> String) {
        if self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let elapsed = self.started.elapsed().as_secs_f64();
        if self.terminal {
            eprint!("\r\x1b[2K[{elapsed:>6.1}s] {}", line());
        } else {
            eprintln!("[{elapsed:>6.1}s] {}", line());
        }
    }

    pub fn done(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

/// Microseconds since the epoch on this machine's clock (shared by every process on the box).
pub fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_wire_and_merge() {
        let mut a = Latency::default();
        for us in [100, 200, 300, 400, 10_000] {
            a.record_us(us);
        }
        let back = Latency::from_wire(&a.to_wire());
        assert_eq!(back.count(), 5);
        assert_eq!(back.max_ms().map(|ms| ms.round()), Some(10.0));
        let mut merged = Latency::default();
        merged.merge(&back);
        merged.merge(&a);
        assert_eq!(merged.count(), 10);
        assert!(merged.ms(0.5).is_some_and(|ms| (0.29..0.31).contains(&ms)));
    }

    #[test]
    fn reports_append_to_one_json_array() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("switchboard-load-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("runs.json");
        let _ = std::fs::remove_file(&path);
        let mut report = Report::new("idle", &["http://127.0.0.1:8080".to_owned()]);
        report.agents = Some(10);
        report.append_json(&path)?;
        report.scenario = "fanout".to_owned();
        report.append_json(&path)?;
        let runs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        assert_eq!(runs.len(), 2);
        for key in ["scenario", "agents", "offered_rate", "achieved_rate", "p50_ms", "p99_ms", "p999_ms", "max_ms"] {
            assert!(runs[0].get(key).is_some(), "{key} missing");
        }
        for key in ["errors", "lost", "duplicated", "rss_bytes_per_connection"] {
            assert!(runs[1].get(key).is_some(), "{key} missing");
        }
        assert_eq!(runs[1]["scenario"], "fanout");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
