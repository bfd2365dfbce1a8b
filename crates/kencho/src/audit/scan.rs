//! Verifying the whole log fast, over connections of its own and without sqlx's per-row
//! decoding. SQLite: two threads, each reading half the log by rowid and hashing what it reads
//! (every chain's stretches are then stitched together). PostgreSQL: the same halves by
//! physical position, each read through COPY on a connection of its own and hashed on a thread
//! of its own. Rows are read in storage order, which is each chain's order unless
//! someone moved rows about; a chain that comes out of order is read again by sequence number
//! before it is called broken.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use kencho_core::audit::{digest, parse_hash, stitch, ChainBreak, ChainCheck, Fields, Seen, Stretch};
use sqlx::Connection;
use tokio::sync::mpsc;

use super::ChainReport;
use crate::db::{Db, Dialect};
use crate::error::{AppError, Result};

/// Per tenant: (sequence number, entry hash) from signed checkpoints, ascending.
pub type Marks = HashMap<i64, Vec<(i64, [u8; 32])>>;

/// Rows per batch handed from the reader to the hasher.
const BATCH: usize = 8192;
const COLUMNS: &str = "tenant_id, seq, at, actor, action, target, detail, prev_hash, hash";

/// Rows read but not yet hashed: their text columns packed in one buffer.
#[derive(Default)]
struct Rows {
    buf: Vec<u8>,
    rows: Vec<RowAt>,
}

struct RowAt {
    tenant_id: i64,
    seq: i64,
    at_ms: i64,
    /// Where actor, action, target, detail, prev_hash and hash end in `buf` (each starts
    /// where the one before ended; the first at `start`).
    start: usize,
    ends: [usize; 6],
}

impl Rows {
    fn push(&mut self, tenant_id: i64, seq: i64, at_ms: i64, cols: [&[u8]; 6]) {
        let start = self.buf.len();
        let mut ends = [0; 6];
        for (i, c) in cols.iter().enumerate() {
            self.buf.extend_from_slice(c);
            ends[i] = self.buf.len();
        }
        self.rows.push(RowAt { tenant_id, seq, at_ms, start, ends });
    }

    fn full(&self) -> bool {
        self.rows.len() >= BATCH
    }
}

/// The hashing side, over one stretch of the log: one chain check per tenant, each starting
/// wherever that tenant's first row in the stretch is.
struct Walk {
    marks: Arc<Marks>,
    chains: HashMap<i64, Part>,
}

struct Part {
    first_seq: i64,
    first_prev: Option<[u8; 32]>,
    check: std::result::Result<ChainCheck, ChainBreak>,
    n: i64,
}

/// Per tenant: its stretch in one part of the log, and how many entries it checked.
type Parts = HashMap<i64, (Stretch, i64)>;

impl Walk {
    fn new(marks: Arc<Marks>) -> Walk {
        Walk { marks, chains: HashMap::new() }
    }

    fn feed(&mut self, rows: &Rows) {
        for r in &rows.rows {
            let col = |i: usize| &rows.buf[if i == 0 { r.start } else { r.ends[i - 1] }..r.ends[i]];
            self.feed_one(r.tenant_id, r.seq, r.at_ms, [col(0), col(1), col(2), col(3), col(4), col(5)]);
        }
    }

    /// One row: actor, action, target, detail, prev_hash and hash as stored.
    fn feed_one(&mut self, tenant_id: i64, seq: i64, at_ms: i64, cols: [&[u8]; 6]) {
        let fields = Fields {
            tenant_id,
            seq,
            at_ms,
            actor: cols[0],
            action: cols[1],
            target: cols[2],
            detail: cols[3],
            prev_hash: cols[4],
        };
        let seen = Seen { seq, computed: digest(&fields), stored: parse_hash(cols[5]), prev: parse_hash(cols[4]) };
        let marks = &self.marks;
        let part = self.chains.entry(tenant_id).or_insert_with(|| Part {
            first_seq: seen.seq,
            first_prev: seen.prev,
            check: Ok(ChainCheck::resume(&seen, marks.get(&tenant_id).cloned().unwrap_or_default())),
            n: 0,
        });
        if let Ok(check) = &mut part.check {
            match check.push(&seen) {
                Ok(()) => part.n += 1,
                Err(e) => part.check = Err(e),
            }
        }
    }

    fn parts(self) -> Parts {
        self.chains
            .into_iter()
            .map(|(t, p)| {
                let outcome = p.check.map(|c| c.reached());
                (t, (Stretch { first_seq: p.first_seq, first_prev: p.first_prev, outcome }, p.n))
            })
            .collect()
    }
}

/// Joins the parts, in log order, into one report per chain.
fn finish(mut all: Vec<Parts>, heads: &Heads, marks: &Marks, only: Option<&HashSet<i64>>) -> Vec<ChainReport> {
    let mut tenants: HashSet<i64> = all.iter().flat_map(|p| p.keys().copied()).collect();
    tenants.extend(heads.keys());
    tenants.extend(marks.keys());
    if let Some(keep) = only {
        tenants.retain(|t| keep.contains(t));
    }
    let mut out: Vec<ChainReport> = tenants
        .into_iter()
        .map(|tenant_id| {
            let pieces: Vec<(Stretch, i64)> = all.iter_mut().filter_map(|p| p.remove(&tenant_id)).collect();
            let entries = pieces.iter().map(|(_, n)| n).sum();
            let cps = marks.get(&tenant_id).cloned().unwrap_or_default();
            let problem = stitch(pieces.into_iter().map(|(s, _)| s), heads.get(&tenant_id).copied(), cps).err();
            ChainReport { tenant_id, entries, problem }
        })
        .collect();
    out.sort_by_key(|r| r.tenant_id);
    out
}

/// Verifies every chain against its head and `marks`.
pub async fn verify(db: &Db, marks: Marks) -> Result<Vec<ChainReport>> {
    let marks = Arc::new(marks);
    let mut reports = pass(db, marks.clone(), None).await?;
    // Out of storage order: read those chains again, by sequence number.
    let again: HashSet<i64> = reports
        .iter()
        .filter(|r| matches!(r.problem, Some(ChainBreak::Sequence { .. })))
        .map(|r| r.tenant_id)
        .collect();
    if !again.is_empty() {
        let second = pass(db, marks, Some(again.clone())).await?;
        reports.retain(|r| !again.contains(&r.tenant_id));
        reports.extend(second);
        reports.sort_by_key(|r| r.tenant_id);
    }
    Ok(reports)
}

type Heads = HashMap<i64, (i64, [u8; 32])>;

/// One read of the log (all of it, or only some chains in sequence order), hashed as it comes.
async fn pass(db: &Db, marks: Arc<Marks>, only: Option<HashSet<i64>>) -> Result<Vec<ChainReport>> {
    let (heads, parts) = match db.dialect {
        Dialect::Sqlite => {
            let path = sqlite_path(&db.url)?;
            let (marks, only) = (marks.clone(), only.clone());
            tokio::task::spawn_blocking(move || read_sqlite(&path, only.as_ref(), &marks))
                .await
                .map_err(AppError::unexpected)??
        }
        Dialect::Postgres => read_postgres(&db.url, only.as_ref(), &marks).await?,
    };
    Ok(finish(parts, &heads, &marks, only.as_ref()))
}

/// The file behind a `sqlite://` URL.
fn sqlite_path(url: &str) -> Result<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return Err(AppError::Internal("the audit verifier needs a database file".into()));
    }
    Ok(path.to_string())
}

fn ordered(only: Option<&HashSet<i64>>) -> String {
    match only {
        None => format!("SELECT {COLUMNS} FROM audit_log"),
        Some(t) => {
            let list: Vec<String> = t.iter().map(|t| t.to_string()).collect();
            format!("SELECT {COLUMNS} FROM audit_log WHERE tenant_id IN ({}) ORDER BY tenant_id, seq", list.join(","))
        }
    }
}

fn sqlite_err(e: rusqlite::Error) -> AppError {
    AppError::Internal(format!("reading the audit log: {e}"))
}

fn open_sqlite(path: &str) -> Result<rusqlite::Connection> {
    // Each connection is used by one thread only: SQLite's per-call mutex is not needed.
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(sqlite_err)?;
    // One read transaction per connection: what it reads comes from one snapshot.
    conn.execute_batch("BEGIN").map_err(sqlite_err)?;
    Ok(conn)
}

/// Reads the log, in two halves by rowid on two threads (each reading and hashing its own),
/// or, for `only`, those chains in sequence order on one.
fn read_sqlite(path: &str, only: Option<&HashSet<i64>>, marks: &Arc<Marks>) -> Result<(Heads, Vec<Parts>)> {
    let sq = sqlite_err;
    let conn = open_sqlite(path)?;
    let mut heads = Heads::new();
    {
        let mut stmt = conn.prepare("SELECT tenant_id, seq, hash FROM audit_heads").map_err(sq)?;
        let mut rows = stmt.query([]).map_err(sq)?;
        while let Some(r) = rows.next().map_err(sq)? {
            let hash = parse_hash(r.get_ref(2).map_err(sq)?.as_bytes().unwrap_or_default()).unwrap_or([0xff; 32]);
            heads.insert(r.get(0).map_err(sq)?, (r.get(1).map_err(sq)?, hash));
        }
    }
    if only.is_some() {
        let mut walk = Walk::new(marks.clone());
        scan_sqlite(&conn, &ordered(only), [0, 0], &mut walk, false)?;
        return Ok((heads, vec![walk.parts()]));
    }
    let (lo, hi): (Option<i64>, Option<i64>) = conn
        .query_row("SELECT MIN(rowid), MAX(rowid) FROM audit_log", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sq)?;
    let (Some(lo), Some(hi)) = (lo, hi) else { return Ok((heads, Vec::new())) };
    let mid = lo + (hi - lo) / 2;
    let range = format!("SELECT {COLUMNS} FROM audit_log WHERE rowid >= ?1 AND rowid <= ?2");
    std::thread::scope(|s| {
        // The second half on a connection of its own, bounded by the first one's last rowid:
        // rows appended since are not part of this verification.
        let second = s.spawn(|| -> Result<Parts> {
            let other = open_sqlite(path)?;
            let mut walk = Walk::new(marks.clone());
            scan_sqlite(&other, &range, [mid + 1, hi], &mut walk, true)?;
            Ok(walk.parts())
        });
        let mut walk = Walk::new(marks.clone());
        scan_sqlite(&conn, &range, [lo, mid], &mut walk, true)?;
        let second = second.join().map_err(|_| AppError::Internal("the audit reader thread failed".into()))??;
        Ok((heads, vec![walk.parts(), second]))
    })
}

fn scan_sqlite(conn: &rusqlite::Connection, sql: &str, bounds: [i64; 2], walk: &mut Walk, bind: bool) -> Result<()> {
    let sq = sqlite_err;
    let mut stmt = conn.prepare(sql).map_err(sq)?;
    let mut rows = if bind { stmt.query(bounds).map_err(sq)? } else { stmt.query([]).map_err(sq)? };
    while let Some(r) = rows.next().map_err(sq)? {
        let text = |i: usize| -> Result<&[u8]> { Ok(r.get_ref(i).map_err(sq)?.as_bytes().unwrap_or_default()) };
        let cols = [text(3)?, text(4)?, text(5)?, text(6)?, text(7)?, text(8)?];
        walk.feed_one(r.get(0).map_err(sq)?, r.get(1).map_err(sq)?, r.get(2).map_err(sq)?, cols);
    }
    Ok(())
}

/// Reads the log in two halves by physical position (TID range scans, PostgreSQL 14 and
/// later), each on a connection of its own in one exported snapshot and hashed on a thread of
/// its own: one COPY keeps one server process busy and no more. For `only`, those chains in
/// sequence order on one connection.
async fn read_postgres(url: &str, only: Option<&HashSet<i64>>, marks: &Arc<Marks>) -> Result<(Heads, Vec<Parts>)> {
    let mut first = sqlx::postgres::PgConnection::connect(url).await?;
    // One snapshot for the heads and the rows.
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut first).await?;
    let mut heads = Heads::new();
    for r in sqlx::query_as::<_, (i64, i64, String)>("SELECT tenant_id, seq, hash FROM audit_heads")
        .fetch_all(&mut first)
        .await?
    {
        heads.insert(r.0, (r.1, parse_hash(r.2.as_bytes()).unwrap_or([0xff; 32])));
    }
    if only.is_some() {
        let part = hash_copy(&mut first, &ordered(only), marks).await?;
        sqlx::query("COMMIT").execute(&mut first).await?;
        return Ok((heads, vec![part]));
    }
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut first).await?;
    // The snapshot's name is made by the server (hex digits and dashes); checked before it is
    // written into SET TRANSACTION, which takes no parameters.
    if !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(AppError::Internal(format!("PostgreSQL exported a snapshot named {snapshot:?}")));
    }
    let pages: i64 =
        sqlx::query_scalar("SELECT (pg_relation_size('audit_log') / current_setting('block_size')::bigint)::bigint")
            .fetch_one(&mut first)
            .await?;
    let mut second = sqlx::postgres::PgConnection::connect(url).await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut second).await?;
    sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'")).execute(&mut second).await?;
    let mid = pages / 2;
    // The second half is open-ended: pages added since the size was read hold only rows the
    // snapshot does not see.
    let low = format!("SELECT {COLUMNS} FROM audit_log WHERE ctid < '({mid},0)'::tid");
    let high = format!("SELECT {COLUMNS} FROM audit_log WHERE ctid >= '({mid},0)'::tid");
    let (a, b) = tokio::join!(hash_copy(&mut first, &low, marks), hash_copy(&mut second, &high, marks));
    let parts = vec![a?, b?];
    for conn in [&mut first, &mut second] {
        sqlx::query("COMMIT").execute(conn).await?;
    }
    Ok((heads, parts))
}

/// Reads `query` through COPY on `conn`, hashing on a thread of its own as batches arrive.
async fn hash_copy(conn: &mut sqlx::postgres::PgConnection, query: &str, marks: &Arc<Marks>) -> Result<Parts> {
    let (tx, mut rx) = mpsc::channel::<Rows>(4);
    let walk = Walk::new(marks.clone());
    let hasher = tokio::task::spawn_blocking(move || {
        let mut walk = walk;
        while let Some(rows) = rx.blocking_recv() {
            walk.feed(&rows);
        }
        walk
    });
    let read = copy_rows(conn, query, &tx).await;
    // The hasher stops when the channel closes.
    drop(tx);
    let walk = hasher.await.map_err(AppError::unexpected)?;
    read?;
    Ok(walk.parts())
}

async fn copy_rows(conn: &mut sqlx::postgres::PgConnection, query: &str, tx: &mpsc::Sender<Rows>) -> Result<()> {
    let mut stream = conn.copy_out_raw(&format!("COPY ({query}) TO STDOUT")).await?;
    let (mut carry, mut batch) = (Vec::<u8>::new(), Rows::default());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        // The server sends one row per CopyData message (protocol docs, "COPY Operations"), so
        // a chunk is parsed where it lies; the carry is there for a server that does not.
        let data: &[u8] = if carry.is_empty() {
            &chunk
        } else {
            carry.extend_from_slice(&chunk);
            &carry
        };
        let mut used = 0;
        while let Some(nl) = memchr::memchr(b'\n', &data[used..]) {
            copy_row(&data[used..used + nl], &mut batch)?;
            used += nl + 1;
        }
        let rest = data[used..].to_vec();
        carry = rest;
        if batch.full() && tx.send(std::mem::take(&mut batch)).await.is_err() {
            return Ok(());
        }
    }
    let _ = tx.send(batch).await;
    Ok(())
}

/// One line of COPY's text format (PostgreSQL docs, "COPY", File Formats → Text Format):
/// columns split by tabs, backslash escapes for tab, newline, backslash and the rest.
fn copy_row(line: &[u8], batch: &mut Rows) -> Result<()> {
    let bad = || AppError::Internal("the audit log came back from COPY in a shape kencho does not know".into());
    let mut fields: [&[u8]; 9] = [&[]; 9];
    let mut parts = line.split(|b| *b == b'\t');
    for f in fields.iter_mut() {
        *f = parts.next().ok_or_else(bad)?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    let int = |f: &[u8]| -> Result<i64> { std::str::from_utf8(f).ok().and_then(|s| s.parse().ok()).ok_or_else(bad) };
    let mut owned: [Option<Vec<u8>>; 6] = Default::default();
    for (i, f) in fields[3..].iter().enumerate() {
        if f.contains(&b'\\') {
            owned[i] = Some(unescape(f));
        }
    }
    let col = |i: usize| owned[i].as_deref().unwrap_or(fields[3 + i]);
    batch.push(int(fields[0])?, int(fields[1])?, int(fields[2])?, [col(0), col(1), col(2), col(3), col(4), col(5)]);
    Ok(())
}

fn unescape(f: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.len());
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'\\' || i + 1 == f.len() {
            out.push(f[i]);
            i += 1;
            continue;
        }
        let c = f[i + 1];
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut k = 0;
                while k < 2 && i < f.len() && (b'0'..=b'7').contains(&f[i]) {
                    v = v * 8 + u32::from(f[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < f.len() && f[i].is_ascii_hexdigit() {
                    v = v * 16 + (f[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes() {
        assert_eq!(unescape(br#"{\"a\\\\b\"}\tx\n\101\x42"#), b"{\"a\\\\b\"}\tx\nAB".to_vec());
        assert_eq!(unescape(b"plain"), b"plain".to_vec());
        assert_eq!(sqlite_path("sqlite:///tmp/k/kencho.db?mode=rwc").unwrap(), "/tmp/k/kencho.db");
    }
}
