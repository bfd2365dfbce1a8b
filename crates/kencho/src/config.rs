//! Run-time settings of one kencho process.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// Public base URL, used in e-mail links.
    pub base_url: String,
    /// Where the SQLite database (by default) and attachments live.
    pub data_dir: PathBuf,
    /// SMTP relay URL; `None` keeps mail in the local mailbox shown at `/demo/mailbox`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Mark cookies `Secure` (serve over HTTPS in production).
    pub secure_cookies: bool,
    /// Run the background workers (outbox) in this process.
    pub workers: bool,
    /// A folder watched for 気象庁防災情報XML telegrams (`*.xml`).
    pub jma_dir: Option<PathBuf>,
    /// A JMA Atom feed URL polled for telegrams.
    pub jma_feed: Option<String>,
    /// MQTT broker for IoT uplinks: mqtt://[user:pass@]host[:port] or mqtts://….
    pub mqtt_url: Option<String>,
    /// Serve `/demo/mailbox` (every mail kept locally, readable by anyone): only with `--demo`
    /// or `--dev-mailbox`, and the start-up log warns.
    pub demo_mailbox: bool,
    /// Offer the built-in sandbox payment provider (test cards): only with `--demo` or
    /// `--payment-sandbox`, and the start-up log warns.
    pub payment_sandbox: bool,
    /// A time-stamp authority may be in a private or loopback network (an office's own TSA):
    /// only with `--tsa-private-network` or `--demo`; else a tenant administrator's TSA URL
    /// cannot make the server call its neighbours.
    pub tsa_private_network: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (their own address is not the
    /// client's). Empty: the peer address is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Stripe's API base URL (`https://api.stripe.com`; tests point it at a local recording).
    pub stripe_api_base: String,
    /// Where the audit log's signed checkpoints go (outside the database).
    pub audit_checkpoints: crate::flows::checkpoints::Target,
    pub audit_checkpoint_every: std::time::Duration,
    /// The key file that seals secrets and special-care data (`--secret-key-file`,
    /// `KENCHO_SECRET_KEY_FILE`; `serve --demo` makes `<data dir>/secret.key`). The keys
    /// themselves travel with the database handle ([`crate::db::Db::with_keys`]).
    pub secret_key_file: Option<PathBuf>,
}

impl Config {
    /// Checks the settings as a whole before anything starts, with the keys loaded from
    /// [`Config::secret_key_file`]; every problem is named, one a line.
    pub fn validate(&self, keys: &crate::crypto::Keyring) -> Result<(), String> {
        let mut problems = Vec::new();
        if keys.is_empty() {
            problems.push(match &self.secret_key_file {
                None => "no secret key: give --secret-key-file FILE or KENCHO_SECRET_KEY_FILE \
                         (make one with `kencho keys generate FILE`; `serve --demo` makes its own)"
                    .to_string(),
                Some(f) => format!("the secret key file {} holds no key", f.display()),
            });
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            problems.push(format!("--base-url {:?} must start with http:// or https://", self.base_url));
        }
        if let Some(url) = &self.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                problems.push("--smtp-url must start with smtp:// or smtps://".to_string());
            }
        }
        if let Some(url) = &self.mqtt_url {
            if let Err(e) = crate::iot::mqtt::MqttConfig::from_url(url, "kencho") {
                problems.push(format!("--mqtt-url: {e}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}
