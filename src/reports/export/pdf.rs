//! PDF with `pdf-writer`: landscape A4 pages in Helvetica (a standard font every reader has, so
//! nothing is embedded), a chart drawn with the PDF's own path operators (bars for a summary's
//! created and resolved tickets per row and a line for the daily backlog; bars of tickets
//! created per day for a tickets export), then the table, continued over as many pages as it
//! needs. Text outside Latin-1 prints as `?` (the standard fonts' encoding).

use actix_web::web::Bytes;
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use switchboard_actors::reports::schedule::ExportKind;
use tokio::sync::mpsc;

use super::{Cell, ExportJob, Piece};
use crate::reports::summary::zone_name;

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const MARGIN: f32 = 36.0;
const ROW: f32 = 14.0;
const FONT: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
/// The chart's series colours (blue, green, orange), as in the console.
const COLOURS: [(f32, f32, f32); 3] = [(0.23, 0.51, 0.96), (0.06, 0.73, 0.51), (0.96, 0.62, 0.04)];

struct Table {
    name: String,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

/// WinAnsi bytes: Latin-1 and the typographic marks of Windows-1252; anything else is `?`.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '…' => 0x85,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            c if (c as u32) < 0x7f || (0xa0..=0xff).contains(&(c as u32)) => c as u8,
            _ => b'?',
        })
        .collect()
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        text.chars().take(chars.saturating_sub(1)).collect::<String>() + "…"
    }
}

struct Page {
    content: Content,
}

impl Page {
    fn new() -> Page {
        Page { content: Content::new() }
    }

    fn text(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
        self.content.set_fill_rgb(0.07, 0.09, 0.15);
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, y);
        self.content.show(Str(&latin1(text)));
        self.content.end_text();
    }

    fn fill(&mut self, (r, g, b): (f32, f32, f32), x: f32, y: f32, width: f32, height: f32) {
        self.content.set_fill_rgb(r, g, b);
        self.content.rect(x, y, width, height);
        self.content.fill_nonzero();
    }

    fn line(&mut self, (r, g, b): (f32, f32, f32), width: f32, points: &[(f32, f32)]) {
        let Some((first, rest)) = points.split_first() else { return };
        self.content.set_stroke_rgb(r, g, b);
        self.content.set_line_width(width);
        self.content.move_to(first.0, first.1);
        for point in rest {
            self.content.line_to(point.0, point.1);
        }
        self.content.stroke();
    }
}

/// One series of a chart: its name and a value per label.
struct Series {
    name: String,
    values: Vec<f64>,
}

/// Bars (one group per label, one bar per series) or, with `as_line`, lines; axes, the top
/// value and the labels under them.
fn chart(
    page: &mut Page,
    title: &str,
    labels: &[String],
    series: &[Series],
    as_line: bool,
    area: (f32, f32, f32, f32),
) {
    let (x, y, width, height) = area;
    page.text(BOLD, 10.0, x, y + height + 6.0, title);
    let top = series.iter().flat_map(|one| one.values.iter().copied()).fold(0.0_f64, f64::max).max(1.0);
    let grey = (0.6, 0.6, 0.6);
    page.line(grey, 0.5, &[(x, y + height), (x, y), (x + width, y)]);
    page.text(FONT, 7.0, x - 24.0, y + height - 3.0, &format!("{top}"));
    page.text(FONT, 7.0, x - 10.0, y - 3.0, "0");
    let groups = labels.len().max(1) as f32;
    let slot = width / groups;
    let scale = |value: f64| (value / top) as f32 * height;
    for (index, one) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        if as_line {
            let points: Vec<(f32, f32)> = one
                .values
                .iter()
                .enumerate()
                .map(|(at, value)| (x + slot * (at as f32 + 0.5), y + scale(*value)))
                .collect();
            page.line(colour, 1.5, &points);
        } else {
            let bar = (slot * 0.8 / series.len().max(1) as f32).min(40.0);
            for (at, value) in one.values.iter().enumerate() {
                let left = x + slot * at as f32 + slot * 0.1 + bar * index as f32;
                page.fill(colour, left, y, bar, scale(*value));
            }
        }
        // The legend, top right.
        let legend_x = x + width - 120.0;
        let legend_y = y + height - 10.0 * index as f32;
        page.fill(colour, legend_x, legend_y, 8.0, 6.0);
        page.text(FONT, 7.0, legend_x + 12.0, legend_y, &one.name);
    }
    // Labels, thinned to fit.
    let every = (labels.len() as f32 / (width / 40.0)).ceil().max(1.0) as usize;
    for (at, label) in labels.iter().enumerate().filter(|(at, _)| at % every == 0) {
        page.text(FONT, 6.5, x + slot * at as f32 + 2.0, y - 10.0, &clip(label, 10));
    }
}

fn column_of(table: &Table, name: &str) -> Option<usize> {
    table.header.iter().position(|column| column == name)
}

fn values(table: &Table, rows: &[&Vec<Cell>], name: &str) -> Vec<f64> {
    let Some(column) = column_of(table, name) else { return Vec::new() };
    rows.iter().map(|row| row.get(column).and_then(Cell::number).unwrap_or(0.0)).collect()
}

/// The chart on the first page.
fn draw_chart(page: &mut Page, kind: ExportKind, tables: &[Table]) {
    let area = (MARGIN + 30.0, HEIGHT - 250.0, WIDTH - 2.0 * MARGIN - 40.0, 150.0);
    match kind {
        ExportKind::Summary => {
            let Some(summary) = tables.first() else { return };
            let keyed: Vec<&Vec<Cell>> = summary.rows.iter().skip(usize::from(summary.rows.len() > 1)).collect();
            let labels: Vec<String> = keyed.iter().map(|row| row.first().map(Cell::text).unwrap_or_default()).collect();
            let mut series = vec![
                Series { name: "created".to_owned(), values: values(summary, &keyed, "tickets_created") },
                Series { name: "resolved".to_owned(), values: values(summary, &keyed, "tickets_resolved") },
            ];
            if keyed.len() <= 1
                && let Some(days) = tables.get(1)
            {
                // Only totals: the daily backlog says more.
                let rows: Vec<&Vec<Cell>> = days.rows.iter().collect();
                let labels: Vec<String> =
                    rows.iter().map(|row| row.first().map(Cell::text).unwrap_or_default()).collect();
                series = vec![Series { name: "backlog".to_owned(), values: values(days, &rows, "backlog") }];
                chart(page, "Backlog at each day's end", &labels, &series, true, area);
                return;
            }
            chart(page, "Tickets created and resolved", &labels, &series, false, area);
        }
        ExportKind::Tickets => {
            let Some(tickets) = tables.first() else { return };
            let Some(created) = column_of(tickets, "created_at") else { return };
            let mut days: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
            for row in &tickets.rows {
                let day: String = row.get(created).map(Cell::text).unwrap_or_default().chars().take(10).collect();
                *days.entry(day).or_default() += 1.0;
            }
            let labels: Vec<String> = days.keys().cloned().collect();
            let series = [Series { name: "tickets".to_owned(), values: days.into_values().collect() }];
            chart(page, "Tickets by the day they were created (UTC)", &labels, &series, false, area);
        }
    }
}

/// The columns a page has room for: a summary's key figures, a ticket's main facts.
fn shown_columns(kind: ExportKind, table: &Table) -> Vec<(usize, f32, usize)> {
    let wanted: &[(&str, f32, usize)] = match kind {
        ExportKind::Summary => &[
            ("", 110.0, 18),
            ("tickets_created", 55.0, 8),
            ("tickets_resolved", 55.0, 8),
            ("tickets_reopened", 55.0, 8),
            ("backlog", 50.0, 8),
            ("replies", 45.0, 8),
            ("first_response.median_secs", 80.0, 12),
            ("resolution.median_secs", 80.0, 12),
            ("sla_compliance.first_response.numerator", 60.0, 8),
            ("sla_compliance.first_response.denominator", 60.0, 8),
            ("whatsapp.failed", 55.0, 8),
        ],
        ExportKind::Tickets => &[
            ("number", 40.0, 7),
            ("subject", 170.0, 32),
            ("status", 55.0, 10),
            ("priority", 45.0, 8),
            ("channel", 50.0, 9),
            ("assignee", 80.0, 14),
            ("created_at", 70.0, 10),
            ("first_response_secs", 60.0, 9),
            ("resolution_secs", 60.0, 9),
            ("reopens", 40.0, 5),
            ("sla_breaches", 45.0, 5),
        ],
    };
    wanted
        .iter()
        .filter_map(|(name, width, chars)| {
            let column = if name.is_empty() { Some(0) } else { column_of(table, name) };
            column.map(|column| (column, *width, *chars))
        })
        .collect()
}

fn short_header(name: &str) -> String {
    let name = name
        .replace("sla_compliance.first_response.numerator", "FR SLA met")
        .replace("sla_compliance.first_response.denominator", "FR SLA due")
        .replace(".median_secs", " p50 s")
        .replace("tickets_", "")
        .replace("_secs", " s");
    clip(&name.replace(['_', '.'], " "), 18)
}

/// Lays the document out: the title and chart, then the first table over as many pages as it
/// takes.
fn render(job: &ExportJob, tables: &[Table]) -> Vec<u8> {
    let mut pages: Vec<Page> = Vec::new();
    let mut page = Page::new();
    let zone = &job.request.zone;
    let title = format!("Switchboard — {} report", job.kind.as_str());
    page.text(BOLD, 16.0, MARGIN, HEIGHT - MARGIN - 10.0, &title);
    let period = format!(
        "{} to {} ({}), {} hours",
        job.request.from.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M"),
        job.request.to.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M"),
        zone_name(zone),
        job.request.hours.as_str()
    );
    page.text(FONT, 9.0, MARGIN, HEIGHT - MARGIN - 26.0, &period);
    draw_chart(&mut page, job.kind, tables);
    let mut y = HEIGHT - 300.0;
    if let Some(table) = tables.first() {
        let columns = shown_columns(job.kind, table);
        let header = |page: &mut Page, y: f32| {
            page.fill((0.93, 0.94, 0.96), MARGIN - 2.0, y - 4.0, WIDTH - 2.0 * MARGIN + 4.0, ROW);
            let mut x = MARGIN;
            for (column, width, _) in &columns {
                let name = table.header.get(*column).map(String::as_str).unwrap_or_default();
                page.text(BOLD, 7.5, x, y, &short_header(name));
                x += width;
            }
        };
        page.text(BOLD, 10.0, MARGIN, y + 10.0, &table.name);
        y -= 8.0;
        header(&mut page, y);
        y -= ROW;
        for row in &table.rows {
            if y < MARGIN {
                pages.push(std::mem::replace(&mut page, Page::new()));
                y = HEIGHT - MARGIN - 10.0;
                header(&mut page, y);
                y -= ROW;
            }
            let mut x = MARGIN;
            for (column, width, chars) in &columns {
                let cell = row.get(*column).cloned().unwrap_or(Cell::Empty);
                let text = match cell {
                    Cell::Number(number) => format!("{number:.1}"),
                    other => other.text(),
                };
                page.text(FONT, 7.5, x, y, &clip(&text, *chars));
                x += width;
            }
            y -= ROW;
        }
        if table.rows.is_empty() {
            page.text(FONT, 8.0, MARGIN, y, "Nothing in this period.");
        }
    }
    pages.push(page);

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let bold = Ref::new(4);
    let ids: Vec<(Ref, Ref)> =
        (0..pages.len() as i32).map(|index| (Ref::new(5 + 2 * index), Ref::new(6 + 2 * index))).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(ids.iter().map(|(page, _)| *page)).count(ids.len() as i32);
    pdf.type1_font(font).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (page, (page_id, content_id)) in pages.into_iter().zip(&ids) {
        let mut writer = pdf.page(*page_id);
        writer.parent(tree).media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT)).contents(*content_id);
        let mut resources = writer.resources();
        let mut fonts = resources.fonts();
        fonts.pair(FONT, font);
        fonts.pair(BOLD, bold);
        drop(fonts);
        drop(resources);
        drop(writer);
        let data = page.content.finish();
        pdf.stream(*content_id, data.as_slice());
    }
    pdf.finish()
}

pub async fn write(
    mut pieces: mpsc::Receiver<Piece>,
    job: &ExportJob,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let mut tables: Vec<Table> = Vec::new();
    while let Some(piece) = pieces.recv().await {
        match piece {
            Piece::Sheet { name, header } => tables.push(Table { name, header, rows: Vec::new() }),
            Piece::Rows(rows) => {
                if let Some(table) = tables.last_mut() {
                    table.rows.extend(rows);
                }
            }
        }
    }
    let job = job.clone();
    let file = tokio::task::spawn_blocking(move || render(&job, &tables)).await.map_err(|error| error.to_string())?;
    let _ = out.send(Ok(Bytes::from(file))).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::summary::ReportRequest;
    use switchboard_actors::reports::schedule::ExportFormat;
    use switchboard_actors::reports::summary::{GroupBy, Hours};

    fn job(kind: ExportKind) -> ExportJob {
        let user = switchboard_actors::domain::User {
            id: 1,
            account_id: 1,
            email: "admin@example.com".to_owned(),
            name: "Admin".to_owned(),
            role: switchboard_actors::domain::Role::Admin,
            company_id: None,
            team_ids: Vec::new(),
            capacity: 0,
            skills: Vec::new(),
            languages: Vec::new(),
            time_zone: "UTC".to_owned(),
            phone: None,
            active: true,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let request = ReportRequest {
            from: "2026-11-30T00:00:00Z".parse().expect("time"),
            to: "2026-12-07T00:00:00Z".parse().expect("time"),
            group_by: Some(GroupBy::Day),
            hours: Hours::Calendar,
            filter: None,
            zone: jiff::tz::TimeZone::UTC,
        };
        ExportJob { kind, format: ExportFormat::Pdf, request, user }
    }

    /// A summary by day: the chart on the first page, the table beneath, more pages as needed.
    /// `SWITCHBOARD_SAVE_PDF=path` keeps the file to look at (`pdftoppm -png path page`).
    #[test]
    fn a_summary_renders_a_chart_and_a_table_over_pages() {
        let header = ["day", "tickets_created", "tickets_resolved", "backlog", "first_response.median_secs"];
        let rows: Vec<Vec<Cell>> = (0..60)
            .map(|day| {
                vec![
                    Cell::Text(format!("2026-12-{:02}", day % 28 + 1)),
                    Cell::Int(10 + day % 7),
                    Cell::Int(8 + day % 5),
                    Cell::Int(20 - day % 9),
                    Cell::Number(90.5 + day as f64),
                ]
            })
            .collect();
        let tables = vec![Table {
            name: "Summary".to_owned(),
            header: header.iter().map(|name| (*name).to_owned()).collect(),
            rows,
        }];
        let file = render(&job(ExportKind::Summary), &tables);
        assert!(file.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&file);
        assert!(text.contains("/Count 3"), "60 rows take three pages");
        assert!(text.contains("Helvetica-Bold"));
        if let Ok(path) = std::env::var("SWITCHBOARD_SAVE_PDF") {
            std::fs::write(path, &file).expect("saved");
        }
    }
}
