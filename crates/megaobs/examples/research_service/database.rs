//! The database: a fixed pool of in-memory SQLite connections, each holding
//! the [`DOCUMENTS`] table. The `database_connections{state}` gauge follows
//! the pool as connections are taken and given back.

use std::sync::Mutex;

use megaobs::MetricsCollector;

use crate::documents::DOCUMENTS;

/// A fixed pool of SQLite connections.
pub struct Pool {
    idle: Mutex<Vec<rusqlite::Connection>>,
    size: usize,
}

impl Pool {
    /// Opens `size` connections and loads the documents into each.
    pub fn new(size: usize) -> rusqlite::Result<Self> {
        let mut conns = Vec::with_capacity(size);
        for _ in 0..size {
            let c = rusqlite::Connection::open_in_memory()?;
            c.execute_batch("CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)")?;
            for (i, (title, body)) in DOCUMENTS.iter().enumerate() {
                c.execute(
                    "INSERT INTO documents (id, title, body) VALUES (?1, ?2, ?3)",
                    (i as i64, title, body),
                )?;
            }
            conns.push(c);
        }
        Ok(Self {
            idle: Mutex::new(conns),
            size,
        })
    }

    /// Runs `f` on an idle connection; `None` when none is idle.
    pub fn with<T>(
        &self,
        c: &MetricsCollector,
        f: impl FnOnce(&rusqlite::Connection) -> T,
    ) -> Option<T> {
        let conn = {
            let mut idle = self.idle.lock().ok()?;
            let conn = idle.pop()?;
            c.set_database_connections((self.size - idle.len()) as i64, idle.len() as i64);
            conn
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().ok()?;
        idle.push(conn);
        c.set_database_connections((self.size - idle.len()) as i64, idle.len() as i64);
        Some(out)
    }
}
