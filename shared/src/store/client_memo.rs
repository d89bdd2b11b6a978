//! A memo of client records, for a process through which every write to its
//! tables passes: `gatehouse serve` on its own embedded engine.
//!
//! A client's record is read at every client authentication (RFC 6749 §2.3,
//! §3.2.1), and for a machine-to-machine client it is the only read a token
//! costs. Kept in memory, a record could outlive its deletion or its secret's
//! rotation, so it is kept only where staleness is impossible: the engine that
//! holds the tables forgets every memo entry after each operation that may write
//! ([`ClientMemo::forget_all`]), before that operation's answer is returned. A
//! change to a client is therefore seen by every authentication that starts after
//! the change was acknowledged, as without the memo.
//!
//! A read that races a write cannot leave the old record behind: the memo has a
//! generation, which each `forget_all` advances, and a record read from the store
//! is kept only if the generation is still the one seen before the read
//! ([`ClientMemo::keep`]).
//!
//! On AWS no process sees every write (each Lambda function, each admin command
//! writes to DynamoDB directly), so there is no memo there: every authentication
//! reads the record.
//!
//! Only records that exist are kept, so unknown client ids cannot fill the memo;
//! it holds at most [`CAPACITY`] clients, and when full keeps no more until the
//! next write empties it.

use crate::domain::client::Client;
use std::collections::HashMap;
use std::sync::Mutex;

/// The most client records kept (each is well under a kilobyte).
pub const CAPACITY: usize = 4096;

/// Client records by id, valid until the next write to the engine.
#[derive(Debug, Default)]
pub struct ClientMemo {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    clients: HashMap<String, Client>,
}

/// What [`ClientMemo::look_up`] found: the record, or the generation to quote
/// when keeping the record read instead.
pub enum LookUp {
    Found(Box<Client>),
    Missing(Generation),
}

/// The memo's generation when a lookup missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64);

impl ClientMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing under the lock can panic halfway through a change.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The record of `client_id` if it is kept.
    pub fn look_up(&self, client_id: &str) -> LookUp {
        let inner = self.lock();
        match inner.clients.get(client_id) {
            Some(c) => LookUp::Found(Box::new(c.clone())),
            None => LookUp::Missing(Generation(inner.generation)),
        }
    }

    /// Keeps `client`, read from the store after a lookup that returned
    /// `seen`, unless a write may have happened since (the generation moved) or
    /// the memo is full.
    pub fn keep(&self, seen: Generation, client: &Client) {
        let mut inner = self.lock();
        if inner.generation == seen.0 && inner.clients.len() < CAPACITY {
            inner
                .clients
                .insert(client.client_id.clone(), client.clone());
        }
    }

    /// Forgets every record: called by the engine after each operation that may
    /// write, before its answer is returned.
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.clients.clear();
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.lock().clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::ClientType;

    fn client(id: &str) -> Client {
        Client::for_tests(id, ClientType::Confidential, &[])
    }

    fn missing(memo: &ClientMemo, id: &str) -> Generation {
        match memo.look_up(id) {
            LookUp::Missing(g) => g,
            LookUp::Found(_) => panic!("{id} was kept"),
        }
    }

    #[test]
    fn a_record_kept_is_found_until_a_write() {
        let memo = ClientMemo::default();
        let seen = missing(&memo, "a");
        memo.keep(seen, &client("a"));
        assert!(matches!(memo.look_up("a"), LookUp::Found(c) if c.client_id == "a"));
        memo.forget_all();
        missing(&memo, "a");
    }

    #[test]
    fn a_record_read_across_a_write_is_not_kept() {
        let memo = ClientMemo::default();
        let seen = missing(&memo, "a");
        // A write lands (and is forgotten) between the lookup and the read.
        memo.forget_all();
        memo.keep(seen, &client("a"));
        assert!(memo.is_empty());
        missing(&memo, "a");
    }

    #[test]
    fn a_full_memo_keeps_no_more() {
        let memo = ClientMemo::default();
        let seen = missing(&memo, "x");
        for i in 0..CAPACITY + 10 {
            memo.keep(seen, &client(&format!("c{i}")));
        }
        assert_eq!(memo.len(), CAPACITY);
        missing(&memo, &format!("c{}", CAPACITY + 5));
        memo.forget_all();
        assert!(memo.is_empty());
    }
}
