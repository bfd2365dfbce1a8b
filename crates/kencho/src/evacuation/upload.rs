//! Files as an administrator hands them in, turned into one layer: zips opened (the Address Base
//! Registry ships every CSV zipped, and a zip may hold both of its files), each file decoded from
//! UTF-8 (with or without BOM) or Shift_JIS, and the whole parsed and checked before anything is
//! stored. The result keeps what was read from each file (name, encoding, SHA-256 of its bytes)
//! for the audit log.

use std::io::Read;

use kencho_core::check::Finding;
use kencho_core::evacuation::abr::{self, CsvFile};
use kencho_core::evacuation::data::LoadError;
use kencho_core::evacuation::encoding::decode;
use kencho_core::evacuation::FloodScenario;
use sha2::{Digest, Sha256};

use super::layers::{parse, LayerKind, Parsed};

/// One file as uploaded.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Upload {
        Upload { name: name.into(), bytes: bytes.into() }
    }
}

/// What one input file was.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileRead {
    pub name: String,
    pub sha256: String,
    pub encoding: &'static str,
}

/// A layer ready to store: the text kept as its body (re-read whenever the layer is put in use),
/// what it parsed to, and where it came from.
pub struct Prepared {
    pub body: String,
    pub parsed: Parsed,
    pub scenario: Option<FloodScenario>,
    pub file_name: String,
    pub files: Vec<FileRead>,
}

/// The largest layer upload accepted: hazard layers of a whole prefecture are large (hundreds
/// of MB).
pub const LAYER_LIMIT: usize = 512 * 1024 * 1024;

/// Most bytes taken out of one upload's zips: the same as the largest upload accepted, so a small
/// zip cannot expand into something the server would not have accepted as it is.
const MAX_EXPANDED: u64 = LAYER_LIMIT as u64;

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The files in a zip (directories and macOS resource forks left out), named "zip/member".
fn unzip(u: &Upload, budget: &mut u64) -> Result<Vec<Upload>, LoadError> {
    let bad = |problem: Finding| LoadError::Files(problem).in_file(&u.name);
    let entry_err = |i: usize, e: zip::result::ZipError| {
        bad(Finding::new("zip_entry_unreadable", "").with("entry", i).with("message", e))
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&u.bytes))
        .map_err(|e| bad(Finding::new("zip_unreadable", "").with("message", e)))?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| entry_err(i, e))?;
        let name = entry.name().map_err(|e| entry_err(i, e))?.to_string();
        if entry.is_dir()
            || name.starts_with("__MACOSX/")
            || name.rsplit('/').next().is_some_and(|n| n.starts_with("._"))
        {
            continue;
        }
        let mut bytes = Vec::new();
        let read = entry
            .by_ref()
            .take(*budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(Finding::unreadable(e).at(&name)))?;
        if read as u64 > *budget {
            return Err(bad(Finding::new("zip_too_large", &name).with("mb", MAX_EXPANDED / 1024 / 1024)));
        }
        *budget -= read as u64;
        out.push(Upload { name: format!("{}/{name}", u.name), bytes });
    }
    Ok(out)
}

/// Decodes and parses the files given for a layer of `kind`. Every kind but towns is one file.
pub fn prepare(kind: LayerKind, uploads: Vec<Upload>) -> Result<Prepared, LoadError> {
    let mut budget = MAX_EXPANDED;
    let mut files = Vec::new();
    for u in uploads {
        if is_zip(&u.bytes) {
            files.extend(unzip(&u, &mut budget)?);
        } else {
            files.push(u);
        }
    }
    let mut texts = Vec::with_capacity(files.len());
    let mut read = Vec::with_capacity(files.len());
    for f in &files {
        let (text, enc) = decode(&f.bytes).map_err(|e| LoadError::from(e).in_file(&f.name))?;
        if text.contains('\0') {
            return Err(LoadError::Files(Finding::new("data_not_text", "")).in_file(&f.name));
        }
        read.push(FileRead {
            name: f.name.clone(),
            sha256: hex::encode(Sha256::digest(&f.bytes)),
            encoding: enc.label(),
        });
        texts.push(text);
    }
    let names = files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
    let file_name: String = names.chars().take(200).collect();
    if kind == LayerKind::Towns {
        let csv: Vec<CsvFile> = files.iter().zip(&texts).map(|(f, t)| CsvFile { name: &f.name, text: t }).collect();
        let towns = abr::from_files(&csv)?;
        let body = abr::to_csv(&towns);
        return Ok(Prepared { body, parsed: Parsed::Towns(towns), scenario: None, file_name, files: read });
    }
    let [text] = <[String; 1]>::try_from(texts).map_err(|t| {
        if t.is_empty() {
            LoadError::Empty
        } else {
            let problem = Finding::new("layer_one_file", "")
                .with("kind", kind.as_str())
                .with("count", t.len())
                .with("files", &names);
            LoadError::Files(problem)
        }
    })?;
    let parsed = parse(kind, &text).map_err(|e| e.in_file(&files[0].name))?;
    let scenario = match &parsed {
        Parsed::Flood(z) => Some(z.scenario()),
        _ => None,
    };
    Ok(Prepared { body: text, parsed, scenario, file_name, files: read })
}
