//! `switchboard keys rotate`: every stored secret re-sealed under a new master key, with
//! nothing left under the old one. Run it with the hub stopped on every node (a running node
//! holds only the old key).
//!
//! Crash safety, step by step:
//! 0. The database is opened with the node's current keys: the wrong key stops it here, with
//!    nothing written.
//! 1. The new key is written to `<key file>.next` (mode 0600, through a temporary file and a
//!    rename, so it is whole or absent) before any value moves. A rotation that finds this file
//!    resumes with its key instead of making another.
//! 2. Every value not under the new key is re-sealed, row by row, each by a compare-and-set.
//!    Meanwhile (and after a crash here) every node that starts reads both files, so values
//!    under either key open.
//! 3. The store is counted again: nothing may remain under any other key, nor in plaintext.
//! 4. With a key file, `.next` is renamed over it (atomic): the old key is gone. With
//!    `security.master_key`, the operator sets the new key (printed) on every node; until then
//!    `.next` keeps the values readable.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::key_file::{self, KeyOrigin};
use super::{Keyring, MasterKey};
use crate::config::Settings;

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key: MasterKey,
    /// Rows whose secrets moved to the new key.
    pub moved: u64,
    /// Where the new key now is: the key file, or (with `security.master_key`) the pending
    /// file the operator's new setting replaces.
    pub key_path: std::path::PathBuf,
    pub configured: bool,
}

/// Rotates the master key of the database in `settings` (see the module's steps).
pub async fn rotate(settings: &Settings) -> anyhow::Result<Rotated> {
    let loaded = key_file::load(settings)?;
    let old = loaded.keyring.primary().clone();
    // First the keys this node has now must open the database (else: the wrong-key error, and
    // nothing written, not even a pending key).
    drop(
        crate::storage::open(&settings.store_settings_with(loaded.keyring.clone()))
            .await
            .context("opening the database with the current key")?,
    );
    let pending_path = key_file::pending_path(&loaded.path);
    let new = match loaded.pending.clone().filter(|pending| *pending != old) {
        Some(pending) => pending,
        None => {
            // A `.next` equal to the configured key is a finished rotation's: a new one starts.
            remove_if_present(&pending_path)?;
            let key = MasterKey::generate();
            write_pending(&pending_path, &key)?;
            key
        }
    };
    let keyring = Keyring::new(new.clone()).with_readable(old.clone());
    let opened = crate::storage::open(&settings.store_settings_with(keyring))
        .await
        .context("opening the database with the old and the new key")?;
    let moved = opened.secrets.reseal(false).await.context("re-sealing the stored secrets")?;
    let census = opened.secrets.census().await.context("counting the stored secrets")?;
    let left: u64 = census.by_key.iter().filter(|(id, _)| id.as_str() != new.id()).map(|(_, count)| count).sum();
    if left > 0 || census.plaintext > 0 {
        bail!(
            "{left} secrets are still under another key and {} in plaintext (written while rotating?): run \
             `switchboard keys rotate` again with every node stopped",
            census.plaintext
        );
    }
    let configured = loaded.origin == KeyOrigin::Configured;
    let key_path = if configured {
        pending_path
    } else {
        std::fs::rename(&pending_path, &loaded.path)
            .with_context(|| format!("replacing {} with the new key", loaded.path.display()))?;
        key_file::sync_directory(&loaded.path).context("syncing the key file's directory")?;
        loaded.path
    };
    Ok(Rotated { old_key_id: old.id().to_owned(), new_key: new, moved, key_path, configured })
}

/// Writes the pending key whole or not at all: a temporary file, then a rename.
fn write_pending(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    remove_if_present(&temporary)?;
    key_file::write_new(&temporary, key)?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    key_file::sync_directory(path).context("syncing the key file's directory")?;
    Ok(())
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `switchboard keys rotate`, printed for the operator.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let rotated = rotate(settings).await?;
    println!(
        "re-sealed {} rows of secrets under the new master key {} (old key {}: nothing in the database is under it any more)",
        rotated.moved,
        rotated.new_key.id(),
        rotated.old_key_id
    );
    if rotated.configured {
        println!(
            "The master key comes from security.master_key: set it to the new key on every node, then start them:"
        );
        println!("  SWITCHBOARD__SECURITY__MASTER_KEY={}", rotated.new_key.to_base64().as_str());
        println!(
            "Until then the new key is in {} (mode 0600), which nodes using this data directory read too; delete it \
             once the setting is changed.",
            rotated.key_path.display()
        );
    } else {
        println!("The new key is in {} (mode 0600); back it up apart from the database.", rotated.key_path.display());
    }
    println!("Backups taken before now still need the old key {}.", rotated.old_key_id);
    Ok(())
}
