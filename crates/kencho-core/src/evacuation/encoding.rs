//! The text encodings public data files arrive in. GSI's 指定緊急避難場所 and 指定避難所 lists are
//! published as UTF-8 with a BOM, municipal portals re-publish them (and the Address Base
//! Registry's CSVs) in Shift_JIS, usually with CRLF line ends. A file is read as UTF-8 when it is
//! valid UTF-8 (with or without a BOM), otherwise as Shift_JIS (Windows-31J, the code page those
//! portals mean by it) when it decodes without a single invalid sequence, and refused otherwise:
//! a guess that turns bytes into the wrong characters would load wrong names without a word.
//! CRLF is left to the CSV reader, which takes either line end.

use encoding_rs::SHIFT_JIS;

/// How the bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    ShiftJis,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::ShiftJis => "Shift_JIS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// Starts with a UTF-8 BOM but is not UTF-8 after it.
    #[error("the file starts with a UTF-8 BOM but byte {offset} is not UTF-8")]
    BadUtf8AfterBom { offset: usize },
    /// Neither UTF-8 nor Shift_JIS: `utf8_at` is the first byte that is not UTF-8.
    #[error(
        "the file is neither UTF-8 nor Shift_JIS (byte {utf8_at} is not UTF-8, and it does not decode as Shift_JIS)"
    )]
    Unknown { utf8_at: usize },
    /// UTF-16 (from spreadsheet "Unicode text" exports) is recognised by its BOM and named.
    #[error("the file is UTF-16; save it as UTF-8 or Shift_JIS CSV")]
    Utf16,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a data file, BOM removed. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), EncodingError> {
    if let Some(rest) = bytes.strip_prefix(BOM) {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_string(), Encoding::Utf8Bom)),
            Err(e) => Err(EncodingError::BadUtf8AfterBom { offset: BOM.len() + e.valid_up_to() }),
        };
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(EncodingError::Utf16);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), Encoding::Utf8)),
        Err(e) => {
            let (text, had_errors) = SHIFT_JIS.decode_without_bom_handling(bytes);
            if had_errors {
                Err(EncodingError::Unknown { utf8_at: e.valid_up_to() })
            } else {
                Ok((text.into_owned(), Encoding::ShiftJis))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_encodings_site_lists_come_in() {
        let line = "NO,共通ID,施設・場所名\r\n1,E0721200001,原町第一小学校\r\n";
        assert_eq!(decode(line.as_bytes()).unwrap(), (line.to_string(), Encoding::Utf8));
        let bom = [BOM, line.as_bytes()].concat();
        assert_eq!(decode(&bom).unwrap(), (line.to_string(), Encoding::Utf8Bom));
        let (sjis, _, _) = SHIFT_JIS.encode(line);
        assert_ne!(sjis.as_ref(), line.as_bytes());
        assert_eq!(decode(&sjis).unwrap(), (line.to_string(), Encoding::ShiftJis));
        // Windows-31J extensions (①, ㈱, NEC selected IBM kanji such as 髙) are in municipal files.
        let (ext, _, _) = SHIFT_JIS.encode("髙田①㈱");
        assert_eq!(decode(&ext).unwrap().0, "髙田①㈱");
    }

    #[test]
    fn refuses_what_it_cannot_read_and_says_where() {
        assert_eq!(decode(b"\xEF\xBB\xBFab\xFF"), Err(EncodingError::BadUtf8AfterBom { offset: 5 }));
        assert_eq!(decode(b"\xFF\xFEa\x00"), Err(EncodingError::Utf16));
        // 0x82 0x20: a Shift_JIS lead byte followed by a byte that cannot trail it.
        assert_eq!(decode(b"ab\x82\x20"), Err(EncodingError::Unknown { utf8_at: 2 }));
    }

    proptest! {
        // Any text survives a round trip through either encoding it can be written in. (Bytes
        // that are valid both ways are read as UTF-8: the rare short Shift_JIS text that is also
        // valid UTF-8 is the one case a detector cannot tell apart.)
        #[test]
        fn round_trips(s in "[ -~ぁ-んァ-ヶ一-龠、。・\r\n]{0,80}") {
            prop_assert_eq!(decode(s.as_bytes()).unwrap().0, s.clone());
            let (sjis, _, unmappable) = SHIFT_JIS.encode(&s);
            if !unmappable && std::str::from_utf8(&sjis).is_err() {
                prop_assert_eq!(decode(&sjis).unwrap().0, s);
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
