//! The key file: kept outside the database (`--secret-key-file`, `KENCHO_SECRET_KEY_FILE`).
//!
//! Text, one key a line, `<id> <base64 of 32 bytes>`; blank lines and `#` comments are
//! ignored; the **last** key is the current one (it seals new values), the others still open
//! what they sealed. The file must not be readable by group or others (mode 0600): kencho
//! refuses it otherwise.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use super::{valid_key_id, Key, Keyring};

const HEADER: &str = "# kencho secret keys: <id> <base64 32 bytes>; the last line is the current key.\n\
# Back this file up apart from the database backups: without it sealed values are lost.\n";

/// Reads a keyring from its text.
pub fn parse(text: &str) -> Result<Keyring, String> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, b64) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("line {}: expected `<id> <base64 key>`", n + 1))?;
        let bytes =
            Zeroizing::new(STANDARD.decode(b64.trim()).map_err(|_| format!("line {}: the key is not base64", n + 1))?);
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("line {}: a key has 32 bytes, this one {}", n + 1, bytes.len()))?;
        keys.push(Key::new(id, bytes).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    if keys.is_empty() {
        return Err("the file holds no key".into());
    }
    Keyring::new(keys)
}

/// Loads the key file, refusing one that group or others may read.
pub fn load(path: &Path) -> Result<Keyring, String> {
    let shown = path.display();
    check_mode(path).map_err(|e| format!("secret key file {shown}: {e}"))?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("secret key file {shown}: {e}"))?);
    parse(&text).map_err(|e| format!("secret key file {shown}: {e}"))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!("readable by group or others (mode {:o}); run `chmod 600` on it", mode & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// A new key id: `k` and the UTC date and time, then 4 random hex digits.
pub fn new_key_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let mut r = [0u8; 2];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut r);
    format!(
        "k{:04}{:02}{:02}{:02}{:02}-{}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        hex::encode(r)
    )
}

fn line_of(key: &Key) -> String {
    format!("{} {}\n", key.id(), STANDARD.encode(key.bytes()))
}

/// Creates a new key file (mode 0600) with one key; refuses to overwrite one.
pub fn generate(path: &Path) -> Result<String, String> {
    let key = Key::generate(&new_key_id())?;
    let mut f = create_private(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = Zeroizing::new(format!("{HEADER}{}", line_of(&key)));
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key.id().to_string())
}

/// Appends a new current key to the file; the earlier keys stay to open older values.
pub fn rotate(path: &Path) -> Result<String, String> {
    let ring = load(path)?;
    let mut id = new_key_id();
    while ring.ids().contains(&id.as_str()) {
        id = new_key_id();
    }
    debug_assert!(valid_key_id(&id));
    let key = Key::generate(&id)?;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let lead = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
    let line = Zeroizing::new(format!("{lead}{}", line_of(&key)));
    f.write_all(line.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(id)
}

/// The demo's key: `path` is created with a fresh key if it does not exist, then loaded.
pub fn load_or_create(path: &Path) -> Result<Keyring, String> {
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        match generate(path) {
            Ok(id) => {
                tracing::warn!(file = %path.display(), key = id, "created a secret key file; back it up apart from the database")
            }
            // Another process made it first.
            Err(_) if path.exists() => {}
            Err(e) => return Err(e),
        }
    }
    load(path)
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kencho-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("secret.key")
    }

    #[test]
    fn generate_rotate_and_load() {
        let path = temp("rotate");
        let first = generate(&path).unwrap();
        assert!(generate(&path).is_err(), "an existing file is never overwritten");
        let second = rotate(&path).unwrap();
        let ring = load(&path).unwrap();
        assert_eq!(ring.ids(), vec![first.as_str(), second.as_str()]);
        assert_eq!(ring.current_id(), Some(second.as_str()));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let path = temp("mode");
        generate(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn bad_files_name_the_line() {
        assert!(parse("").unwrap_err().contains("no key"));
        assert!(parse("k1 notbase64!!").unwrap_err().contains("line 1"));
        assert!(parse("# c\nk1 AAAA").unwrap_err().contains("line 2: a key has 32 bytes"));
        let k = STANDARD.encode([1u8; 32]);
        assert!(parse(&format!("k1 {k}\nk1 {k}")).unwrap_err().contains("twice"));
        assert!(parse(&format!("k:1 {k}")).unwrap_err().contains("key id"));
        assert_eq!(parse(&format!("a {k}\n\nb {k}\n")).unwrap().current_id(), Some("b"));
    }
}
