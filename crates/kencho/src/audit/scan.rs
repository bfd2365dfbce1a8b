//! Verifying the whole log fast, over connections of its own and without sqlx's per-row
//! decoding. SQLite: two threads, each reading half the log by rowid and hashing what it reads
//! (every chain's stretches are then stitched together). PostgreSQL: the same halves by
//! physical position, each read through binary COPY on a connection of its own and hashed by
//! the task that reads it. Rows are read in storage order, which is each chain's order unless
//! someone moved rows about; a chain that comes out of order is read again by sequence number
//! before it is called broken.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use kencho_core::audit::{digest, parse_hash, stitch, ChainBreak, ChainCheck, Fields, Seen, Stretch};
use sqlx::Connection;

use super::ChainReport;
use crate::db::{Db, Dialect};
use crate::error::{AppError, Result};

/// Per tenant: (sequence number, entry hash) from signed checkpoints, ascending.
pub type Marks = HashMap<i64, Vec<(i64, [u8; 32])>>;

const COLUMNS: &str = "tenant_id, seq, at, actor, action, target, detail, prev_hash, hash";

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
    AppError::failed("reading the audit log", e)
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
/// later), each on a connection of its own in one exported snapshot, read and hashed by a task
/// of its own: the runtime's threads take one half each while two server processes send them.
/// For `only`, those chains in sequence order on one connection.
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
        let part = hash_copy(&mut first, &ordered(only), marks.clone()).await?;
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
    let other = tokio::spawn({
        let marks = marks.clone();
        async move {
            let part = hash_copy(&mut second, &high, marks).await?;
            sqlx::query("COMMIT").execute(&mut second).await?;
            Ok::<_, AppError>(part)
        }
    });
    let a = hash_copy(&mut first, &low, marks.clone()).await;
    let b = other.await.map_err(AppError::unexpected)?;
    sqlx::query("COMMIT").execute(&mut first).await?;
    Ok((heads, vec![a?, b?]))
}

/// Reads `query` through COPY in binary format on `conn`, hashing each row as it arrives.
async fn hash_copy(conn: &mut sqlx::postgres::PgConnection, query: &str, marks: Arc<Marks>) -> Result<Parts> {
    let mut walk = Walk::new(marks);
    let mut stream = conn.copy_out_raw(&format!("COPY ({query}) TO STDOUT (FORMAT binary)")).await?;
    let (mut carry, mut header_read) = (Vec::<u8>::new(), false);
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
        if !header_read {
            match copy_header(data)? {
                Some(n) => (used, header_read) = (n, true),
                None => {
                    carry = data.to_vec();
                    continue;
                }
            }
        }
        while let Some(n) = copy_tuple(&data[used..], &mut walk)? {
            used += n;
        }
        let rest = data[used..].to_vec();
        carry = rest;
    }
    Ok(walk.parts())
}

/// COPY's binary header (PostgreSQL docs, "COPY", File Formats → Binary Format): the
/// 11-byte signature, a 32-bit flags field and a header extension of the length that follows.
/// Its length, or `None` if `data` does not hold it all yet.
fn copy_header(data: &[u8]) -> Result<Option<usize>> {
    const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
    if data.len() < 19 {
        return Ok(None);
    }
    let flags = u32::from_be_bytes([data[11], data[12], data[13], data[14]]);
    // Bit 16 says OIDs are included, which kencho never asks for.
    if &data[..11] != SIGNATURE || flags & (1 << 16) != 0 {
        return Err(copy_shape());
    }
    let ext = u32::from_be_bytes([data[15], data[16], data[17], data[18]]) as usize;
    Ok((data.len() >= 19 + ext).then_some(19 + ext))
}

fn copy_shape() -> AppError {
    AppError::Internal("the audit log came back from COPY in a shape kencho does not know".into())
}

/// One tuple of the binary format: a 16-bit field count (-1 ends the data), then each field's
/// 32-bit length and bytes; integers big-endian. Feeds the row to `walk` and returns how many
/// bytes it took, or `None` if `data` does not hold a whole tuple (or holds the trailer).
fn copy_tuple(data: &[u8], walk: &mut Walk) -> Result<Option<usize>> {
    let Some(count) = data.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]])) else { return Ok(None) };
    if count == -1 {
        return Ok(None);
    }
    if count != 9 {
        return Err(copy_shape());
    }
    let mut fields: [&[u8]; 9] = [&[]; 9];
    let mut at = 2;
    for f in fields.iter_mut() {
        let Some(len) = data.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
            return Ok(None);
        };
        // Every column is NOT NULL: a NULL (-1) is not a row kencho wrote.
        let len = usize::try_from(len).map_err(|_| copy_shape())?;
        let Some(bytes) = data.get(at + 4..at + 4 + len) else { return Ok(None) };
        *f = bytes;
        at += 4 + len;
    }
    let int = |f: &[u8]| -> Result<i64> { Ok(i64::from_be_bytes(f.try_into().map_err(|_| copy_shape())?)) };
    let cols = [fields[3], fields[4], fields[5], fields[6], fields[7], fields[8]];
    walk.feed_one(int(fields[0])?, int(fields[1])?, int(fields[2])?, cols);
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tuple as the binary format lays it out: a field count, then length-prefixed fields.
    fn tuple(ints: [i64; 3], texts: [&str; 6]) -> Vec<u8> {
        let mut out = 9i16.to_be_bytes().to_vec();
        for i in ints {
            out.extend(8i32.to_be_bytes());
            out.extend(i.to_be_bytes());
        }
        for t in texts {
            out.extend((t.len() as i32).to_be_bytes());
            out.extend(t.as_bytes());
        }
        out
    }

    #[test]
    fn copy_binary_tuples() {
        let mut walk = Walk::new(Arc::new(Marks::new()));
        let row = tuple([3, 1, 1_780_000_000_000], ["staff:1", "application.view", "application:9", "{}", "0", "f"]);
        // A partial tuple waits for more; a whole one is fed; the trailer ends.
        assert_eq!(copy_tuple(&row[..row.len() - 1], &mut walk).unwrap(), None);
        assert_eq!(copy_tuple(&row, &mut walk).unwrap(), Some(row.len()));
        assert_eq!(copy_tuple(&(-1i16).to_be_bytes(), &mut walk).unwrap(), None);
        // A tuple of another width is not the audit log.
        assert!(copy_tuple(&[0, 0], &mut walk).is_err());
        assert!(walk.parts().contains_key(&3));
        let mut header = b"PGCOPY\n\xff\r\n\0".to_vec();
        header.extend([0u8; 8]);
        assert_eq!(copy_header(&header).unwrap(), Some(19));
        assert_eq!(copy_header(&header[..18]).unwrap(), None);
        header[0] = b'X';
        assert!(copy_header(&header).is_err());
        assert_eq!(sqlite_path("sqlite:///tmp/k/kencho.db?mode=rwc").unwrap(), "/tmp/k/kencho.db");
    }
}
