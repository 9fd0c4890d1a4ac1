//! CSV (RFC 4180): each table's header then its rows, tables separated by an empty line; a
//! page of rows is encoded and sent as it arrives.

use actix_web::web::Bytes;
use tokio::sync::mpsc;

use super::{Cell, Piece};

/// A field quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-` or `@`
/// in text gets a `'` so a spreadsheet does not run it as a formula.
fn field(cell: &Cell, out: &mut String) {
    let mut text = cell.text();
    if matches!(cell, Cell::Text(_)) && text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

fn line(cells: &[Cell], out: &mut String) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        field(cell, out);
    }
    out.push_str("\r\n");
}

/// Encodes one piece; `first` says whether a table was written before.
pub fn encode(piece: &Piece, tables: &mut usize) -> String {
    let mut out = String::new();
    match piece {
        Piece::Sheet { header, .. } => {
            if *tables > 0 {
                out.push_str("\r\n");
            }
            *tables += 1;
            let header: Vec<Cell> = header.iter().map(|name| Cell::Text(name.clone())).collect();
            line(&header, &mut out);
        }
        Piece::Rows(rows) => {
            for row in rows {
                line(row, &mut out);
            }
        }
    }
    out
}

pub async fn write(
    mut pieces: mpsc::Receiver<Piece>,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let mut tables = 0;
    while let Some(piece) = pieces.recv().await {
        let text = encode(&piece, &mut tables);
        if out.send(Ok(Bytes::from(text))).await.is_err() {
            // The client left: dropping `pieces` stops the reader.
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let mut tables = 0;
        let header = encode(&Piece::Sheet { name: "T".into(), header: vec!["a".into(), "b".into()] }, &mut tables);
        assert_eq!(header, "a,b\r\n");
        let rows =
            vec![vec![Cell::Text("x, \"y\"".into()), Cell::Text("=1+1".into())], vec![Cell::Int(-3), Cell::Empty]];
        assert_eq!(encode(&Piece::Rows(rows), &mut tables), "\"x, \"\"y\"\"\",'=1+1\r\n-3,\r\n");
        let second = encode(&Piece::Sheet { name: "U".into(), header: vec!["c".into()] }, &mut tables);
        assert_eq!(second, "\r\nc\r\n");
    }
}
