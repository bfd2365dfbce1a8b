//! The `kencho-bench` command: starts kencho on SQLite, drives it over HTTP and prints the
//! figures; with a mode flag, one of the other measurements or the crash test instead.

use std::process::ExitCode;

use clap::Parser;

/// Benchmark: starts kencho on SQLite, drives it over HTTP and prints the figures. The server is
/// the `kencho` binary beside this one (or KENCHO_BIN).
#[derive(Parser)]
#[command(name = "kencho-bench", version)]
struct Cli {
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Instead: generate a flood layer of this many polygons, load it into kencho and
    /// measure loading, memory, hazard look-ups and plan previews over HTTP (マイ避難).
    #[arg(long)]
    hazards: Option<usize>,
    /// Instead: register this many trap sensors and measure MQTT ingestion and the time
    /// from publish to the mail at an SMTP sink (IoT alerts).
    #[arg(long)]
    iot: Option<usize>,
    /// Instead: measure 電子決裁 acts per second through a five-step route.
    #[arg(long)]
    approval: bool,
    /// Instead: measure confirmed payments per second through the sandbox provider, and the
    /// reconciliation of a 100,000-line settlement file.
    #[arg(long)]
    payments: bool,
    /// Instead: the crash test. Submits with idempotency keys from 16 clients while killing
    /// the server (SIGKILL) this many times; fails unless every acknowledged submission is
    /// stored exactly once and the audit log verifies.
    #[arg(long)]
    crash: Option<usize>,
    /// Instead: write this many audit entries and time `audit verify` over them.
    #[arg(long)]
    audit: Option<usize>,
    /// MQTT broker for --iot (host:port).
    #[arg(long, default_value = "127.0.0.1:1883")]
    broker: String,
    /// Offered MQTT messages per second for --iot.
    #[arg(long, default_value_t = 6000)]
    rate: u64,
    /// Instead: render and sign this many decision notices (PDF + Ed25519) in process on
    /// every core, and print documents/s and the mean time per document (電子交付).
    #[arg(long)]
    pdf: Option<usize>,
}

fn main() -> ExitCode {
    kencho::init_logging();
    let cli = Cli::parse();
    // The same runtime as the server's: the in-process phases (writes without HTTP, the audit
    // verifier) then measure what the server would do.
    let rt = match kencho::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One measurement: the first mode flag given, in this order; none, the submissions benchmark.
async fn run(cli: Cli) -> Result<(), kencho_bench::BoxErr> {
    let Cli { clients, seconds, .. } = cli;
    if let Some(n) = cli.audit {
        kencho_bench::audit::run(n).await
    } else if let Some(kills) = cli.crash {
        kencho_bench::crash::run(kills, 16).await
    } else if cli.payments {
        kencho_bench::run_payments(clients, seconds).await
    } else if cli.approval {
        kencho_bench::run_approval(clients, seconds).await
    } else if let Some(n) = cli.pdf {
        kencho_bench::run_pdf(n).await
    } else if let Some(n) = cli.iot {
        kencho_bench::run_iot(n, seconds, &cli.broker, cli.rate).await
    } else if let Some(n) = cli.hazards {
        kencho_bench::run_hazards(n, clients, seconds).await
    } else {
        kencho_bench::run(clients, seconds).await
    }
}
