//! Embeds every `locales/*.toml` file, so adding a language is adding a file.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled for one
    // checkout and reused by another (a copied target folder) must read its own locales.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("locales");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut langs: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".toml")).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Japanese first: it is the default and the fallback.
    langs.sort_by_key(|l| (l != "ja", l.clone()));
    let mut out = String::from("pub const LANGS: &[(&str, &str)] = &[\n");
    for l in &langs {
        let path = dir.join(format!("{l}.toml"));
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(out, "    ({l:?}, include_str!({:?})),", path.display().to_string());
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("locales.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
