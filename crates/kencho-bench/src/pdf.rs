//! `kencho-bench --pdf N` (電子交付: signed decision notices).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kencho::documents::pdf::NoticeContent;

use super::BoxErr;

/// The `i`th notice to render: a 犬の登録申請 decision, every fifth a denial.
fn content(i: usize, key_id: &str) -> NoticeContent {
    NoticeContent {
        number: format!("BENCH-通知-2026-{i:06}"),
        title: "決定通知書（犬の登録申請）".into(),
        tenant_name: "南相馬市".into(),
        division_name: "市民生活課".into(),
        resident_name: format!("福島 太郎{i}"),
        procedure_title: "犬の登録申請".into(),
        receipt_number: format!("MNS-2026-{i:07}-0"),
        outcome: if i.is_multiple_of(5) {
            kencho_core::application::Status::Denied
        } else {
            kencho_core::application::Status::Approved
        },
        notice_text: "登録しました。鑑札と注射済票を郵送します。到着まで一週間ほどお待ちください。".repeat(1 + i % 3),
        issued_at: kencho::db::now_ms(),
        submitted_at: Some(kencho::db::now_ms() - 86_400_000),
        verify_url: "http://127.0.0.1:8080/verify-document".into(),
        key_id: key_id.to_string(),
    }
}

/// `kencho-bench --pdf N`: renders and signs `n` decision notices with the real renderer (the
/// embedded font, subsetting, tagging, Ed25519), on blocking threads, as many at once as
/// there are cores. Prints documents/s and the mean time per document. Nothing is stored.
pub async fn run_pdf(n: usize) -> Result<(), BoxErr> {
    use sha2::{Digest, Sha256};
    let n = n.max(1);
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    let key = Arc::new(kencho::documents::keys::ActiveKey::ephemeral(1, "bench-key"));
    // Warm up: the font is parsed once per process.
    kencho::documents::pdf::render_notice(&content(0, &key.key_id))?;
    let gate = Arc::new(tokio::sync::Semaphore::new(cores));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (c, key, gate) = (content(i, &key.key_id), key.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let bytes = kencho::documents::pdf::render_notice(&c)?;
                let sha = hex::encode(Sha256::digest(&bytes));
                let _sig = key.sign(&kencho::documents::signed_message(&c.number, "bench", c.issued_at, &sha));
                Ok::<_, String>((t.elapsed(), bytes.len()))
            })
            .await
            .map_err(|e| e.to_string())?
        }));
    }
    let (mut busy, mut size) = (Duration::ZERO, 0usize);
    for t in tasks {
        let (took, len) = t.await.map_err(|e| e.to_string())??;
        busy += took;
        size += len;
    }
    let wall = started.elapsed().as_secs_f64();
    println!("PDF notices: {n} rendered and signed on {cores} cores in {wall:.2} s");
    println!("  {:.1} documents/s", n as f64 / wall);
    println!("  mean {:.2} ms per document (render + hash + sign, one core)", busy.as_secs_f64() * 1000.0 / n as f64);
    println!("  mean size {:.1} KiB", size as f64 / n as f64 / 1024.0);
    Ok(())
}
