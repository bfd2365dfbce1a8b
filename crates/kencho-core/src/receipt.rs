//! 受付番号 (receipt numbers) and the content hash that binds a submission to its answers.

use sha2::{Digest, Sha256};

/// `AIZU-2026-0001234-5`: tenant prefix, year of submission, application number and a Luhn
/// check digit, so a number read out over the phone with a slip is caught.
pub fn receipt_number(prefix: &str, year: i32, id: i64) -> String {
    let body = format!("{id:07}");
    format!("{prefix}-{year}-{body}-{}", luhn_digit(&body))
}

/// Checks the shape and check digit of a receipt number.
pub fn is_valid_receipt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [prefix, year, body, check] = parts.as_slice() else {
        return false;
    };
    !prefix.is_empty()
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && body.len() >= 7
        && body.bytes().all(|b| b.is_ascii_digit())
        && check.len() == 1
        && check.parse::<u32>().ok() == Some(luhn_digit(body))
}

fn luhn_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// SHA-256 over what was submitted: procedure and version, applicant, answers (canonical JSON:
/// object keys sorted) and each attachment's own SHA-256.
pub fn content_hash(
    procedure_code: &str,
    version: i64,
    applicant: &str,
    answers: &serde_json::Value,
    attachment_hashes: &[String],
) -> String {
    let mut h = Sha256::new();
    let canonical = serde_json::to_string(answers).unwrap_or_default();
    for part in [procedure_code, &version.to_string(), applicant, &canonical] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let mut sorted = attachment_hashes.to_vec();
    sorted.sort();
    for a in sorted {
        h.update(a.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn format() {
        let r = receipt_number("AIZU", 2026, 1234);
        assert!(r.starts_with("AIZU-2026-0001234-"));
        assert!(is_valid_receipt(&r));
    }

    proptest! {
        #[test]
        fn check_digit_catches_single_digit_slips(id in 1i64..100_000_000, pos in 0usize..7, delta in 1u8..10) {
            let r = receipt_number("PREF", 2026, id);
            prop_assert!(is_valid_receipt(&r));
            let mut bytes = r.into_bytes();
            let i = 10 + pos; // inside the number part
            let d = bytes[i] - b'0';
            bytes[i] = b'0' + (d + delta) % 10;
            let slipped = String::from_utf8(bytes).unwrap();
            prop_assert!(!is_valid_receipt(&slipped));
        }
    }
}
