//! The local data directory is its owner's alone: the directory is 0700 and every
//! file in it 0600 (the database with the signing keys and the session secret,
//! SQLite's side files, the engine's URL and credentials), whatever the umask.
//!
//! Files are created with their mode (`OpenOptions::mode`, then `fchmod` to undo
//! any umask); a directory or file left more open by an earlier version is
//! tightened, and `serve` says so once on stderr. SQLite creates its `-wal`,
//! `-shm` and journal files itself, with the permission bits of the database
//! file (its unix VFS reads them from the database and `fchmod`s each new file
//! to them, past the umask), so the database is created 0600 before SQLite opens
//! it, and the directory is swept again after opening. The process umask is
//! left alone: it is process-wide and other threads may create files meanwhile.

use gatehouse_core::dynamodb::EndpointCredentials;
use gatehouse_core::secret::{Secret, random_id};
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of the data directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in it.
pub const FILE_MODE: u32 = 0o600;
/// The engine's credentials, beside the data.
pub const CREDENTIALS_FILE: &str = "engine-credentials";

/// Creates `dir` 0700 (with any missing parents), or removes group and other
/// access from it and from every file in it; says on stderr what was tightened.
pub fn secure_dir(dir: &Path) -> anyhow::Result<()> {
    let mut tightened = Vec::new();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
            std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))?;
        }
        Err(e) => anyhow::bail!("reading {}: {e}", dir.display()),
        Ok(meta) => {
            let meta = if meta.file_type().is_symlink() {
                std::fs::metadata(dir)?
            } else {
                meta
            };
            anyhow::ensure!(meta.is_dir(), "{} is not a directory", dir.display());
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                std::fs::set_permissions(dir, Permissions::from_mode(mode & 0o700))?;
                tightened.push(format!("{} (was {mode:04o})", dir.display()));
            }
        }
    }
    tightened.extend(tighten_files(dir)?);
    report(dir, &tightened);
    Ok(())
}

/// Removes group and other access from every regular file in `dir` (symbolic
/// links are left alone: their targets are not ours to change); returns what
/// was tightened.
pub fn tighten_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut tightened = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if !meta.file_type().is_file() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(entry.path(), Permissions::from_mode(mode & 0o700))?;
            tightened.push(format!(
                "{} (was {mode:04o})",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    Ok(tightened)
}

/// Says once, on stderr, what was tightened in `dir`.
pub fn report(dir: &Path, tightened: &[String]) {
    if !tightened.is_empty() {
        eprintln!(
            "made the local data in {} private to its owner (directory 0700, files 0600): {}",
            dir.display(),
            tightened.join(", ")
        );
    }
}

/// Opens `path` for writing, created 0600 if absent; an existing file keeps its
/// content (`truncate` says otherwise) and is made 0600.
pub(crate) fn open_private(path: &Path, truncate: bool) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(FILE_MODE)
        .open(path)?;
    // The umask may have taken bits off; an older file may have more.
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Writes `contents` to `path`, which is (or becomes) 0600.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = open_private(path, true)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Creates the file at `path` empty and 0600 unless it exists (the SQLite
/// database, before SQLite opens it).
pub fn create_private(path: &Path) -> std::io::Result<()> {
    open_private(path, false).map(drop)
}

/// The engine credentials in `dir`, created on first use: an access key id and a
/// 256-bit random secret, in a 0600 file.
pub fn engine_credentials(dir: &Path) -> anyhow::Result<EndpointCredentials> {
    let path = dir.join(CREDENTIALS_FILE);
    if path.exists() {
        return read_credentials(dir);
    }
    let fresh = crate::engine::new_credentials();
    let json = serde_json::json!({
        "access_key_id": fresh.access_key_id,
        "secret_access_key": fresh.secret_access_key.expose(),
    });
    // Written whole under another name, then linked into place: a command
    // starting at the same moment reads either no file or the complete one, and
    // of two first starts one set of credentials wins.
    let tmp: PathBuf = dir.join(format!(
        ".{CREDENTIALS_FILE}.{}",
        random_id().replace(['-', '_'], "")
    ));
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&tmp)
        .and_then(|mut f| {
            f.set_permissions(Permissions::from_mode(FILE_MODE))?;
            f.write_all(json.to_string().as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => Ok(fresh),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_credentials(dir),
        Err(e) => Err(anyhow::anyhow!("writing {}: {e}", path.display())),
    }
}

/// The engine credentials a `serve` on `dir` uses.
pub fn read_credentials(dir: &Path) -> anyhow::Result<EndpointCredentials> {
    let path = dir.join(CREDENTIALS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading the engine credentials {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match (v["access_key_id"].as_str(), v["secret_access_key"].as_str()) {
        (Some(id), Some(secret)) if !id.is_empty() && secret.len() >= 32 => {
            Ok(EndpointCredentials::new(id, Secret::new(secret)))
        }
        _ => anyhow::bail!(
            "{} does not hold an access_key_id and a secret_access_key of at least 32 characters; \
             stop any gatehouse serve on {} and delete the file to have new ones made",
            path.display(),
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-private-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn an_open_directory_and_its_files_are_tightened() {
        let dir = temp("open");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        let db = dir.join("gatehouse.db");
        std::fs::write(&db, b"x").unwrap();
        std::fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        secure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(std::fs::read(&db).unwrap(), b"x", "content kept");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn credentials_are_made_once_then_reused_and_a_broken_file_is_refused() {
        let dir = temp("creds");
        secure_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let first = engine_credentials(&dir).unwrap();
        assert_eq!(mode(&dir.join(CREDENTIALS_FILE)), 0o600);
        assert_eq!(first.secret_access_key.expose().len(), 43, "256 bits");
        assert_eq!(engine_credentials(&dir).unwrap(), first);
        assert_eq!(read_credentials(&dir).unwrap(), first);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        write_private(&dir.join(CREDENTIALS_FILE), b"{\"access_key_id\":\"a\"}").unwrap();
        let err = engine_credentials(&dir).unwrap_err().to_string();
        assert!(err.contains("delete the file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
