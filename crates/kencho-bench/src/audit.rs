//! `kencho-bench --audit N`: fills a fresh database with N audit entries over eight chains
//! (shaped like kencho's own: a staff view with its purpose), then times `audit verify` over
//! them, beside the bare SHA-256 rate of the same entries on one core.

use std::time::Instant;

use kencho_core::audit::{Entry, GENESIS};

use kencho::db::Db;

use super::{fresh_dir, BoxErr};

const CHAINS: i64 = 8;

fn entry(tenant_id: i64, seq: i64, prev_hash: String) -> Entry {
    Entry {
        tenant_id,
        seq,
        at_ms: 1_780_000_000_000 + seq * 37,
        actor: format!("staff:{}", 10 + seq % 40),
        action: "application.view".into(),
        target: format!("application:{}", 100_000 + seq),
        detail: format!("{{\"purpose\":\"審査\",\"ip\":\"203.0.113.{}\"}}", seq % 250),
        prev_hash,
    }
}

/// Times `audit verify` three times over `total` entries; fails unless all verify.
async fn rounds(db: &Db, total: i64, label: &str, note: &str) -> Result<(), BoxErr> {
    for round in 1..=3 {
        let t = Instant::now();
        let reports = kencho::audit::verify(db).await?;
        let secs = t.elapsed().as_secs_f64();
        let checked: i64 = reports.iter().map(|r| r.entries).sum();
        if checked != total || reports.iter().any(|r| r.problem.is_some()) {
            return Err(format!("verify found {checked} of {total} entries, or a problem: {reports:?}").into());
        }
        println!(
            "audit verify ({label}), round {round}: {checked} entries in {secs:.3} s = {:.0} entries/s \
             (target >= 2,000,000){}{note}",
            checked as f64 / secs,
            if note.is_empty() { "" } else { "; " }
        );
    }
    Ok(())
}

/// Writes `n` entries (and the heads) straight into a SQLite file, in big transactions.
fn fill_sqlite(path: &str, n: usize) -> Result<(), BoxErr> {
    let mut conn = rusqlite::Connection::open(path)?;
    let per = n as i64 / CHAINS;
    let tx = conn.transaction()?;
    {
        let mut ins = tx.prepare(
            "INSERT INTO audit_log (tenant_id, seq, at, actor, action, target, detail, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut heads = Vec::new();
        for t in 1..=CHAINS {
            let mut prev = GENESIS.to_string();
            for seq in 1..=per {
                let e = entry(t, seq, prev);
                let hash = e.hash();
                ins.execute(rusqlite::params![
                    t,
                    seq,
                    e.at_ms,
                    e.actor,
                    e.action,
                    e.target,
                    e.detail,
                    e.prev_hash,
                    hash
                ])?;
                prev = hash;
            }
            heads.push((t, per, prev));
        }
        for (t, seq, hash) in heads {
            tx.execute(
                "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                rusqlite::params![t, seq, hash],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub async fn run(n: usize) -> Result<(), BoxErr> {
    let dir = fresh_dir("kencho-bench-audit")?;
    let path = dir.join("kencho.db");
    // The schema only; the chains are written straight into the file.
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
    db.close().await;
    let started = Instant::now();
    let p = path.display().to_string();
    tokio::task::spawn_blocking(move || fill_sqlite(&p, n)).await.map_err(|e| e.to_string())??;
    let total = (n as i64 / CHAINS) * CHAINS;
    println!("audit: {total} entries in {CHAINS} chains written in {:.1} s", started.elapsed().as_secs_f64());

    // The ceiling: the same entries hashed on one core, nothing read.
    let sample: Vec<Entry> = (1..=200_000).map(|s| entry(1, s, GENESIS.to_string())).collect();
    let t = Instant::now();
    let mut x = 0u8;
    for e in &sample {
        x ^= e.digest()[0];
    }
    let hash_rate = sample.len() as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(x);

    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
    rounds(&db, total, "SQLite", &format!("one core hashing alone: {hash_rate:.0} entries/s")).await?;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(admin) = std::env::var("KENCHO_BENCH_POSTGRES") {
        postgres(&admin, n).await?;
    }
    Ok(())
}

/// The same on PostgreSQL (`KENCHO_BENCH_POSTGRES=postgres://…/test`): a fresh database beside
/// the given one, filled with COPY, then verified.
async fn postgres(admin_url: &str, n: usize) -> Result<(), BoxErr> {
    use sqlx::Connection;
    let name = format!("kencho_bench_audit_{}", std::process::id());
    let mut admin = sqlx::postgres::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).ok_or("KENCHO_BENCH_POSTGRES needs a database name")?;
    let url = format!("{base}/{name}");
    let db = Db::connect(&url).await?;
    let started = Instant::now();
    let mut conn = sqlx::postgres::PgConnection::connect(&url).await?;
    let mut copy = conn
        .copy_in_raw("COPY audit_log (tenant_id, seq, at, actor, action, target, detail, prev_hash, hash) FROM STDIN")
        .await?;
    let per = n as i64 / CHAINS;
    let mut heads = Vec::new();
    for t in 1..=CHAINS {
        let mut prev = GENESIS.to_string();
        let mut buf = String::with_capacity(1 << 20);
        for seq in 1..=per {
            let e = entry(t, seq, prev);
            let hash = e.hash();
            // The bench's text has no tab, newline or backslash: nothing to escape.
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                t, seq, e.at_ms, e.actor, e.action, e.target, e.detail, e.prev_hash, hash
            ));
            prev = hash;
            if buf.len() > (1 << 20) - 512 {
                copy.send(std::mem::take(&mut buf).into_bytes()).await?;
            }
        }
        copy.send(buf.into_bytes()).await?;
        heads.push((t, per, prev));
    }
    copy.finish().await?;
    for (t, seq, hash) in heads {
        sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)")
            .bind(t)
            .bind(seq)
            .bind(hash)
            .execute(&mut conn)
            .await?;
    }
    sqlx::query("ANALYZE audit_log").execute(&mut conn).await?;
    let total = per * CHAINS;
    println!("audit: {total} entries written to PostgreSQL in {:.1} s", started.elapsed().as_secs_f64());
    let ceiling = delivery_ceiling(&url, total).await?;
    let note = format!(
        "ceiling: PostgreSQL delivering the same rows to clients that only count them, over the same \
         two connections: {ceiling:.0} rows/s"
    );
    rounds(&db, total, "PostgreSQL", &note).await?;
    db.close().await;
    drop(conn);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await?;
    Ok(())
}

/// What the server alone can deliver: the verifier's two binary COPY streams (split by ctid, as
/// `audit verify` reads them), each counted and dropped as it arrives. Best of three.
async fn delivery_ceiling(url: &str, total: i64) -> Result<f64, BoxErr> {
    use futures_util::StreamExt;
    use sqlx::Connection;
    async fn count(url: String, cond: String) -> Result<usize, BoxErr> {
        let mut conn = sqlx::postgres::PgConnection::connect(&url).await?;
        let mut stream = conn
            .copy_out_raw(&format!(
                "COPY (SELECT tenant_id, seq, at, actor, action, target, detail, prev_hash, hash \
                 FROM audit_log WHERE {cond}) TO STDOUT (FORMAT binary)"
            ))
            .await?;
        // PostgreSQL sends one row per CopyData message, the header with the first and the
        // trailer in a message of its own.
        let mut messages: usize = 0;
        while let Some(chunk) = stream.next().await {
            chunk?;
            messages += 1;
        }
        Ok(messages.saturating_sub(1))
    }
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    let pages: i64 =
        sqlx::query_scalar("SELECT (pg_relation_size('audit_log') / current_setting('block_size')::bigint)::bigint")
            .fetch_one(&mut conn)
            .await?;
    let mid = pages / 2;
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        let (a, b) = tokio::join!(
            tokio::spawn(count(url.to_string(), format!("ctid < '({mid},0)'::tid"))),
            tokio::spawn(count(url.to_string(), format!("ctid >= '({mid},0)'::tid")))
        );
        let rows = a?? + b??;
        if rows as i64 != total {
            return Err(format!("the ceiling counted {rows} rows of {total}").into());
        }
        best = best.max(rows as f64 / t.elapsed().as_secs_f64());
    }
    Ok(best)
}
