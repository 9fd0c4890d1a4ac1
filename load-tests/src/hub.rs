//! The hub's REST API as the load tool uses it: admin login, preparing agents (invited staff with
//! admin-issued API tokens, so no password hashing per agent), tickets, notes, verification reads
//! and the server's own process figures.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Value, json};

use crate::report::Progress;

/// Requests in flight while preparing agents.
const PREPARE_CONCURRENCY: usize = 32;

#[derive(Clone)]
pub struct Hub {
    pub http: reqwest::Client,
    pub base: String,
}

/// Resident memory and CPU time of the server process.
#[derive(Clone, Copy, Debug)]
pub struct ProcessFigures {
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
}

impl Hub {
    pub fn new(base: &str) -> anyhow::Result<Hub> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            // Shorter than the hub's keep-alive (actix-web's 5 s): a connection the hub is closing
            // for idleness is never picked for the next request (one failed webhook in a run).
            .pool_idle_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(60))
            .build()
            .context("HTTP client")?;
        Ok(Hub { http, base: base.trim_end_matches('/').to_owned() })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `ws://…/api/v1/ws` for this server.
    pub fn ws_url(&self) -> String {
        format!("{}/api/v1/ws", self.base.replacen("http", "ws", 1))
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    pub async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: u16,
    ) -> anyhow::Result<Value> {
        let (status, body) = self.call(method.clone(), path, token, body).await?;
        if status != want {
            bail!("{method} {path}: {status} {body}");
        }
        Ok(body)
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .with_context(|| format!("is the hub running at {}?", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        body["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("login as {email} failed ({status}): {body} — did you run `switchboard demo`?"))
    }

    /// API tokens for `count` load agents (`load-agent-NNNNN@load.switchboard.test`), creating the
    /// missing ones as invited agents first. Agents are kept between runs; tokens are fresh.
    pub async fn prepare_agents(&self, admin: &str, count: usize) -> anyhow::Result<Vec<(i64, String)>> {
        let listed = self.expect(reqwest::Method::GET, "/api/v1/users?role=agent", admin, None, 200).await?;
        let mut ids: HashMap<String, i64> = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|user| Some((user["email"].as_str()?.to_owned(), user["id"].as_i64()?)))
            .collect();
        let emails: Vec<String> = (0..count).map(|n| format!("load-agent-{n:05}@load.switchboard.test")).collect();
        let missing: Vec<&String> = emails.iter().filter(|email| !ids.contains_key(*email)).collect();
        let mut progress = Progress::new(Duration::from_secs(2));
        if !missing.is_empty() {
            let total = missing.len();
            let mut created = stream::iter(missing)
                .map(|email| async move {
                    let name = email.split('@').next().unwrap_or("load agent").to_owned();
                    let body = json!({"email": email, "name": name, "role": "agent", "capacity": 10});
                    let user = self.expect(reqwest::Method::POST, "/api/v1/users", admin, Some(body), 201).await?;
                    Ok::<_, anyhow::Error>((
                        email.clone(),
                        user["id"].as_i64().ok_or_else(|| anyhow!("no id: {user}"))?,
                    ))
                })
                .buffer_unordered(PREPARE_CONCURRENCY);
            let mut done = 0;
            while let Some((email, id)) = created.try_next().await? {
                ids.insert(email, id);
                done += 1;
                progress.tick(|| format!("creating agents {done}/{total}"));
            }
        }
        let mut tokens = vec![(0, String::new()); count];
        let mut issued = stream::iter(emails.iter().enumerate())
            .map(|(n, email)| {
                let id = ids.get(email).copied();
                async move {
                    let id = id.ok_or_else(|| anyhow!("{email} was not created"))?;
                    let path = format!("/api/v1/users/{id}/tokens");
                    let token = self
                        .expect(reqwest::Method::POST, &path, admin, Some(json!({"expires_in_days": 1})), 201)
                        .await?;
                    Ok::<_, anyhow::Error>((n, (id, token["token"].as_str().unwrap_or_default().to_owned())))
                }
            })
            .buffer_unordered(PREPARE_CONCURRENCY);
        let mut done = 0;
        while let Some((n, token)) = issued.try_next().await? {
            tokens[n] = token;
            done += 1;
            progress.tick(|| format!("issuing agent tokens {done}/{count}"));
        }
        progress.done();
        Ok(tokens)
    }

    /// A new ticket for a load customer; its id.
    pub async fn create_ticket(&self, token: &str, subject: &str) -> anyhow::Result<i64> {
        let body = json!({"subject": subject, "body": "load test ticket", "requester_email": "load-customer@load.switchboard.test"});
        let ticket = self.expect(reqwest::Method::POST, "/api/v1/tickets", token, Some(body), 201).await?;
        ticket["id"].as_i64().ok_or_else(|| anyhow!("no ticket id: {ticket}"))
    }

    /// Posts an internal note; true when it was acknowledged (durably stored).
    pub async fn post_note(&self, token: &str, ticket: i64, body: &str) -> bool {
        let request = self
            .http
            .post(self.url(&format!("/api/v1/tickets/{ticket}/messages")))
            .bearer_auth(token)
            .json(&json!({"body": body, "internal": true}));
        request.send().await.is_ok_and(|response| response.status().is_success())
    }

    /// Every event of a ticket, paged through `/events?after=`.
    pub async fn ticket_events(&self, token: &str, ticket: i64) -> anyhow::Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let path = format!("/api/v1/tickets/{ticket}/events?after={after}&limit=500");
            let page = self.expect(reqwest::Method::GET, &path, token, None, 200).await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let Some(last) = items.last().and_then(|event| event["seq"].as_i64()) else { break };
            after = last;
            events.extend(items);
        }
        Ok(events)
    }

    /// Ids of the tickets whose subject or messages contain `words` (all pages).
    pub async fn search_tickets(&self, token: &str, words: &str) -> anyhow::Result<Vec<i64>> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/tickets?limit=200&q={words}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.expect(reqwest::Method::GET, &path, token, None, 200).await?;
            ids.extend(page["items"].as_array().into_iter().flatten().filter_map(|ticket| ticket["id"].as_i64()));
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(ids)
    }

    /// The WhatsApp app secret the hub checks webhooks with (generated per install unless
    /// configured), as its admins read it.
    pub async fn app_secret(&self, admin: &str) -> anyhow::Result<String> {
        let secrets = self
            .expect(reqwest::Method::GET, "/api/v1/account/channel-secrets", admin, None, 200)
            .await
            .context("reading the hub's webhook app secret (or pass --app-secret)")?;
        secrets["whatsapp"]["app_secret"]["value"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no app secret in {secrets}"))
    }

    /// A counter or gauge from `/metrics` (summed over its label sets); None when absent. The
    /// hub serves them to loopback peers; from elsewhere set `SWITCHBOARD_LOAD_METRICS_TOKEN` to
    /// its `ops.metrics_token`.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let mut request = self.http.get(self.url("/metrics"));
        if let Ok(token) = std::env::var("SWITCHBOARD_LOAD_METRICS_TOKEN") {
            request = request.bearer_auth(token);
        }
        let text = request.send().await.ok()?.text().await.ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
            .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// RSS and CPU time of the server: from `/proc/<pid>` when the pid is given, else `/metrics`.
    pub async fn process(&self, pid: Option<u32>) -> Option<ProcessFigures> {
        match pid {
            Some(pid) => process_figures(pid),
            None => Some(ProcessFigures {
                rss_bytes: self.metric("process_resident_memory_bytes").await? as u64,
                cpu_seconds: self.metric("process_cpu_seconds_total").await?,
            }),
        }
    }
}

/// `VmRSS` from `/proc/<pid>/status` and utime+stime from `/proc/<pid>/stat`.
pub fn process_figures(pid: u32) -> Option<ProcessFigures> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib: u64 =
        status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, so split after its closing paren).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ProcessFigures { rss_bytes: rss_kib * 1024, cpu_seconds: ticks / CLOCK_TICKS_PER_SECOND })
}

/// USER_HZ, 100 on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
