//! Appends a signature to a PDF as an incremental update (ISO 32000-1 §7.5.6): the original
//! bytes stay as they are, and a new section adds the signature dictionary (§12.8.1), an
//! invisible signature field and widget (§12.7.4.5), the catalog with its /AcroForm and the
//! first page with the widget in its /Annots, a cross-reference section for those objects and
//! a trailer whose /Prev points at the previous one.
//!
//! The signature dictionary is written with a zero-filled /Contents placeholder and a
//! fixed-width /ByteRange; [`Placeholder::fill`] writes both once the CMS is made. The file
//! must have a classic cross-reference table (krilla writes one) and its catalog and pages as
//! plain objects, which is what [`super::super::pdf`] produces; anything else is refused.

use std::collections::BTreeMap;

/// Width of each /ByteRange number in the placeholder (10 digits: files up to 9.9 GB).
const RANGE_WIDTH: usize = 10;
/// Length of the whole `[0 n n n]` slot.
const RANGE_SLOT: usize = 3 + 3 * (RANGE_WIDTH + 1);

/// A PDF with its signature dictionary written and /Contents and /ByteRange still to fill.
pub struct Placeholder {
    pub bytes: Vec<u8>,
    /// Offset of the `<` opening /Contents.
    contents_at: usize,
    /// Offset just after the `>` closing /Contents.
    contents_end: usize,
    /// Offset of the first /ByteRange number.
    range_at: usize,
}

impl Placeholder {
    /// The signed bytes: everything but the /Contents string.
    pub fn signed_parts(&self) -> [&[u8]; 2] {
        [&self.bytes[..self.contents_at], &self.bytes[self.contents_end..]]
    }

    /// How many bytes of CMS fit.
    pub fn capacity(&self) -> usize {
        (self.contents_end - self.contents_at - 2) / 2
    }

    /// Writes the CMS (zero-padded) into /Contents; returns the finished file.
    pub fn fill(mut self, cms: &[u8]) -> Result<Vec<u8>, String> {
        if cms.len() > self.capacity() {
            return Err(format!("the signature ({} bytes) does not fit in {}", cms.len(), self.capacity()));
        }
        let hex = hex::encode_upper(cms);
        self.bytes[self.contents_at + 1..self.contents_at + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn number_after(text: &str, key: &str) -> Option<usize> {
    // krilla writes compact dictionaries (`/Size 37/Root 36 0 R`): take the digits.
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start();
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `/Key N 0 R` → N.
fn reference(dict: &str, key: &str) -> Option<usize> {
    number_after(dict, &format!("{key} "))
}

/// The value text of `/Key` when it is an array or a reference (to copy it to a new trailer).
fn raw_value(dict: &str, key: &str) -> Option<String> {
    let at = dict.find(key)? + key.len();
    let rest = dict[at..].trim_start();
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        return Some(rest[..=end].to_string());
    }
    let mut parts = rest.split_ascii_whitespace();
    let (n, g, r) = (parts.next()?, parts.next()?, parts.next()?);
    (r.starts_with('R')).then(|| format!("{n} {g} R"))
}

/// The previous revision's structure: where its cross-reference table is, its trailer and
/// where each object starts.
struct Previous {
    startxref: usize,
    trailer: String,
    offsets: BTreeMap<usize, usize>,
}

fn previous(pdf: &[u8]) -> Result<Previous, String> {
    let sx = rfind(pdf, b"startxref").ok_or("no startxref")?;
    let tail = std::str::from_utf8(&pdf[sx + 9..]).map_err(|_| "bad startxref")?;
    let startxref: usize = tail.split_ascii_whitespace().next().and_then(|n| n.parse().ok()).ok_or("bad startxref")?;
    if pdf.get(startxref..startxref + 4) != Some(b"xref") {
        return Err("not a classic cross-reference table".into());
    }
    let tr = find(pdf, b"trailer", startxref).ok_or("no trailer")?;
    let table = std::str::from_utf8(&pdf[startxref + 4..tr]).map_err(|_| "bad xref")?;
    let trailer = String::from_utf8_lossy(&pdf[tr + 7..sx]).to_string();
    let mut offsets = BTreeMap::new();
    let mut lines = table.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(head) = lines.next() {
        let mut h = head.split_ascii_whitespace();
        let (first, count): (usize, usize) = (
            h.next().and_then(|n| n.parse().ok()).ok_or("bad xref subsection")?,
            h.next().and_then(|n| n.parse().ok()).ok_or("bad xref subsection")?,
        );
        for i in 0..count {
            let e: Vec<&str> = lines.next().ok_or("short xref")?.split_ascii_whitespace().collect();
            if e.len() == 3 && e[2] == "n" {
                offsets.insert(first + i, e[0].parse().map_err(|_| "bad xref entry")?);
            }
        }
    }
    Ok(Previous { startxref, trailer, offsets })
}

/// The dictionary text (`<< … >>`) of object `n`.
fn object_dict(pdf: &[u8], prev: &Previous, n: usize) -> Result<String, String> {
    let at = *prev.offsets.get(&n).ok_or(format!("object {n} is not in the table"))?;
    let end = find(pdf, b"endobj", at).ok_or(format!("object {n} has no end"))?;
    let text = std::str::from_utf8(&pdf[at..end]).map_err(|_| format!("object {n} is not a plain dictionary"))?;
    let open = text.find("obj").ok_or(format!("object {n} has no header"))? + 3;
    let dict = text[open..].trim();
    if !dict.starts_with("<<") || !dict.ends_with(">>") || dict.contains("stream") {
        return Err(format!("object {n} is not a plain dictionary"));
    }
    Ok(dict.to_string())
}

/// Adds `/Key value` to a dictionary's text.
fn with_entry(dict: &str, entry: &str) -> String {
    format!("{} {entry} >>", dict[..dict.len() - 2].trim_end())
}

/// A PDF text string in UTF-16BE with its byte order mark (ISO 32000-1 §7.9.2.2), as hex.
pub fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        out.push_str(&format!("{u:04X}"));
    }
    out.push('>');
    out
}

/// What the signature dictionary says besides the signature.
pub struct SigInfo<'a> {
    /// `D:YYYYMMDDHHmmSS+09'00'`, the claimed signing time (/M).
    pub time: &'a str,
    pub reason: &'a str,
    pub location: &'a str,
    /// The signer's name as shown by readers (/Name).
    pub name: &'a str,
}

/// The first page (its number and its dictionary with the widget `field` added to /Annots).
fn page_with_widget(pdf: &[u8], prev: &Previous, catalog: &str, field: usize) -> Result<(usize, String), String> {
    let pages = reference(catalog, "/Pages").ok_or("catalog has no /Pages")?;
    let kids = raw_value(&object_dict(pdf, prev, pages)?, "/Kids").ok_or("no /Kids")?;
    let first_page: usize = kids
        .trim_matches(['[', ']'])
        .split_ascii_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or("no first page")?;
    let page = object_dict(pdf, prev, first_page)?;
    let page = if page.contains("/Annots") {
        let at = page.find("/Annots").unwrap_or_default() + "/Annots".len();
        let rest = page[at..].trim_start();
        if !rest.starts_with('[') {
            return Err("the first page's /Annots is not a plain array".into());
        }
        let open = page.len() - rest.len() + 1;
        format!("{}{field} 0 R {}", &page[..open], &page[open..])
    } else {
        with_entry(&page, &format!("/Annots [{field} 0 R]"))
    };
    Ok((first_page, page))
}

/// Appends the update with a /Contents placeholder of `capacity` bytes.
pub fn prepare(pdf: &[u8], info: &SigInfo<'_>, capacity: usize) -> Result<Placeholder, String> {
    let prev = previous(pdf)?;
    let size = number_after(&prev.trailer, "/Size").ok_or("trailer has no /Size")?;
    let root = reference(&prev.trailer, "/Root").ok_or("trailer has no /Root")?;
    let catalog = object_dict(pdf, &prev, root)?;
    if catalog.contains("/AcroForm") {
        return Err("the document already has a form".into());
    }
    let (sig, field) = (size, size + 1);
    let (first_page, page) = page_with_widget(pdf, &prev, &catalog, field)?;
    let catalog = with_entry(&catalog, &format!("/AcroForm << /Fields [{field} 0 R] /SigFlags 3 >>"));

    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets: BTreeMap<usize, usize> = BTreeMap::new();
    let placeholder_range = format!("[0 {0} {0} {0}]", "0".repeat(RANGE_WIDTH));
    offsets.insert(sig, out.len());
    let head = format!(
        "{sig} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange {placeholder_range} /Contents "
    );
    out.extend_from_slice(head.as_bytes());
    let range_at = out.len() - " /Contents ".len() - placeholder_range.len();
    let contents_at = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', capacity * 2));
    out.push(b'>');
    let contents_end = out.len();
    let tail = format!(
        " /M ({}) /Name {} /Reason {} /Location {} >>\nendobj\n",
        info.time,
        text_string(info.name),
        text_string(info.reason),
        text_string(info.location)
    );
    out.extend_from_slice(tail.as_bytes());
    let objects = [
        (field, format!("<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V {sig} 0 R /F 132 /Rect [0 0 0 0] /P {first_page} 0 R >>")),
        (root, catalog),
        (first_page, page),
    ];
    for (n, dict) in objects {
        offsets.insert(n, out.len());
        out.extend_from_slice(format!("{n} 0 obj\n{dict}\nendobj\n").as_bytes());
    }
    let xref_at = out.len();
    out.extend_from_slice(&xref_section(&offsets));
    let mut trailer = format!("<< /Size {} /Root {root} 0 R /Prev {}", size + 2, prev.startxref);
    for key in ["/Info", "/ID"] {
        if let Some(v) = raw_value(&prev.trailer, key) {
            trailer.push_str(&format!(" {key} {v}"));
        }
    }
    out.extend_from_slice(format!("trailer\n{trailer} >>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    let mut p = Placeholder { bytes: out, contents_at, contents_end, range_at };
    p.write_range()?;
    Ok(p)
}

impl Placeholder {
    /// Writes the final /ByteRange into its fixed-width slot, space-padded after the `]`.
    fn write_range(&mut self) -> Result<(), String> {
        let len = self.bytes.len();
        let text = format!("[0 {} {} {}]", self.contents_at, self.contents_end, len - self.contents_end);
        let slot = &mut self.bytes[self.range_at..self.range_at + RANGE_SLOT];
        if !slot.starts_with(b"[0 0") || text.len() > RANGE_SLOT {
            return Err("the /ByteRange slot is not where it was written".into());
        }
        slot.copy_from_slice(format!("{text:<RANGE_SLOT$}").as_bytes());
        Ok(())
    }
}

/// One cross-reference section (§7.5.4) for the given objects, grouped in runs.
fn xref_section(offsets: &BTreeMap<usize, usize>) -> Vec<u8> {
    let mut out = b"xref\n".to_vec();
    let entries: Vec<(usize, usize)> = offsets.iter().map(|(n, o)| (*n, *o)).collect();
    let mut i = 0;
    while i < entries.len() {
        let mut j = i + 1;
        while j < entries.len() && entries[j].0 == entries[j - 1].0 + 1 {
            j += 1;
        }
        out.extend_from_slice(format!("{} {}\n", entries[i].0, j - i).as_bytes());
        for (_, off) in &entries[i..j] {
            // Each entry is exactly 20 bytes, ending in space and LF.
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strings_are_utf16_with_bom() {
        assert_eq!(text_string("A通"), "<FEFF0041901A>");
    }

    #[test]
    fn xref_runs_are_grouped_with_20_byte_entries() {
        let m: BTreeMap<usize, usize> = [(1, 10), (2, 20), (7, 70)].into_iter().collect();
        let s = String::from_utf8(xref_section(&m)).unwrap();
        assert_eq!(s, "xref\n1 2\n0000000010 00000 n \n0000000020 00000 n \n7 1\n0000000070 00000 n \n");
    }
}
