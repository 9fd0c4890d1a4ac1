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

    /// Stores `bytes` (written to a temporary file, then renamed) and returns their hash.
    pub async fn put(&self, bytes: &[u8], content_type: &str) -> std::io::Result<String> {
        let hash = hex::encode(Sha256::digest(bytes));
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.dir.join(&hash);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            let temporary = self.dir.join(format!(".{hash}.{}", uuid::Uuid::now_v7().simple()));
            tokio::fs::write(&temporary, bytes).await?;
            tokio::fs::rename(&temporary, &path).await?;
        }
        tokio::fs::write(mime_path(&path), content_type.as_bytes()).await?;
        Ok(hash)
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

fn mime_path(path: &Path) -> PathBuf {
    path.with_extension("mime")
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
        let hash = store.put(b"hello", "text/plain").await.expect("put");
        assert_eq!(hash, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(store.get(&hash).await, Some((b"hello".to_vec(), "text/plain".to_owned())));
        assert_eq!(store.put(b"hello", "text/plain").await.expect("again"), hash, "same bytes, same file");
        assert_eq!(store.get("../../etc/passwd").await, None);
        assert_eq!(max_bytes("image/jpeg"), 5 * 1024 * 1024);
        assert_eq!(max_bytes("application/pdf"), 100 * 1024 * 1024);
    }
}
