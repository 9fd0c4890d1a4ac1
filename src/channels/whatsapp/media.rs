//! Inbound media: fetched through the Graph API after the message is stored (a failed download
//! never loses the message), kept in a content-addressed store under the data directory, and
//! served to staff at `/api/v1/media/{sha256}`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use switchboard_actors::domain::Attachment;

/// Largest file accepted per WhatsApp media kind (Meta's own limits, reference §4).
pub fn max_bytes(content_type: &str) -> u64 {
    const MB: u64 = 1024 * 1024;
    match content_type.split('/').next().unwrap_or_default() {
        "image" if content_type == "image/webp" => MB / 2,
        "image" => 5 * MB,
        "audio" | "video" => 16 * MB,
        _ => 100 * MB,
    }
}

/// Fetch attempts before an attachment is marked failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// Files by the SHA-256 of their bytes, with their MIME type beside them.
#[derive(Clone)]
pub struct MediaStore {
    dir: PathBuf,
}

impl MediaStore {
    pub fn new(dir: impl Into<PathBuf>) -> MediaStore {
        MediaStore { dir: dir.into() }
    }

    fn path(&self, hash: &str) -> Option<PathBuf> {
        // Only ever a 64-hex name: nothing else can reach the file system.
        (hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| self.dir.join(hash.to_ascii_lowercase()))
    }

    /// Stores `bytes` (written to a temporary file, then renamed) and returns their hash and the
    /// type recorded for them: sniffed from the bytes, the declared one only when they agree.
    pub async fn put(&self, bytes: &[u8], declared: &str) -> std::io::Result<(String, String)> {
        let content_type = stored_type(bytes, declared);
        let hash = hex::encode(Sha256::digest(bytes));
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.dir.join(&hash);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            let temporary = self.dir.join(format!(".{hash}.{}", uuid::Uuid::now_v7().simple()));
            tokio::fs::write(&temporary, bytes).await?;
            tokio::fs::rename(&temporary, &path).await?;
        }
        tokio::fs::write(mime_path(&path), content_type.as_bytes()).await?;
        Ok((hash, content_type))
    }

    /// The bytes and MIME type stored under `hash`.
    pub async fn get(&self, hash: &str) -> Option<(Vec<u8>, String)> {
        let path = self.path(hash)?;
        let bytes = tokio::fs::read(&path).await.ok()?;
        let mime =
            tokio::fs::read_to_string(mime_path(&path)).await.unwrap_or_else(|_| "application/octet-stream".to_owned());
        Some((bytes, mime))
    }
}

impl MediaStore {
    /// Deletes the file stored under `hash` and its type (data protection: an erased customer's
    /// or a deleted ticket's file nobody else holds); `false` when there was none.
    pub async fn delete(&self, hash: &str) -> std::io::Result<bool> {
        let Some(path) = self.path(hash) else { return Ok(false) };
        let _ = tokio::fs::remove_file(mime_path(&path)).await;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }
}

fn mime_path(path: &Path) -> PathBuf {
    path.with_extension("mime")
}

/// Types a browser may show in place: raster images, audio and video. Everything else (HTML,
/// SVG, XML, scripts, PDF, text, office files…) is only ever downloaded.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "audio/mpeg",
    "audio/ogg",
    "audio/aac",
    "audio/mp4",
    "audio/amr",
    "audio/wav",
    "audio/x-wav",
    "audio/webm",
    "video/mp4",
    "video/webm",
    "video/3gpp",
    "video/quicktime",
];

/// `type/subtype` in lower case, without parameters; `None` when `text` is not a media type.
fn essence(text: &str) -> Option<String> {
    let parsed: mime::Mime = text.trim().parse().ok()?;
    Some(parsed.essence_str().to_ascii_lowercase())
}

/// The type to record for `bytes` sent as `declared`. Senders lie (an SVG called `image/png`, an
/// HTML page called a PDF), so the bytes decide: a recognised signature wins, and the declared
/// type is kept only when it agrees (same type, or same subtype as with `audio/mp4` and
/// `video/mp4`). Bytes with no signature keep a well-formed declared type unless it claims to be
/// something a browser would show in place, which only a signature can vouch for.
pub fn stored_type(bytes: &[u8], declared: &str) -> String {
    const UNKNOWN: &str = "application/octet-stream";
    let declared_essence = essence(declared).filter(|_| valid_header_value(declared));
    match (infer::get(bytes).map(|kind| kind.mime_type()), declared_essence) {
        (Some(sniffed), Some(claimed)) => {
            let subtype = |text: &str| text.split('/').nth(1).map(str::to_owned);
            if claimed == sniffed || (subtype(&claimed) == subtype(sniffed) && claimed.starts_with("audio/")) {
                declared.trim().to_owned()
            } else {
                sniffed.to_owned()
            }
        }
        (Some(sniffed), None) => sniffed.to_owned(),
        (None, Some(claimed)) if !INLINE_TYPES.contains(&claimed.as_str()) => declared.trim().to_owned(),
        (None, _) => UNKNOWN.to_owned(),
    }
}

fn valid_header_value(text: &str) -> bool {
    !text.is_empty() && text.len() <= 200 && text.bytes().all(|byte| (0x20..0x7f).contains(&byte))
}

/// How a stored file goes out: its type (checked again against the bytes, so files stored
/// before sniffing are covered) and whether it may be shown in place.
#[derive(Debug, PartialEq, Eq)]
pub struct Served {
    pub content_type: String,
    pub inline: bool,
}

pub fn served(bytes: &[u8], recorded: &str) -> Served {
    let content_type = stored_type(bytes, recorded);
    let inline = essence(&content_type).is_some_and(|essence| INLINE_TYPES.contains(&essence.as_str()));
    Served { content_type, inline }
}

/// A file in this store as a message attachment.
pub fn attachment(file_name: String, content_type: String, size: usize, hash: &str) -> Attachment {
    Attachment {
        file_name,
        content_type,
        size: size as i64,
        url: format!("/api/v1/media/{hash}"),
        status: "stored".to_owned(),
        media_id: None,
        attempts: 0,
        error: None,
    }
}

/// The attachment after a successful fetch.
pub fn stored(mut attachment: Attachment, hash: &str, size: usize, content_type: String) -> Attachment {
    attachment.status = "stored".to_owned();
    attachment.url = format!("/api/v1/media/{hash}");
    attachment.size = size as i64;
    attachment.content_type = content_type;
    attachment.error = None;
    attachment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_are_stored_by_content_and_names_are_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let store = MediaStore::new(dir.path());
        let (hash, kind) = store.put(b"hello", "text/plain").await.expect("put");
        assert_eq!(hash, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(kind, "text/plain");
        assert_eq!(store.get(&hash).await, Some((b"hello".to_vec(), "text/plain".to_owned())));
        assert_eq!(store.put(b"hello", "text/plain").await.expect("again").0, hash, "same bytes, same file");
        assert_eq!(store.get("../../etc/passwd").await, None);
        assert_eq!(max_bytes("image/jpeg"), 5 * 1024 * 1024);
        assert_eq!(max_bytes("application/pdf"), 100 * 1024 * 1024);
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const HTML: &[u8] = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
    const SVG: &[u8] = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>";

    #[test]
    fn the_bytes_decide_the_type() {
        assert_eq!(stored_type(PNG, "image/png"), "image/png");
        assert_eq!(stored_type(PNG, "application/pdf"), "image/png", "a lie is corrected");
        assert_eq!(stored_type(HTML, "image/png"), "text/html", "HTML dressed as an image is HTML");
        assert_eq!(stored_type(SVG, "image/png"), "application/octet-stream", "an unproven image is not one");
        assert_eq!(stored_type(b"plain words", "text/plain; charset=utf-8"), "text/plain; charset=utf-8");
        assert_eq!(stored_type(b"x", "not a type"), "application/octet-stream");
        assert_eq!(stored_type(b"x", "text/plain\r\nSet-Cookie: a=b"), "application/octet-stream");
        assert_eq!(stored_type(b"OggS\0\x02", "audio/ogg; codecs=opus"), "audio/ogg; codecs=opus");
    }

    #[test]
    fn only_proven_images_audio_and_video_are_shown_in_place() {
        assert_eq!(served(PNG, "image/png"), Served { content_type: "image/png".to_owned(), inline: true });
        for (bytes, declared) in [
            (HTML, "text/html"),
            (SVG, "image/svg+xml"),
            (SVG, "image/png"),
            (b"%PDF-1.7\n".as_slice(), "application/pdf"),
            (b"alert(1)".as_slice(), "application/javascript"),
            (b"<?xml version='1.0'?><a/>".as_slice(), "text/xml"),
            (b"x".as_slice(), "\u{7f}broken"),
        ] {
            assert!(!served(bytes, declared).inline, "{declared} must download");
        }
    }
}
