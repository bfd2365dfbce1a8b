//! The `kencho` command: serve, migrate, import procedures, verify the audit log, and the other
//! tools. The benchmark is its own binary, `kencho-bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kencho::config::Config;
use kencho::crypto::{keyfile, Keyring};
use kencho::db::Db;

#[derive(Parser)]
#[command(name = "kencho", version, about = "kencho — an open-source digital prefectural office (デジタル県庁)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DbArgs {
    /// Database URL: sqlite://… or postgres://…. Default: SQLite in the data directory.
    #[arg(long, env = "KENCHO_DATABASE_URL")]
    database_url: Option<String>,
    /// Data directory (SQLite database, attachments).
    #[arg(long, env = "KENCHO_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The key file that seals secrets and special-care data, kept outside the database
    /// (`<id> <base64 key>` lines, the last is current, mode 0600). Needed by `serve` (except
    /// `--demo`, which makes `<data dir>/secret.key`) and by commands that read or write
    /// sealed values.
    #[arg(long, env = "KENCHO_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
}

impl DbArgs {
    fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}/kencho.db?mode=rwc", self.data_dir.display()))
    }
    /// The keys: from `--secret-key-file`; with `demo`, `<data dir>/secret.key` (made when
    /// absent); otherwise none (sealed values then neither open nor seal).
    fn keys(&self, demo: bool) -> Result<(Keyring, Option<PathBuf>), String> {
        match (&self.secret_key_file, demo) {
            (Some(f), true) => Ok((keyfile::load_or_create(f)?, Some(f.clone()))),
            (Some(f), false) => Ok((keyfile::load(f)?, Some(f.clone()))),
            (None, true) => {
                let f = self.data_dir.join("secret.key");
                Ok((keyfile::load_or_create(&f)?, Some(f)))
            }
            (None, false) => Ok((Keyring::default(), None)),
        }
    }
    async fn connect(&self) -> Result<Db, String> {
        let (keys, _) = self.keys(false)?;
        self.connect_with(keys).await
    }
    async fn connect_with(&self, keys: Keyring) -> Result<Db, String> {
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
        Ok(Db::connect(&self.url()).await.map_err(|e| format!("database: {e}"))?.with_keys(keys))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (and background workers).
    Serve(ServeArgs),
    /// Create or update the database schema.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Procedure definitions.
    Procedures {
        #[command(subcommand)]
        command: ProcCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Tenants (the prefecture, each municipality).
    Tenants {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// マイ避難: load public data, read JMA telegrams.
    Evacuation {
        #[command(subcommand)]
        command: EvacuationCommand,
    },
    /// The secret key file: make one, rotate to a new key, re-seal the database under it.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the current TOTP code for a base32 secret (for the demo's staff accounts).
    Totp { secret: String },
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "KENCHO_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Load the demo tenants, procedures and accounts, and print the logins.
    #[arg(long)]
    demo: bool,
    /// Public base URL used in e-mail links.
    #[arg(long, env = "KENCHO_BASE_URL")]
    base_url: Option<String>,
    /// SMTP relay, e.g. smtp://127.0.0.1:2525 or smtp://user:pass@host:587?tls=required.
    /// Without it, mail stays queued (with --demo: kept in the local mailbox at /demo/mailbox).
    #[arg(long, env = "KENCHO_SMTP_URL")]
    smtp_url: Option<String>,
    #[arg(long, env = "KENCHO_MAIL_FROM", default_value = "kencho <no-reply@kencho.example.jp>")]
    mail_from: String,
    /// Mark cookies Secure (when served over HTTPS).
    #[arg(long, env = "KENCHO_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Keep mail in a local mailbox readable by anyone at /demo/mailbox (on with --demo).
    /// For development only: the start-up log warns.
    #[arg(long)]
    dev_mailbox: bool,
    /// Offer the built-in sandbox payment provider, which accepts test cards (on with
    /// --demo). For development only: the start-up log warns.
    #[arg(long)]
    payment_sandbox: bool,
    /// Allow a time-stamp authority (TSA) in a private or loopback network, such as the
    /// office's own (on with --demo). Off, a TSA URL must reach the public Internet.
    #[arg(long)]
    tsa_private_network: bool,
    /// A reverse proxy whose X-Forwarded-For is believed (repeat, or comma-separate).
    #[arg(long = "trusted-proxy", env = "KENCHO_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Do not run the outbox worker in this process.
    #[arg(long)]
    no_workers: bool,
    /// Watch this folder for 気象庁防災情報XML telegrams (*.xml); read files move to done/.
    #[arg(long, env = "KENCHO_JMA_DIR")]
    jma_dir: Option<PathBuf>,
    /// Poll this JMA Atom feed for telegrams, e.g.
    /// https://www.data.jma.go.jp/developer/xml/feed/extra.xml
    #[arg(long, env = "KENCHO_JMA_FEED")]
    jma_feed: Option<String>,
    /// MQTT broker for IoT uplinks (ChirpStack v4, The Things Stack, plain JSON), e.g.
    /// mqtt://127.0.0.1:1883 or mqtts://user:pass@broker.example.jp:8883
    #[arg(long, env = "KENCHO_MQTT_URL")]
    mqtt_url: Option<String>,
    /// Stripe's API base URL (for a proxy or a test double).
    #[arg(long, env = "KENCHO_STRIPE_API_BASE", default_value = kencho::payments::stripe::DEFAULT_API_BASE)]
    stripe_api_base: String,
    #[command(flatten)]
    audit: AuditArgs,
    /// Minutes between signed checkpoints of the audit log.
    #[arg(long, env = "KENCHO_AUDIT_CHECKPOINT_MINUTES", default_value_t = 10)]
    audit_checkpoint_minutes: u64,
}

#[derive(Subcommand)]
enum ProcCommand {
    /// Import one or more definition files (TOML or JSON); any bad file aborts before import.
    Import {
        #[command(flatten)]
        db: DbArgs,
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a tenant (no change if the code exists).
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Code, e.g. `aizuwakamatsu` ([a-z0-9-]).
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        name_en: String,
        /// Prefix of its receipt numbers, e.g. `AIZU`.
        #[arg(long)]
        receipt_prefix: String,
        /// 全国地方公共団体コード (6 digits), to match JMA warnings and town tables.
        #[arg(long, default_value = "")]
        lg_code: String,
    },
}

#[derive(Subcommand)]
enum EvacuationCommand {
    /// Load data files as the next version of a tenant's layer (validated whole first).
    Load {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: String,
        /// flood (国土数値情報 A31a/A31/A31b GeoJSON, one scenario), landslide (A33 GeoJSON),
        /// house_collapse (GeoJSON), sites (GSI CSV, UTF-8 or Shift_JIS) or towns (the Address
        /// Base Registry's mt_town and mt_town_pos: two files in either order, zipped or not).
        #[arg(long)]
        kind: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Read 気象庁防災情報XML telegram files now (as the watched folder would).
    Jma {
        #[command(flatten)]
        db: DbArgs,
        /// Public base URL used in the mails' links.
        #[arg(long, env = "KENCHO_BASE_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member; the password comes from KENCHO_STAFF_PASSWORD. TOTP is enrolled at
    /// the first sign-in.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        division_code: String,
        #[arg(long)]
        division_name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// tanto, kakaricho, kacho or admin.
        #[arg(long)]
        role: String,
        #[arg(long, env = "KENCHO_STAFF_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new key file (mode 0600) holding one key; an existing file is never overwritten.
    Generate { file: PathBuf },
    /// Append a new current key to the key file; older keys still open what they sealed.
    Rotate {
        #[arg(long, env = "KENCHO_SECRET_KEY_FILE")]
        secret_key_file: PathBuf,
    },
    /// Re-seal every sealed value under the current key (and seal the clear values of a
    /// database made before sealing); then older keys can be removed from the file.
    Reencrypt {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every chain and compare it with its head and its signed checkpoints; exit 1
    /// naming the first altered, removed or inserted entry, or the chain cut, rewound or deleted.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        audit: AuditArgs,
    },
    /// Write a signed checkpoint of every chain that grew since its last one.
    Checkpoint {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        audit: AuditArgs,
    },
}

#[derive(clap::Args, Clone)]
struct AuditArgs {
    /// Where signed checkpoints of the audit log are kept: somewhere the database's owner
    /// cannot write. Default: audit-checkpoints/ in the data directory.
    #[arg(long, env = "KENCHO_AUDIT_CHECKPOINT_DIR")]
    audit_checkpoint_dir: Option<PathBuf>,
    /// Also mail each checkpoint to this auditor's address.
    #[arg(long, env = "KENCHO_AUDIT_EMAIL")]
    audit_email: Option<String>,
}

impl AuditArgs {
    fn target(&self, data_dir: &std::path::Path) -> Result<kencho::flows::checkpoints::Target, String> {
        if let Some(to) = &self.audit_email {
            let (user, host) = to.split_once('@').unwrap_or_default();
            if user.is_empty() || !host.contains('.') || to.chars().any(char::is_whitespace) {
                return Err(format!("--audit-email: {to} is not an e-mail address"));
            }
        }
        Ok(kencho::flows::checkpoints::Target::under(
            data_dir,
            self.audit_checkpoint_dir.clone(),
            self.audit_email.clone(),
        ))
    }
}

fn main() -> ExitCode {
    kencho::init_logging();
    let cli = Cli::parse();
    let rt = match kencho::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate { db } => {
            db.connect().await?;
            println!("schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Procedures { command: ProcCommand::Import { db, files } } => import_procedures(db, &files).await,
        Command::Audit { command } => audit_command(command).await,
        Command::Tenants { command } => tenants_command(command).await,
        Command::Staff { command } => staff_command(command).await,
        Command::Evacuation { command: EvacuationCommand::Load { db, tenant, kind, files } } => {
            evacuation_load(db, &tenant, &kind, &files).await
        }
        Command::Evacuation { command: EvacuationCommand::Jma { db, base_url, files } } => {
            evacuation_jma(db, &base_url, &files).await
        }
        Command::Keys { command } => keys_command(command).await,
        Command::Totp { secret } => {
            println!("{}", kencho::accounts::totp_code_now(&secret).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    let (keys, secret_key_file) = args.db.keys(args.demo)?;
    let database = args.db.connect_with(keys).await?;
    if args.demo {
        // The demo's own database: values from before sealing are sealed at once.
        kencho::crypto::reencrypt::run(&database).await.map_err(|e| e.to_string())?;
    }
    let logins = if args.demo { Some(kencho::demo::load(&database).await.map_err(|e| e.to_string())?) } else { None };
    let bind = &args.bind;
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = args.base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let mailbox = args.smtp_url.is_none() && (args.demo || args.dev_mailbox);
    let cfg = serve_config(args, base_url.clone(), secret_key_file)?;
    cfg.validate(&database.keys())?;
    let mut running = kencho::start(cfg, database, listener).await.map_err(|e| e.to_string())?;
    println!("kencho is serving on {base_url}");
    if let Some(logins) = logins {
        print_demo_logins(&logins, &base_url, mailbox);
    }
    tokio::select! {
        _ = &mut running.handle => {}
        _ = shutdown_signal() => {
            println!("shutting down: background work finishes the pass it is in");
            running.shutdown().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or the SIGTERM a service manager or container runtime sends to stop a process.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The server's configuration from `serve`'s flags (`--demo` turns the development
/// conveniences on).
fn serve_config(args: ServeArgs, base_url: String, secret_key_file: Option<PathBuf>) -> Result<Config, String> {
    let demo = args.demo;
    Ok(Config {
        base_url,
        data_dir: args.db.data_dir.clone(),
        smtp_url: args.smtp_url.clone(),
        mail_from: args.mail_from,
        secure_cookies: args.secure_cookies,
        workers: !args.no_workers,
        jma_dir: args.jma_dir,
        jma_feed: args.jma_feed,
        mqtt_url: args.mqtt_url,
        stripe_api_base: args.stripe_api_base,
        demo_mailbox: (demo || args.dev_mailbox) && args.smtp_url.is_none(),
        payment_sandbox: demo || args.payment_sandbox,
        tsa_private_network: demo || args.tsa_private_network,
        trusted_proxies: args.trusted_proxies,
        audit_checkpoints: args.audit.target(&args.db.data_dir)?,
        audit_checkpoint_every: std::time::Duration::from_secs(60 * args.audit_checkpoint_minutes.max(1)),
        secret_key_file,
    })
}

fn print_demo_logins(logins: &[kencho::demo::StaffLogin], base_url: &str, mailbox: bool) {
    println!();
    println!("Demo accounts (password for all: {})", kencho::demo::PASSWORD);
    println!("  resident  {}", kencho::demo::RESIDENT_EMAIL);
    for s in logins {
        println!("  staff     {:<40} {:<10} {:<15} TOTP secret {}", s.email, s.role, s.tenant, s.totp_secret);
    }
    println!("  Staff sign in at {base_url}/staff/login; the second factor is a TOTP code from an");
    println!("  authenticator app holding the secret, or: cargo run --release -- totp SECRET");
    if mailbox {
        println!("  Mail is kept in the local mailbox: {base_url}/demo/mailbox");
    }
}

async fn import_procedures(db: DbArgs, files: &[PathBuf]) -> Result<ExitCode, String> {
    // Parse every file first: one bad file imports nothing.
    let mut defs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let def = kencho_core::procedure::ProcedureDef::parse(&f.display().to_string(), &text).map_err(|e| {
            // One problem a line, `file: where: what`, in English like the rest of the command line.
            let lines: Vec<String> = e
                .findings
                .iter()
                .map(|p| format!("{}: {}", e.file, kencho::error::Detail::from(p).text("en")))
                .collect();
            lines.join("\n")
        })?;
        defs.push((f, def));
    }
    let database = db.connect().await?;
    for (f, def) in defs {
        let outcome = kencho::procedures::import(&database, &def, "cli", None)
            .await
            .map_err(|e| format!("{}: {e}", f.display()))?;
        match outcome {
            kencho::procedures::ImportOutcome::Created { version } => {
                println!("{}: {}/{} imported as version {version}", f.display(), def.tenant, def.code)
            }
            kencho::procedures::ImportOutcome::Unchanged { version } => {
                println!("{}: {}/{} unchanged (version {version})", f.display(), def.tenant, def.code)
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit_command(command: AuditCommand) -> Result<ExitCode, String> {
    match command {
        AuditCommand::Checkpoint { db, audit } => {
            let target = audit.target(&db.data_dir)?;
            let database = db.connect().await?;
            let done = kencho::flows::checkpoints::write_all(&database, &target).await.map_err(|e| e.to_string())?;
            for cp in &done {
                println!("tenant {}: checkpoint at entry {} (root {})", cp.tenant_id, cp.seq, cp.root);
            }
            println!("{} checkpoint(s) written to {}", done.len(), target.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { db, audit } => audit_verify(db, audit).await,
    }
}

async fn audit_verify(db: DbArgs, audit: AuditArgs) -> Result<ExitCode, String> {
    let target = audit.target(&db.data_dir)?;
    let database = db.connect().await?;
    let started = std::time::Instant::now();
    let reports = kencho::audit::verify_against(&database, &target.dir).await.map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let total: i64 = reports.iter().map(|r| r.entries).sum();
    let mut ok = true;
    eprintln!(
        "{total} entries in {secs:.2} s ({:.0} entries/s), against {}",
        total as f64 / secs.max(1e-9),
        target.dir.display()
    );
    for r in reports {
        match r.problem {
            None => println!("tenant {}: {} entries, chain intact", r.tenant_id, r.entries),
            Some(p) => {
                ok = false;
                println!("tenant {}: TAMPERED: {p}", r.tenant_id);
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn tenants_command(command: TenantCommand) -> Result<ExitCode, String> {
    let TenantCommand::Add { db, code, name, name_en, receipt_prefix, lg_code } = command;
    if !kencho_core::procedure::is_code(&code)
        || receipt_prefix.is_empty()
        || !receipt_prefix.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err("code must be [a-z0-9-] and the receipt prefix A-Z letters".into());
    }
    if !lg_code.is_empty() && (lg_code.len() != 6 || !lg_code.bytes().all(|b| b.is_ascii_digit())) {
        return Err("the 全国地方公共団体コード (--lg-code) has 6 digits".into());
    }
    let database = db.connect().await?;
    kencho::tenants::create(&database, &code, &name, &name_en, &receipt_prefix).await.map_err(|e| e.to_string())?;
    if !lg_code.is_empty() {
        kencho::tenants::set_lg_code(&database, &code, &lg_code).await.map_err(|e| e.to_string())?;
    }
    println!("tenant {code} ({name}) is ready");
    Ok(ExitCode::SUCCESS)
}

async fn staff_command(command: StaffCommand) -> Result<ExitCode, String> {
    let StaffCommand::Add { db, tenant, division_code, division_name, email, name, role, password } = command;
    let role = kencho_core::application::Role::parse(&role).ok_or("role must be tanto, kakaricho, kacho or admin")?;
    let database = db.connect().await?;
    kencho::accounts::create_staff(
        &database,
        &tenant,
        (&division_code, &division_name),
        &email,
        &name,
        role,
        &password,
    )
    .await
    .map_err(|e| e.message("en"))?;
    println!("staff {email} added to {tenant}; the authenticator is registered at the first sign-in");
    Ok(ExitCode::SUCCESS)
}

async fn evacuation_load(db: DbArgs, tenant: &str, kind: &str, files: &[PathBuf]) -> Result<ExitCode, String> {
    let kind = kencho::evacuation::layers::LayerKind::parse(kind)
        .ok_or("kind must be flood, landslide, house_collapse, sites or towns")?;
    let mut uploads = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        uploads.push(kencho::evacuation::upload::Upload::new(name, bytes));
    }
    let database = db.connect().await?;
    let tenant_id = kencho::tenants::id_of(&database, tenant)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant {tenant}"))?;
    let v = kencho::evacuation::layers::load(&database, tenant_id, kind, uploads, "cli")
        .await
        .map_err(|e| e.message("en"))?;
    let scenario = v.scenario.map(|s| format!(" ({})", s.as_str())).unwrap_or_default();
    println!(
        "{}: {} {}{scenario} loaded as version {} ({} items), now in use",
        v.file_name,
        tenant,
        kind.as_str(),
        v.version,
        v.items
    );
    Ok(ExitCode::SUCCESS)
}

async fn evacuation_jma(db: DbArgs, base_url: &str, files: &[PathBuf]) -> Result<ExitCode, String> {
    if db.secret_key_file.is_none() {
        // An alert's mails speak to each plan's sealed needs.
        return Err("give --secret-key-file FILE (or KENCHO_SECRET_KEY_FILE): alerts read the sealed plans".into());
    }
    let database = db.connect().await?;
    let atlases = kencho::evacuation::layers::Atlases::default();
    let mut ok = true;
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let name = format!("file:{}", f.display());
        match kencho::evacuation::jma::ingest(&database, &atlases, base_url, &text, &name, None).await {
            Ok(o) => println!(
                "{}: {} (event {}; issued {:?}, cancelled {:?})",
                f.display(),
                o.result,
                o.event_id,
                o.issued,
                o.cancelled
            ),
            Err(e) => {
                ok = false;
                println!("{}: rejected: {}", f.display(), e.message("en"));
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn keys_command(command: KeysCommand) -> Result<ExitCode, String> {
    match command {
        KeysCommand::Generate { file } => {
            let id = keyfile::generate(&file)?;
            println!("{}: key {id} made (mode 0600); back the file up apart from the database", file.display());
        }
        KeysCommand::Rotate { secret_key_file } => {
            let id = keyfile::rotate(&secret_key_file)?;
            println!("{}: key {id} is now current; run `kencho keys reencrypt` next", secret_key_file.display());
        }
        KeysCommand::Reencrypt { db } => {
            if db.secret_key_file.is_none() {
                return Err("give --secret-key-file FILE (or KENCHO_SECRET_KEY_FILE)".into());
            }
            let database = db.connect().await?;
            let current = database.keys().current_id().unwrap_or_default().to_string();
            let counts = kencho::crypto::reencrypt::run(&database).await.map_err(|e| e.to_string())?;
            for c in counts {
                println!(
                    "{:<40} {} already current, {} re-sealed, {} clear values sealed, {} empty",
                    c.column, c.current, c.resealed, c.sealed_legacy, c.empty
                );
            }
            println!("every sealed value is under key {current}; older keys can be removed from the file");
        }
    }
    Ok(ExitCode::SUCCESS)
}
