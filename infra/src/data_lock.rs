//! One process at a time opens the local data directly.
//!
//! The process that opens the data directory's database runs its engine: `serve`,
//! or an admin command while no `serve` runs. Every other process reaches the data
//! through that engine's port (`target.rs`), so every write passes through one
//! engine, which is what keeps `serve`'s client memo exact
//! (`gatehouse_core::store::client_memo`). An exclusive lock on a file in the
//! directory, held for the engine's life, makes that so: without it, a command
//! that opened the data just before `serve` started could write behind `serve`'s
//! back. The operating system releases the lock when the process ends, however it
//! ends.

use crate::private_data;
use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "engine.lock";
/// How long a process waits for another to finish with the data.
const WAIT: Duration = Duration::from_secs(15);

/// The data directory's lock, held until dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// Where the data is to be reached.
pub enum Reach<T> {
    /// Here: this process holds the lock and opens the database.
    Here(DataLock),
    /// Through another process's engine, as `elsewhere` found it.
    Elsewhere(T),
}

/// Takes the lock of `dir`; while another process holds it, returns what
/// `elsewhere` finds (a running server's engine) as soon as it finds it, and
/// while it finds nothing (a short admin command, or a `serve` starting) waits up
/// to [`WAIT`].
pub async fn lock_or<T>(
    dir: &Path,
    mut elsewhere: impl FnMut() -> Option<T>,
) -> anyhow::Result<Reach<T>> {
    let path = dir.join(LOCK_FILE);
    let file = private_data::open_private(&path, false)?;
    let deadline = Instant::now() + WAIT;
    loop {
        match file.try_lock() {
            // No other process has the data open, whatever files an earlier
            // `serve` that was killed left behind.
            Ok(()) => return Ok(Reach::Here(DataLock { _file: file })),
            Err(TryLockError::WouldBlock) => {
                if let Some(found) = elsewhere() {
                    return Ok(Reach::Elsewhere(found));
                }
                if Instant::now() >= deadline {
                    anyhow::bail!(
                        "the local data in {} stayed in use by another gatehouse process for {} s",
                        dir.display(),
                        WAIT.as_secs()
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(TryLockError::Error(e)) => {
                anyhow::bail!("locking {}: {e}", path.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_opener_finds_the_first_one_s_engine_or_waits_for_its_lock() {
        let dir = std::env::temp_dir().join(format!("gatehouse-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = dir.as_path();
        let Reach::Here(held) = lock_or(dir, || None::<()>).await.unwrap() else {
            panic!("the first opener takes the lock");
        };
        // While it is held, another opener is sent to the running engine.
        let mut asked = 0;
        let found = lock_or(dir, || {
            asked += 1;
            (asked > 2).then_some("engine")
        })
        .await
        .unwrap();
        assert!(matches!(found, Reach::Elsewhere("engine")));
        // Released, it can be taken again.
        drop(held);
        assert!(matches!(
            lock_or(dir, || None::<()>).await.unwrap(),
            Reach::Here(_)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
