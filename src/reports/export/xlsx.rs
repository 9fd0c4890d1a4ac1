//! XLSX with `rust_xlsxwriter` in constant-memory mode: each sheet's rows go to a temporary file
//! as they are written (so rows are written in order, which the pieces are), the workbook is
//! saved to a temporary file, and that file is sent in chunks. The writing is blocking file I/O,
//! so it runs on the blocking pool, fed by the async reader through the pieces channel.

use std::io::Read;

use actix_web::web::Bytes;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tokio::sync::mpsc;

use super::{Cell, Piece};

/// Bytes read from the finished file per chunk sent.
const CHUNK: usize = 64 * 1024;
/// A sheet's name may not hold these, nor be longer than 31 characters.
const FORBIDDEN: [char; 7] = ['[', ']', ':', '*', '?', '/', '\\'];

fn sheet_name(name: &str) -> String {
    name.chars().filter(|c| !FORBIDDEN.contains(c)).take(31).collect()
}

/// Writes every piece into a workbook and saves it to a temporary file.
fn build(mut pieces: mpsc::Receiver<Piece>) -> Result<tempfile::NamedTempFile, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let mut sheet: Option<usize> = None;
    let mut row: u32 = 0;
    let mut sheets = 0;
    while let Some(piece) = pieces.blocking_recv() {
        match piece {
            Piece::Sheet { name, header } => {
                workbook.add_worksheet_with_constant_memory()?.set_name(sheet_name(&name))?;
                sheet = Some(sheets);
                sheets += 1;
                let worksheet = workbook.worksheet_from_index(sheets - 1)?;
                for (column, title) in header.iter().enumerate() {
                    worksheet.write_string_with_format(0, column as u16, title, &bold)?;
                }
                row = 1;
            }
            Piece::Rows(rows) => {
                let Some(index) = sheet else { continue };
                let worksheet = workbook.worksheet_from_index(index)?;
                for cells in rows {
                    for (column, cell) in cells.iter().enumerate() {
                        let column = column as u16;
                        match cell {
                            Cell::Text(text) => {
                                worksheet.write_string(row, column, text)?;
                            }
                            Cell::Int(int) => {
                                worksheet.write_number(row, column, *int as f64)?;
                            }
                            Cell::Number(number) => {
                                worksheet.write_number(row, column, *number)?;
                            }
                            Cell::Empty => {}
                        }
                    }
                    row += 1;
                }
            }
        }
    }
    if sheets == 0 {
        workbook.add_worksheet();
    }
    let file = tempfile::NamedTempFile::new()?;
    workbook.save(file.path())?;
    Ok(file)
}

pub async fn write(
    pieces: mpsc::Receiver<Piece>,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let file = tokio::task::spawn_blocking(move || build(pieces))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())?;
    let (chunks_in, mut chunks) = mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    // Read on the blocking pool too; the file is deleted when `file` drops after the last chunk.
    let reader = tokio::task::spawn_blocking(move || {
        let mut handle = file.reopen()?;
        loop {
            let mut buffer = vec![0; CHUNK];
            let read = handle.read(&mut buffer)?;
            if read == 0 {
                return Ok::<(), std::io::Error>(());
            }
            buffer.truncate(read);
            if chunks_in.blocking_send(Ok(buffer)).is_err() {
                return Ok(());
            }
        }
    });
    while let Some(chunk) = chunks.recv().await {
        let chunk = chunk.map_err(|error| error.to_string())?;
        if out.send(Ok(Bytes::from(chunk))).await.is_err() {
            break;
        }
    }
    drop(chunks);
    reader.await.map_err(|error| error.to_string())?.map_err(|error| error.to_string())
}
