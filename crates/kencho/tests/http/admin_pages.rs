//! The tenant administrator's pages for what was API only: the 手数料条例 and the 指定納付受託者
//! (`/staff/admin/fees`) and the PAdES signing certificate (`/staff/admin/certificate`). Each
//! does through the browser what the API does, with the same checks, and nothing for other
//! staff.

use reqwest::multipart::{Form, Part};

use crate::harness::*;
use crate::pades::{pki, Pki};
use crate::payments::SCHEDULE;

const ADMIN: &str = "admin@minamisoma.example.jp";
const KACHO: &str = "kacho@minamisoma.example.jp";

async fn page(b: &reqwest::Client, url: &str) -> String {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_fee_schedule_and_payment_agents_are_kept_from_the_page() {
    let app = spawn_app().await;
    let (b, token) = app.admin_api_token(ADMIN).await;
    let admin_page = page(&b, &app.url("/staff/admin")).await;
    assert!(
        admin_page.contains("href=\"/staff/admin/fees\"") && admin_page.contains("href=\"/staff/admin/certificate\"")
    );
    let fees = page(&b, &app.url("/staff/admin/fees")).await;
    assert!(fees.contains("手数料条例はまだ登録されていません"), "{fees}");
    let csrf = csrf_of(&fees);

    // A refused document comes back with every problem named, and nothing is kept.
    let bad = SCHEDULE.replace("amount = 300\n", "amount = -300\n").replace("percent = 50\n", "percent = 500\n");
    let res = b
        .post(app.url("/staff/admin/fees/schedule"))
        .form(&[("csrf", csrf.as_str()), ("document", bad.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("items[1].amount") && html.contains("grounds[0].percent"), "{html}");
    assert!(html.contains("amount = -300") && html.contains("percent = 500"), "the refused document is shown again");
    let kept = api().get(app.url("/api/v1/admin/payments/schedule")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(kept.text().await.unwrap(), "", "a refused schedule keeps nothing");

    // Saved (the browser's CRLF lines as typed): the API gives it back, the page shows it.
    let typed = SCHEDULE.replace('\n', "\r\n");
    let res = b
        .post(app.url("/staff/admin/fees/schedule"))
        .form(&[("csrf", csrf.as_str()), ("document", typed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (303, "/staff/admin/fees?saved=schedule".to_string()));
    let kept = api().get(app.url("/api/v1/admin/payments/schedule")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(kept.text().await.unwrap(), SCHEDULE);
    let fees = page(&b, &app.url("/staff/admin/fees?saved=schedule")).await;
    assert!(fees.contains("手数料条例を保存しました"));
    for shown in [
        "南相馬市手数料条例",
        "犬の登録手数料",
        "別表第1 第3項",
        "3,000円",
        "14-02-01 犬登録手数料",
        "第5条第1号",
        "50%",
    ] {
        assert!(fees.contains(shown), "{shown} in {fees}");
    }

    // A 指定 with mistakes: each shown by its field, nothing recorded.
    let res = b
        .post(app.url("/staff/admin/fees/agents"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("provider", "stripe"),
            ("agent_name", "決済代行 株式会社"),
            ("kokuji_number", ""),
            ("kokuji_date", "2026-13-01"),
            ("covers", "nai"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    for problem in ["告示の番号を入力してください", "YYYY-MM-DD の形で", "は手数料条例の項目ではありません"]
    {
        assert!(html.contains(problem), "{problem} in {html}");
    }
    assert!(html.contains("href=\"#agent-kokuji_date\"") && html.contains("value=\"決済代行 株式会社\""));
    let agents = get_json(&app.url("/api/v1/admin/payments/agents"), &token).await;
    assert!(!agents.to_string().contains("stripe"), "{agents}");

    let res = b
        .post(app.url("/staff/admin/fees/agents"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("provider", "stripe"),
            ("agent_name", "決済代行 株式会社"),
            ("kokuji_number", "南相馬市告示第7号"),
            ("kokuji_date", "2026-04-01"),
            ("covers", "inu-toroku"),
            ("covers", "shomei"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (303, "/staff/admin/fees?saved=agent".to_string()));
    let agents = get_json(&app.url("/api/v1/admin/payments/agents"), &token).await;
    let stripe = agents.as_array().unwrap().iter().find(|a| a["provider"] == "stripe").expect("recorded");
    assert_eq!(stripe["kokuji_number"], "南相馬市告示第7号");
    assert_eq!(stripe["covers"], serde_json::json!(["inu-toroku", "shomei"]));
    let fees = page(&b, &app.url("/staff/admin/fees?edit=stripe")).await;
    assert!(fees.contains("value=\"南相馬市告示第7号\""), "the form holds the 指定 to update");
}

/// What an administrator's browser sends from the certificate page's forms.
fn pem_form(csrf: &str, chain: &str, key: &str, tsa_url: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", "pem")
        .text("certificate_pem", chain.to_string())
        .text("private_key_pem", key.to_string())
        .text("tsa_url", tsa_url.to_string())
}

fn p12_form(csrf: &str, file: Vec<u8>, password: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", "pkcs12")
        .part("file", Part::bytes(file).file_name("office.p12").mime_str("application/x-pkcs12").unwrap())
        .text("password", password.to_string())
        .text("tsa_url", "")
}

/// A PKCS#12 file of `p` as RFC 7292 lays it out: the key and the chain in one safe, under an
/// HMAC-SHA-256 keyed by the password (written here, so no tool is needed).
fn pkcs12_of(p: &Pki, password: &str) -> Vec<u8> {
    use der::asn1::OctetString;
    use der::{Any, Encode};
    use hmac::Mac;
    use pkcs12::safe_bag::SafeBag;
    let id_data = der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
    let data = |bytes: Vec<u8>| cms::content_info::ContentInfo {
        content_type: id_data,
        content: Any::encode_from(&OctetString::new(bytes).unwrap()).unwrap(),
    };
    let (_, key) = der::pem::decode_vec(p.key.as_bytes()).unwrap();
    let mut bags = vec![SafeBag { bag_id: pkcs12::PKCS_12_KEY_BAG_OID, bag_value: key, bag_attributes: None }];
    for c in x509_cert::Certificate::load_pem_chain(p.chain.as_bytes()).unwrap() {
        let cert = pkcs12::cert_type::CertBag {
            cert_id: pkcs12::PKCS_12_X509_CERT_OID,
            cert_value: OctetString::new(c.to_der().unwrap()).unwrap(),
        };
        bags.push(SafeBag {
            bag_id: pkcs12::PKCS_12_CERT_BAG_OID,
            bag_value: cert.to_der().unwrap(),
            bag_attributes: None,
        });
    }
    let auth_safe = vec![data(bags.to_der().unwrap())].to_der().unwrap();
    let (salt, rounds) = (b"kencho-test-salt".to_vec(), 2048);
    let key =
        pkcs12::kdf::derive_key_utf8::<sha2::Sha256>(password, &salt, pkcs12::kdf::Pkcs12KeyType::Mac, rounds, 32)
            .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(&auth_safe);
    let pfx = pkcs12::pfx::Pfx {
        version: pkcs12::pfx::Version::V3,
        auth_safe: data(auth_safe),
        mac_data: Some(pkcs12::mac_data::MacData {
            mac: pkcs12::digest_info::DigestInfo {
                algorithm: spki::AlgorithmIdentifierOwned {
                    oid: der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
                    parameters: None,
                },
                digest: OctetString::new(mac.finalize().into_bytes().to_vec()).unwrap(),
            },
            mac_salt: OctetString::new(salt).unwrap(),
            iterations: rounds,
        }),
    };
    pfx.to_der().unwrap()
}

#[tokio::test]
async fn the_signing_certificate_is_configured_and_removed_from_the_page() {
    let app = spawn_app().await;
    let (b, token) = app.admin_api_token(ADMIN).await;
    let url = app.url("/staff/admin/certificate");
    let html = page(&b, &url).await;
    assert!(html.contains("証明書は登録されていません"), "{html}");
    let csrf = csrf_of(&html);
    let good = pki(false, |_| {});

    // Refusals are said on the page, each at its field, and the key is never sent back.
    let other = pki(false, |_| {});
    let expired = pki(false, |p| p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1));
    let cases = [
        (
            pem_form(&csrf, &good.chain, &other.key, ""),
            "秘密鍵が、指定した証明書のどれとも対応していません",
            "cert-chain",
        ),
        (pem_form(&csrf, &expired.chain, &expired.key, ""), "証明書の有効期間が終了しています", "cert-chain"),
        (pem_form(&csrf, &good.chain, &good.key, "ftp://tsa.example"), "TSA）のURLが正しくありません", "cert-tsa-pem"),
    ];
    for (form, said, at) in cases {
        let res = b.post(&url).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains(said) && html.contains(&format!("href=\"#{at}\"")), "{said} at {at}: {html}");
        assert!(!html.contains("PRIVATE KEY"), "the key is never echoed");
        assert!(html.contains("BEGIN CERTIFICATE"), "the (public) chain is kept to fix");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_certificates").await, 0);

    let res = b.post(&url).multipart(pem_form(&csrf, &good.chain, &good.key, "")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (303, "/staff/admin/certificate?done=saved".to_string()));
    let info = get_json(&app.url("/api/v1/admin/signing-certificate"), &token).await["certificate"].clone();
    let html = page(&b, &app.url("/staff/admin/certificate?done=saved")).await;
    assert!(html.contains("証明書を登録しました"));
    for shown in [
        "南相馬市長 職責証明書（テスト）",
        "kencho test CA",
        "ECDSA-P256",
        "PAdES-B-B",
        info["sha256"].as_str().unwrap(),
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    assert!(!html.contains("PRIVATE KEY"));

    let res = b.post(app.url("/staff/admin/certificate/remove")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (303, "/staff/admin/certificate?done=removed".to_string()));
    let got = get_json(&app.url("/api/v1/admin/signing-certificate"), &token).await;
    assert!(got["certificate"].is_null(), "{got}");
    let html = page(&b, &app.url("/staff/admin/certificate?done=removed")).await;
    assert!(html.contains("証明書を削除しました") && html.contains("証明書は登録されていません"));

    // A PKCS#12 file with the wrong password: said in the reader's language, nothing stored.
    let p12 = pkcs12_of(&good, "correct horse");
    page(&b, &app.url("/staff/admin/certificate?lang=en")).await;
    let res = b.post(&url).multipart(p12_form(&csrf, p12.clone(), "battery staple")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("The password of the PKCS#12 file is not correct."), "{html}");
    assert!(html.contains("href=\"#cert-password\""));
    assert!(!html.contains("battery staple"), "the password is never echoed");
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_certificates WHERE removed_at IS NULL").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'signing_certificate.configure'").await, 1);
    // With its password it is read and configured.
    let res = b.post(&url).multipart(p12_form(&csrf, p12, "correct horse")).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    let html = page(&b, &url).await;
    assert!(html.contains("南相馬市長 職責証明書（テスト）"), "{html}");
}

#[tokio::test]
async fn other_staff_get_403_on_every_administrator_page_and_post() {
    let app = spawn_app().await;
    let b = app.staff_browser(KACHO).await;
    let inbox = page(&b, &app.url("/staff")).await;
    let csrf = csrf_of(&inbox);
    for path in ["/staff/admin/fees", "/staff/admin/certificate"] {
        assert_eq!(b.get(app.url(path)).send().await.unwrap().status(), 403, "GET {path}");
    }
    let form = [("csrf", csrf.as_str()), ("document", SCHEDULE), ("provider", "stripe")];
    for path in ["/staff/admin/fees/schedule", "/staff/admin/fees/agents", "/staff/admin/certificate/remove"] {
        assert_eq!(b.post(app.url(path)).form(&form).send().await.unwrap().status(), 403, "POST {path}");
    }
    let good = pki(false, |_| {});
    let res =
        b.post(app.url("/staff/admin/certificate")).multipart(pem_form(&csrf, &good.chain, &good.key, "")).send().await;
    assert_eq!(res.unwrap().status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM fee_schedules").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_certificates").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_agents WHERE provider = 'stripe'").await, 0);
}
