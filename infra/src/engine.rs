//! The embedded DynamoDB-compatible engine (dynoxide, on SQLite), served on a
//! loopback port so that the store code talks DynamoDB's HTTP protocol exactly as
//! it does on AWS.

use std::net::SocketAddr;
use std::path::Path;

/// A running embedded engine; it stops when the process ends.
pub struct Engine {
    pub url: String,
}

impl Engine {
    /// Serves the SQLite database at `path` (created if absent) on `addr`.
    pub async fn persistent(path: &Path, addr: SocketAddr) -> anyhow::Result<Self> {
        let path = path
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the data path is not UTF-8"))?;
        let db =
            dynoxide::Database::new(path).map_err(|e| anyhow::anyhow!("opening {path}: {e}"))?;
        Self::serve(db, addr).await
    }

    /// Serves a fresh in-memory database on an ephemeral loopback port.
    pub async fn in_memory() -> anyhow::Result<Self> {
        let db =
            dynoxide::Database::memory().map_err(|e| anyhow::anyhow!("in-memory engine: {e}"))?;
        Self::serve(db, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    async fn serve(db: dynoxide::Database, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(dynoxide::server::serve_on(listener, db));
        Ok(Self { url })
    }
}
