//! Where a node's master key comes from: `security.master_key` when set, else the key file
//! (`security.key_file`; by default `master.key` beside the SQLite database, or
//! `data/master.key` with PostgreSQL), created on first run with mode 0600 and refused when
//! anyone but its owner may read it. Beside it, `<key file>.next` exists only while a rotation
//! is unfinished (written before the first value moves, renamed over the key file once none is
//! left under the old key): a node that finds it opens values under either key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Keyring, MasterKey, parse_key};
use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("security.master_key: {0}")]
    BadConfiguredKey(String),
    #[error("the key file {path}: {message}")]
    BadFile { path: String, message: String },
    #[error(
        "the key file {path} may be read by others than its owner (mode {mode:o}); the master key must stay \
         private: run `chmod 600 {path}`"
    )]
    LooseMode { path: String, mode: u32 },
    #[error("cannot {action} the key file {path}: {source}")]
    Io { action: &'static str, path: String, source: std::io::Error },
}

/// Where the node's key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `security.master_key` (the environment or a configuration file).
    Configured,
    /// The key file, read as it was.
    File(PathBuf),
    /// The key file, created now (first run).
    Created(PathBuf),
}

/// The node's keys and where they came from.
#[derive(Clone, Debug)]
pub struct LoadedKeys {
    pub keyring: Keyring,
    pub origin: KeyOrigin,
    /// The new key of an unfinished rotation, if one is pending.
    pub pending: Option<MasterKey>,
    /// The key file's path (used or not) and the pending key's.
    pub path: PathBuf,
}

/// The key file in effect for these settings.
pub fn path_for(settings: &Settings) -> PathBuf {
    let configured = settings.security.key_file.trim();
    if !configured.is_empty() {
        return PathBuf::from(configured);
    }
    let url = settings.database.url.expose();
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = rest.split('?').next().unwrap_or_default();
        if let Some(parent) = Path::new(file).parent().filter(|_| !file.is_empty() && file != ":memory:") {
            return parent.join("master.key");
        }
    }
    PathBuf::from("data/master.key")
}

/// The pending key of a rotation: `<key file>.next`.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The node's keys: the configured key or the key file's (created on first run), plus the
/// pending key of an unfinished rotation.
pub fn load(settings: &Settings) -> Result<LoadedKeys, KeyError> {
    let path = path_for(settings);
    let pending = read(&pending_path(&path))?;
    let (primary, origin) = if !settings.security.master_key.is_empty() {
        let key = parse_key(settings.security.master_key.expose()).map_err(KeyError::BadConfiguredKey)?;
        (key, KeyOrigin::Configured)
    } else {
        match read(&path)? {
            Some(key) => (key, KeyOrigin::File(path.clone())),
            None => {
                let key = MasterKey::generate();
                match write_new(&path, &key) {
                    Ok(()) => (key, KeyOrigin::Created(path.clone())),
                    // Another process on this data directory created it first: use theirs.
                    Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                        let key = read(&path)?.ok_or_else(|| KeyError::BadFile {
                            path: path.display().to_string(),
                            message: "it vanished while being created".to_owned(),
                        })?;
                        (key, KeyOrigin::File(path.clone()))
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    };
    let mut keyring = Keyring::new(primary);
    if let Some(pending) = &pending {
        keyring = keyring.with_readable(pending.clone());
    }
    Ok(LoadedKeys { keyring, origin, pending, path })
}

/// [`load`], telling the operator when a key file was just created (back it up) and when a
/// rotation was left unfinished.
pub fn load_logged(settings: &Settings) -> Result<LoadedKeys, KeyError> {
    let keys = load(settings)?;
    let id = keys.keyring.primary().id();
    if let KeyOrigin::Created(path) = &keys.origin {
        tracing::warn!(key_id = %id, path = %path.display(), "created the master key file: back it up apart from the database");
    }
    if let Some(pending) = keys.pending.as_ref().filter(|pending| pending.id() != id) {
        tracing::warn!(key_id = %id, pending = %pending.id(), "a key rotation is unfinished: run `switchboard keys rotate` again");
    }
    Ok(keys)
}

/// The key in `path`, or `None` when there is no such file; a file anyone else may read is
/// refused.
pub fn read(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    let shown = || path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(KeyError::Io { action: "read", path: shown(), source }),
    };
    if !metadata.is_file() {
        return Err(KeyError::BadFile { path: shown(), message: "it is not a regular file".to_owned() });
    }
    check_mode(path, &metadata)?;
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        action: "read",
        path: shown(),
        source,
    })?);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#'));
    let Some(line) = line else {
        return Err(KeyError::BadFile { path: shown(), message: "it holds no key".to_owned() });
    };
    parse_key(line).map(Some).map_err(|message| KeyError::BadFile { path: shown(), message })
}

#[cfg(unix)]
fn check_mode(path: &Path, metadata: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::LooseMode { path: path.display().to_string(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

/// Writes `key` to a new file at `path` (mode 0600, never over an existing file), durably.
pub fn write_new(path: &Path, key: &MasterKey) -> Result<(), KeyError> {
    let shown = || path.display().to_string();
    let io = |action: &'static str| move |source| KeyError::Io { action, path: path.display().to_string(), source };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("create the directory of"))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io("create"))?;
    let text = zeroize::Zeroizing::new(format!(
        "# Switchboard master key {id}: it seals the secrets stored in the database (XChaCha20-Poly1305).\n\
         # Keep this file private (mode 0600) and back it up apart from the database: without it the\n\
         # database's secrets cannot be read. Replace it only with `switchboard keys rotate`.\n{key}\n",
        id = key.id(),
        key = key.to_base64().as_str(),
    ));
    file.write_all(text.as_bytes()).map_err(io("write"))?;
    file.sync_all().map_err(io("write"))?;
    sync_directory(path).map_err(|source| KeyError::Io { action: "write", path: shown(), source })
}

/// Makes a file's creation or renaming in its directory durable.
pub fn sync_directory(path: &Path) -> std::io::Result<()> {
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings_in(dir: &Path) -> Settings {
        let mut settings = Settings::default();
        settings.database.url = Secret(format!("sqlite://{}/data/switchboard.db", dir.display()));
        settings
    }

    #[test]
    fn the_key_file_is_created_once_beside_the_database_with_mode_0600() {
        let dir = tempfile::tempdir().expect("dir");
        let settings = settings_in(dir.path());
        let first = load(&settings).expect("created");
        let path = dir.path().join("data/master.key");
        assert_eq!(first.origin, KeyOrigin::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = load(&settings).expect("read");
        assert_eq!(again.origin, KeyOrigin::File(path));
        assert_eq!(again.keyring.primary(), first.keyring.primary());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let settings = settings_in(dir.path());
        load(&settings).expect("created");
        let path = path_for(&settings);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = load(&settings).expect_err("refused").to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn a_configured_key_wins_and_a_bad_one_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = settings_in(dir.path());
        let key = MasterKey::generate();
        settings.security.master_key = Secret(key.to_base64().to_string());
        let loaded = load(&settings).expect("configured");
        assert_eq!(loaded.origin, KeyOrigin::Configured);
        assert_eq!(loaded.keyring.primary(), &key);
        assert!(!path_for(&settings).exists(), "no key file is made when the key is configured");
        settings.security.master_key = Secret("dG9vIHNob3J0".to_owned());
        let error = load(&settings).expect_err("short").to_string();
        assert!(error.starts_with("security.master_key: the master key must be 32 bytes"), "{error}");
    }
}
