//! Exports (issue 15 item 5): a report as a file, CSV, XLSX or PDF, for `GET
//! /api/v1/reports/export` and for the scheduled reports' attachments. One path produces the
//! content and every format writes it: [`produce`] turns a request into *pieces* (a sheet's name
//! and header, then its rows, page by page), and a writer per format turns pieces into bytes.
//!
//! - `kind=summary`: the sheet `Summary` is the summary endpoint's figures ([`super::summary`],
//!   the same call), the total first and one row per key, one column per figure (nested figures
//!   flattened with dots, e.g. `first_response.median_secs`); `Backlog by day`; `Breakdowns`
//!   (WhatsApp failure reasons and automation rules per row).
//! - `kind=tickets`: one row per ticket with measures in the period (that `q` matches, in the
//!   caller's scope) with its facts, read a page of tickets at a time: no row cap.
//!
//! Nothing holds the whole file in memory for CSV (each page is encoded and sent as it is read)
//! nor for XLSX (`rust_xlsxwriter`'s constant-memory mode keeps rows in a temporary file, and
//! the finished file is sent from disk in chunks). A PDF is a document meant for reading, laid
//! out in memory: a table and a chart drawn with the PDF's own drawing operators.

mod csv;
mod pdf;
mod xlsx;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::web::Bytes;
use serde_json::Value;
use switchboard_actors::domain::{Role, Ticket, TicketId, User};
use switchboard_actors::reports::MeasureQuery;
use switchboard_actors::reports::measures::{Measure, Metric};
use switchboard_actors::reports::schedule::{ExportFormat, ExportKind};
use switchboard_actors::reports::summary::{Figures, Hours};
use switchboard_actors::store::{Store, StoreError};
use tokio::sync::mpsc;

use super::ReportProjection;
use super::summary::{ReportRequest, Summary, summary};

/// Tickets read per page of a tickets export.
const TICKET_PAGE: i64 = 200;
/// Pieces (and byte chunks) in flight between the reader and the writer: a slow client slows
/// the reading down instead of filling memory.
const IN_FLIGHT: usize = 4;

/// One cell of an exported table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Number(f64),
    Empty,
}

impl Cell {
    fn from_json(value: &Value) -> Cell {
        match value {
            Value::Null => Cell::Empty,
            Value::Bool(flag) => Cell::Int(i64::from(*flag)),
            Value::Number(number) => match number.as_i64() {
                Some(int) => Cell::Int(int),
                None => number.as_f64().map_or(Cell::Empty, Cell::Number),
            },
            Value::String(text) => Cell::Text(text.clone()),
            other => Cell::Text(other.to_string()),
        }
    }

    /// The cell as text (CSV, the PDF's tables).
    pub fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Int(int) => int.to_string(),
            Cell::Number(number) => number.to_string(),
            Cell::Empty => String::new(),
        }
    }

    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(int) => Some(*int as f64),
            Cell::Number(number) => Some(*number),
            _ => None,
        }
    }
}

/// What an export is made of, in order.
#[derive(Clone, Debug)]
pub enum Piece {
    /// A new table: its name and its columns.
    Sheet { name: String, header: Vec<String> },
    /// Rows of the current table.
    Rows(Vec<Vec<Cell>>),
}

/// An export to make: what, as which file, over which report, for whom (their scope).
#[derive(Clone, Debug)]
pub struct ExportJob {
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub request: ReportRequest,
    pub user: User,
}

impl ExportJob {
    /// `switchboard-summary-2026-12-01-2026-12-08.csv`: the kind and the local days covered.
    pub fn file_name(&self) -> String {
        let zone = &self.request.zone;
        let from = self.request.from.to_zoned(zone.clone()).date();
        let last = self.request.to.checked_sub(jiff::SignedDuration::from_millis(1)).unwrap_or(self.request.to);
        let to = last.to_zoned(zone.clone()).date();
        format!("switchboard-{}-{from}-{to}.{}", self.kind.as_str(), self.format.as_str())
    }
}

/// The stores an export reads.
#[derive(Clone)]
pub struct ExportSources {
    pub store: Arc<dyn Store>,
    pub projection: Arc<ReportProjection>,
}

/// Starts making `job`'s file; its bytes arrive on the receiver in order, and an error (after
/// which nothing more comes) ends the file short.
pub fn start(sources: ExportSources, job: ExportJob) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (pieces_in, pieces) = mpsc::channel::<Piece>(IN_FLIGHT);
    let (bytes_in, bytes) = mpsc::channel(IN_FLIGHT);
    let producer = {
        let job = job.clone();
        tokio::spawn(async move { produce(&sources, &job, &pieces_in).await })
    };
    let failed = |error: String| std::io::Error::other(error);
    tokio::spawn(async move {
        let written = match job.format {
            ExportFormat::Csv => csv::write(pieces, &bytes_in).await,
            ExportFormat::Xlsx => xlsx::write(pieces, &bytes_in).await,
            ExportFormat::Pdf => pdf::write(pieces, &job, &bytes_in).await,
        };
        let produced = producer
            .await
            .map_err(|error| error.to_string())
            .and_then(|result| result.map_err(|error| error.to_string()));
        if let Err(error) = written.and(produced) {
            tracing::warn!(%error, "an export ended short");
            let _ = bytes_in.send(Err(failed(error))).await;
        }
    });
    bytes
}

/// The whole file in memory (a scheduled report's attachment).
pub async fn collect(sources: ExportSources, job: ExportJob) -> Result<Vec<u8>, std::io::Error> {
    let mut bytes = start(sources, job);
    let mut file = Vec::new();
    while let Some(chunk) = bytes.recv().await {
        file.extend_from_slice(&chunk?);
    }
    Ok(file)
}

/// Sends `piece`; `false` when the writer is gone (the client left): stop reading.
async fn send(out: &mpsc::Sender<Piece>, piece: Piece) -> bool {
    out.send(piece).await.is_ok()
}

/// Turns `job` into pieces.
pub async fn produce(sources: &ExportSources, job: &ExportJob, out: &mpsc::Sender<Piece>) -> Result<(), StoreError> {
    match job.kind {
        ExportKind::Summary => {
            let summary = summary(sources.store.as_ref(), &sources.projection, &job.user, &job.request).await?;
            for piece in summary_pieces(&summary) {
                if !send(out, piece).await {
                    break;
                }
            }
            Ok(())
        }
        ExportKind::Tickets => ticket_pieces(sources, job, out).await,
    }
}

/// The figures of one row as flat `(column, value)` pairs, in the order the summary serialises
/// them; lists (failure reasons, rules) go to the breakdowns.
fn flatten(prefix: &str, value: &Value, into: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let column = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                flatten(&column, field, into);
            }
        }
        Value::Array(_) => {}
        other => into.push((prefix.to_owned(), other.clone())),
    }
}

fn figure_columns(figures: &Figures) -> Vec<(String, Value)> {
    let mut columns = Vec::new();
    flatten("", &serde_json::to_value(figures).unwrap_or(Value::Null), &mut columns);
    columns
}

/// The summary as tables: figures per row, the daily backlog, the breakdowns.
pub fn summary_pieces(summary: &Summary) -> Vec<Piece> {
    let total = figure_columns(&summary.total);
    let group = summary.group_by.map_or("total", |group_by| group_by.as_str());
    let mut header = vec![group.to_owned()];
    header.extend(total.iter().map(|(column, _)| column.clone()));
    let row = |key: &str, columns: Vec<(String, Value)>| {
        let mut cells = vec![Cell::Text(key.to_owned())];
        cells.extend(columns.iter().map(|(_, value)| Cell::from_json(value)));
        cells
    };
    let mut rows = vec![row("total", total)];
    for summary_row in &summary.rows {
        rows.push(row(summary_row.key.as_deref().unwrap_or("none"), figure_columns(&summary_row.figures)));
    }
    let days = summary
        .backlog_by_day
        .iter()
        .map(|day| vec![Cell::Text(day.day.clone()), Cell::Int(day.backlog), Cell::Int(day.unassigned_backlog)])
        .collect();
    let mut breakdowns = Vec::new();
    let mut each = vec![("total", &summary.total)];
    each.extend(summary.rows.iter().map(|row| (row.key.as_deref().unwrap_or("none"), &row.figures)));
    for (key, figures) in each {
        for reason in &figures.whatsapp.failure_reasons {
            breakdowns.push(vec![
                Cell::Text(key.to_owned()),
                Cell::Text("whatsapp_failure".to_owned()),
                Cell::Int(reason.code),
                Cell::Text(reason.title.clone()),
                Cell::Int(reason.share.numerator),
                Cell::Int(0),
                Cell::Int(0),
            ]);
        }
        for rule in &figures.automation.by_rule {
            breakdowns.push(vec![
                Cell::Text(key.to_owned()),
                Cell::Text("automation_rule".to_owned()),
                Cell::Int(rule.rule_id),
                Cell::Text(rule.name.clone()),
                Cell::Int(rule.runs),
                Cell::Int(rule.failed),
                Cell::Int(rule.late),
            ]);
        }
    }
    let names = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
    vec![
        Piece::Sheet { name: "Summary".to_owned(), header },
        Piece::Rows(rows),
        Piece::Sheet { name: "Backlog by day".to_owned(), header: names(&["day", "backlog", "unassigned_backlog"]) },
        Piece::Rows(days),
        Piece::Sheet {
            name: "Breakdowns".to_owned(),
            header: names(&[group, "breakdown", "code", "name", "count", "failed", "late"]),
        },
        Piece::Rows(breakdowns),
    ]
}

/// The columns of a tickets export.
pub const TICKET_COLUMNS: [&str; 17] = [
    "number",
    "subject",
    "status",
    "priority",
    "channel",
    "team",
    "assignee",
    "company",
    "created_at",
    "first_response_secs",
    "resolution_secs",
    "working_resolution_secs",
    "resolutions",
    "reopens",
    "replies",
    "sla_breaches",
    "sla_missed",
];

/// Names of the account's teams, staff and companies, read once per export.
struct Names {
    teams: HashMap<i64, String>,
    people: HashMap<i64, String>,
    companies: HashMap<i64, String>,
}

async fn names(store: &dyn Store, account: i64) -> Result<Names, StoreError> {
    let teams = store.list_teams(account).await?.into_iter().map(|team| (team.id, team.name)).collect();
    let mut people = HashMap::new();
    for role in Role::ALL.iter().filter(|role| role.is_staff()) {
        people.extend(store.list_users(account, Some(*role)).await?.into_iter().map(|user| (user.id, user.name)));
    }
    let companies =
        store.list_companies(account).await?.into_iter().map(|company| (company.id, company.name)).collect();
    Ok(Names { teams, people, companies })
}

fn seconds(measure: &Measure, hours: Hours) -> Option<f64> {
    let ms = match hours {
        Hours::Business => measure.business_ms.or(measure.value_ms),
        Hours::Calendar => measure.value_ms,
    }?;
    Some(ms as f64 / 1000.0)
}

/// One ticket's row from its measures in the period.
fn ticket_row(ticket: &Ticket, measures: &[&Measure], names: &Names, hours: Hours) -> Vec<Cell> {
    let of = |metric: Metric| measures.iter().copied().filter(move |measure| measure.metric == metric);
    let count = |metric: Metric| Cell::Int(of(metric).count() as i64);
    let duration = |measure: Option<&Measure>| {
        measure.and_then(|measure| seconds(measure, hours)).map_or(Cell::Empty, Cell::Number)
    };
    let name = |map: &HashMap<i64, String>, id: Option<i64>| {
        id.map_or(Cell::Empty, |id| Cell::Text(map.get(&id).cloned().unwrap_or_else(|| id.to_string())))
    };
    vec![
        Cell::Int(ticket.number),
        Cell::Text(ticket.subject.clone()),
        Cell::Text(ticket.status.clone()),
        Cell::Text(ticket.priority.as_str().to_owned()),
        Cell::Text(ticket.channel.as_str().to_owned()),
        name(&names.teams, ticket.team_id),
        name(&names.people, ticket.assignee_id),
        name(&names.companies, ticket.company_id),
        Cell::Text(ticket.created_at.to_string()),
        duration(of(Metric::FirstResponse).next()),
        duration(of(Metric::Resolved).next_back()),
        duration(of(Metric::WorkingResolution).next_back()),
        count(Metric::Resolved),
        count(Metric::Reopened),
        count(Metric::Reply),
        count(Metric::SlaBreach),
        count(Metric::SlaMissed),
    ]
}

async fn ticket_pieces(sources: &ExportSources, job: &ExportJob, out: &mpsc::Sender<Piece>) -> Result<(), StoreError> {
    let store = sources.store.as_ref();
    sources.projection.fresh().await?;
    let header = TICKET_COLUMNS.iter().map(|column| (*column).to_owned()).collect();
    if !send(out, Piece::Sheet { name: "Tickets".to_owned(), header }).await {
        return Ok(());
    }
    let names = names(store, job.user.account_id).await?;
    let query = job.request.measure_query(&job.user);
    let mut after: TicketId = 0;
    loop {
        let ids = store.report_ticket_ids(&query, after, TICKET_PAGE).await?;
        let Some(last) = ids.last().copied() else { return Ok(()) };
        let page = MeasureQuery { tickets: Some(ids.clone()), ..query.clone() };
        let measures = store.measures(&page).await?;
        let mut by_ticket: HashMap<TicketId, Vec<&Measure>> = HashMap::new();
        for measure in &measures {
            by_ticket.entry(measure.ticket_id).or_default().push(measure);
        }
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(ticket) = store.ticket(id).await? else { continue };
            let theirs = by_ticket.get(&id).map(Vec::as_slice).unwrap_or_default();
            rows.push(ticket_row(&ticket, theirs, &names, job.request.hours));
        }
        if !send(out, Piece::Rows(rows)).await {
            return Ok(());
        }
        after = last;
    }
}
