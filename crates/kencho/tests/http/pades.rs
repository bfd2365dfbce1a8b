//! Embedded PAdES signatures (issue 18): an administrator configures the office's certificate
//! (checked whole, key sealed, audited); from then on notices carry a PAdES signature over the
//! whole file that verifies with the certificate, and the hash register still verifies the
//! signed file by upload. The test certificates are made here (rcgen), never committed.
//!
//! With `KENCHO_TEST_TSA_URL` (an RFC 3161 TSA, `.ci/run` starts `openssl ts` behind a small
//! HTTP wrapper) the time-stamped (B-T) case runs too; with `KENCHO_TEST_PADES_DIR` the signed
//! PDFs and the test CA are written there for the independent validators in `.ci/run`.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use sha2::{Digest, Sha256};

use crate::documents::{accept_and_approve, verify_api};
use crate::harness::*;

const KACHO: &str = "kacho@minamisoma.example.jp";
const ADMIN: &str = "admin@minamisoma.example.jp";

/// A test CA and an office certificate it issued, in PEM.
pub(crate) struct Pki {
    pub ca: String,
    pub chain: String,
    pub key: String,
}

/// An RSA-2048 key (as LGPKI 職責証明書 are) made with the `rsa` crate, for rcgen.
fn rsa_key() -> KeyPair {
    use rsa::pkcs8::EncodePrivateKey;
    let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let der = k.to_pkcs8_der().unwrap();
    KeyPair::from_pkcs8_der_and_sign_algo(&der.as_bytes().into(), &rcgen::PKCS_RSA_SHA256).unwrap()
}

/// `edit` changes the office certificate's parameters (validity, key usage).
pub(crate) fn pki(rsa: bool, edit: impl FnOnce(&mut CertificateParams)) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "kencho test CA (not LGPKI)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, "南相馬市長 職責証明書（テスト）");
    leaf.distinguished_name.push(DnType::OrganizationName, "南相馬市");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    // An end-entity certificate (rcgen writes the key usage only along with such an extension).
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(365);
    edit(&mut leaf);
    let key = if rsa { rsa_key() } else { KeyPair::generate().unwrap() };
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki { ca: ca_cert.pem(), chain: format!("{}{}", cert.pem(), ca_cert.pem()), key: key.serialize_pem() }
}

async fn put_certificate(app: &TestApp, admin: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res =
        api().put(app.url("/api/v1/admin/signing-certificate")).bearer_auth(admin).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn pem_body(p: &Pki, tsa: Option<&str>) -> serde_json::Value {
    serde_json::json!({"certificate_pem": p.chain, "private_key_pem": p.key, "tsa_url": tsa})
}

/// Approves a new application and downloads its notice as the resident.
async fn approved_notice(app: &TestApp, kacho: &str, dog: &str) -> Vec<u8> {
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, dog).await;
    accept_and_approve(app, kacho, id).await;
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let res = taro.get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

fn save(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("KENCHO_TEST_PADES_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

#[tokio::test]
async fn an_office_certificate_is_checked_whole_and_only_by_an_administrator() {
    let app = spawn_app().await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    let kacho = app.staff_token(KACHO).await;
    let good = pki(false, |_| {});

    let (status, _) = put_certificate(&app, &kacho, pem_body(&good, None)).await;
    assert_eq!(status, 403, "only a tenant administrator configures the certificate");
    let cases = [
        (
            pki(false, |p| p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1)),
            "certificate_expired",
        ),
        (
            pki(false, |p| p.not_before = time::OffsetDateTime::now_utc() + time::Duration::days(2)),
            "certificate_not_yet_valid",
        ),
        (pki(false, |p| p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]), "certificate_key_usage"),
    ];
    for (p, code) in &cases {
        let (status, body) = put_certificate(&app, &admin, pem_body(p, None)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some(*code)), "{body}");
    }
    let other = pki(false, |_| {});
    let mismatched = serde_json::json!({"certificate_pem": good.chain, "private_key_pem": other.key});
    let (status, body) = put_certificate(&app, &admin, mismatched).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("certificate_key_mismatch")));
    let garbage = serde_json::json!({"certificate_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "private_key_pem": good.key});
    let (status, body) = put_certificate(&app, &admin, garbage).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("certificate_unreadable")));
    let empty = serde_json::json!({"certificate_pem": "", "private_key_pem": good.key});
    let (status, body) = put_certificate(&app, &admin, empty).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("certificate_unreadable")), "{body}");
    let (status, body) = put_certificate(&app, &admin, pem_body(&good, Some("ftp://tsa.example"))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("tsa_url_invalid")));
    let (status, body) = put_certificate(&app, &admin, serde_json::json!({"pkcs12": "!!!", "password": "x"})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("certificate_unreadable")));
    let (status, _) = put_certificate(&app, &admin, serde_json::json!({"tsa_url": "http://x"})).await;
    assert_eq!(status, 400);
    // Refusals changed nothing.
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_certificates").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'signing_certificate.%'").await, 0);

    let (status, info) = put_certificate(&app, &admin, pem_body(&good, None)).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["key_algorithm"], "ECDSA-P256");
    assert_eq!(info["level"], "B-B");
    assert!(info["subject"].as_str().unwrap().contains("南相馬市"), "{info}");
    // The key is sealed at rest, never in clear.
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT private_key FROM signing_certificates WHERE removed_at IS NULL")
        .fetch_one(&app.db.read)
        .await
        .unwrap()
        .try_get("private_key")
        .unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains("PRIVATE KEY"));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'signing_certificate.configure'").await, 1);
    let got = get_json(&app.url("/api/v1/admin/signing-certificate"), &admin).await;
    assert_eq!(got["certificate"]["sha256"], info["sha256"]);
    assert!(!got.to_string().contains("PRIVATE"), "the key is never shown");

    // Removing it erases the key and keeps the record.
    let res = api().delete(app.url("/api/v1/admin/signing-certificate")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["removed"], info["cert_id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_certificates WHERE private_key IS NOT NULL").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'signing_certificate.remove'").await, 1);
    let got = get_json(&app.url("/api/v1/admin/signing-certificate"), &admin).await;
    assert!(got["certificate"].is_null());
}

#[tokio::test]
async fn notices_carry_a_pades_signature_over_the_whole_file_and_stay_in_the_hash_register() {
    let app = spawn_app().await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    let kacho = app.staff_token(KACHO).await;

    // Without a certificate: no embedded signature, as before.
    let plain = approved_notice(&app, &kacho, "ポチ").await;
    assert!(kencho::documents::pades::verify::verify(&plain).unwrap().is_none());

    // An RSA-2048 office certificate (as LGPKI 職責証明書 are).
    let p = pki(true, |_| {});
    let (status, info) = put_certificate(&app, &admin, pem_body(&p, None)).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["key_algorithm"], "RSA-2048");
    let pdf = approved_notice(&app, &kacho, "タロ").await;
    assert!(pdf.starts_with(&plain[..8]));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/SubFilter /ETSI.CAdES.detached") && text.contains("/Type /Sig"));
    assert!(text.contains("/Prev "), "an incremental update");
    let sig = kencho::documents::pades::verify::verify(&pdf).unwrap().expect("an embedded signature");
    assert!(sig.signing_certificate_v2, "{sig:?}");
    assert_eq!(sig.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(sig.certificate_sha256, info["sha256"].as_str().unwrap());
    assert!(!sig.time_stamped);

    // The hash register holds the signed file: it verifies by upload and by number + hash.
    let v = verify_api(&app, &pdf).await;
    assert_eq!(v["result"], "genuine", "{v}");
    assert_eq!(v["sha256"], hex::encode(Sha256::digest(&pdf)));

    // Any change inside the signed ranges breaks the embedded signature, and the register
    // calls it altered.
    let mut altered = pdf.clone();
    let at = altered.len() / 3;
    altered[at] ^= 0x01;
    assert!(kencho::documents::pades::verify::verify(&altered).is_err());
    assert_eq!(verify_api(&app, &altered).await["result"], "altered");
    // Bytes appended after the signature are outside the byte range: not the whole file.
    let mut longer = pdf.clone();
    longer.extend_from_slice(b"\n% appended\n");
    assert!(kencho::documents::pades::verify::verify(&longer).is_err());

    save("notice-b-b.pdf", &pdf);
    save("notice-b-b.ca.pem", p.ca.as_bytes());

    // A TSA that does not answer: the notice is not issued half-signed.
    let (status, _) = put_certificate(&app, &admin, pem_body(&p, Some("http://127.0.0.1:9/tsa"))).await;
    assert_eq!(status, 200);
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "ハナ").await;
    accept_and_approve(&app, &kacho, id).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM issued_documents WHERE application_id = {id}")).await, 0);
    let links = kencho::flows::Links::new(Default::default());
    let err = kencho::documents::issue_decision_notice(&app.db, &links, &app.base, &app.data_dir, id, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "tsa_failed");
}

/// PAdES-B-T against a real RFC 3161 TSA (`openssl ts -reply`), when `.ci/run` provides one.
#[tokio::test]
#[ignore = "needs an RFC 3161 TSA in KENCHO_TEST_TSA_URL; scripts/pades-check.sh (in .ci/run) starts one"]
async fn with_a_tsa_the_signature_is_time_stamped() {
    let tsa = std::env::var("KENCHO_TEST_TSA_URL").expect("KENCHO_TEST_TSA_URL: the URL of an RFC 3161 TSA");
    let app = spawn_app().await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    let kacho = app.staff_token(KACHO).await;
    let p = pki(true, |_| {});
    let (status, info) = put_certificate(&app, &admin, pem_body(&p, Some(&tsa))).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["level"], "B-T");
    let pdf = approved_notice(&app, &kacho, "ポチ").await;
    let sig = kencho::documents::pades::verify::verify(&pdf).unwrap().expect("an embedded signature");
    assert!(sig.time_stamped, "{sig:?}");
    assert_eq!(verify_api(&app, &pdf).await["result"], "genuine");
    save("notice-b-t.pdf", &pdf);
    save("notice-b-t.ca.pem", p.ca.as_bytes());
}

/// An office's certificate as offices hold it: a PKCS#12 file, here written by `openssl pkcs12
/// -export` (scripts/pades-check.sh makes it), read with its password and signing notices.
#[tokio::test]
#[ignore = "needs a .p12 written by openssl in KENCHO_TEST_P12; scripts/pades-check.sh (in .ci/run) makes one"]
async fn a_pkcs12_file_from_openssl_signs_notices() {
    use base64::Engine as _;
    let path = std::env::var("KENCHO_TEST_P12").expect("KENCHO_TEST_P12: a PKCS#12 file");
    let password = std::env::var("KENCHO_TEST_P12_PASSWORD").expect("KENCHO_TEST_P12_PASSWORD");
    let p12 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path).unwrap());
    let app = spawn_app().await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    let kacho = app.staff_token(KACHO).await;
    let (status, info) =
        put_certificate(&app, &admin, serde_json::json!({"pkcs12": p12, "password": "not the password"})).await;
    assert_eq!((status, info["code"].as_str()), (422, Some("certificate_password")), "{info}");
    let (status, info) = put_certificate(&app, &admin, serde_json::json!({"pkcs12": p12, "password": password})).await;
    assert_eq!(status, 200, "{info}");
    let pdf = approved_notice(&app, &kacho, "モモ").await;
    assert!(kencho::documents::pades::verify::verify(&pdf).unwrap().is_some(), "an embedded signature");
    assert_eq!(verify_api(&app, &pdf).await["result"], "genuine");
}
