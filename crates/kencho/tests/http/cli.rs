//! The command line: import procedures (all or nothing), verify the audit log, and load public
//! data as the README shows.

use std::process::Command;

fn kencho(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kencho")).args(args).arg("--data-dir").arg(dir).output().expect("run kencho")
}

#[test]
fn import_and_audit_verify_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("kencho-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/procedures");
    // Tenants come from the demo loader; `migrate` alone creates an empty schema.
    let out = kencho(&["migrate"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let good = format!("{root}/minamisoma-inu-toroku.toml");
    let out = kencho(&["procedures", "import", &good], &dir);
    assert!(!out.status.success(), "unknown tenant is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown tenant"));

    // A bad file among good ones: nothing is imported, and the error names file and field.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, std::fs::read_to_string(&good).unwrap().replace("standard_days = 7", "standard_days = 0"))
        .unwrap();
    let out = kencho(&["procedures", "import", &good, bad.to_str().unwrap()], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml: standard_days: must be between 1 and 365"), "{err}");

    // With the tenant in place, the good file imports; an identical second import is a no-op.
    let out = kencho(
        &[
            "tenants",
            "add",
            "--code",
            "minamisoma",
            "--name",
            "南相馬市",
            "--name-en",
            "Minamisoma",
            "--receipt-prefix",
            "MINA",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kencho(&["procedures", "import", &good], &dir);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported as version 1"));
    let out = kencho(&["procedures", "import", &good], &dir);
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged (version 1)"));
    let out = Command::new(env!("CARGO_BIN_EXE_kencho"))
        .args(["staff", "add", "--tenant", "minamisoma", "--division-code", "joho", "--division-name", "情報政策課"])
        .args(["--email", "new-admin@minamisoma.example.jp", "--name", "新任 管理者", "--role", "admin", "--data-dir"])
        .arg(&dir)
        .env("KENCHO_STAFF_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Checkpoints are signed with the tenant's key, which is sealed: the command needs the key file.
    let out = kencho(&["audit", "checkpoint"], &dir);
    assert!(!out.status.success());
    let key = dir.join("secret.key");
    let out = Command::new(env!("CARGO_BIN_EXE_kencho")).args(["keys", "generate"]).arg(&key).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kencho(&["audit", "checkpoint", "--secret-key-file", key.to_str().unwrap()], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checkpoint at entry"));
    assert!(dir.join("audit-checkpoints").read_dir().unwrap().count() >= 1);
    let out = kencho(&["audit", "verify"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Tamper with the database behind kencho's back: verify names the entry and fails.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = kencho::db::Db::connect(&format!("sqlite://{}/kencho.db?mode=rwc", dir.display())).await.unwrap();
        let refused = sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
            .execute(db.unchecked_write_pool())
            .await;
        assert!(refused.is_err(), "the database refuses to change the log");
        sqlx::query("DROP TRIGGER audit_log_no_update").execute(db.unchecked_write_pool()).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
            .execute(db.unchecked_write_pool())
            .await
            .unwrap();
        db.close().await;
    });
    let out = kencho(&["audit", "verify"], &dir);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TAMPERED: entry 1: its content was altered"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's `kencho evacuation load` examples, run exactly as written (taken from the README
/// itself), in the folder holding files named as their publishers name them: the Address Base
/// Registry's two zips for towns, an A31a 想定最大規模 file for flood.
#[test]
fn the_readme_load_commands_work_as_written() {
    let dir = std::env::temp_dir().join(format!("kencho-cli-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let commands: Vec<Vec<String>> = readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kencho evacuation load --tenant minamisoma"))
        .map(|l| l.split(" #").next().unwrap_or(l).split_whitespace().skip(1).map(str::to_string).collect())
        .collect();
    let kinds: Vec<&str> = commands.iter().filter_map(|c| c.get(5).map(String::as_str)).collect();
    assert!(kinds.contains(&"towns") && kinds.contains(&"flood"), "the README shows both: {commands:?}");
    let run = |args: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_kencho"))
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
            .env("KENCHO_DATA_DIR", &dir)
            .output()
            .expect("run kencho")
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(run(&strings(&["migrate"])).status.success());
    let add = ["tenants", "add", "--code", "minamisoma", "--name", "南相馬市", "--name-en", "Minamisoma"];
    let out = run(&strings(&[&add[..], &["--receipt-prefix", "MINA", "--lg-code", "072125"]].concat()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for c in &commands {
        let out = run(c);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(said.contains("loaded as version 1"), "{c:?}: {said}");
        if c.get(5).map(String::as_str) == Some("towns") {
            assert!(said.contains("(10 items)"), "{said}");
        } else {
            assert!(said.contains("flood (maximum)"), "{said}");
        }
    }
    // Half the pair fails, says which half is missing, and loads nothing.
    let out = run(&strings(&[
        "evacuation",
        "load",
        "--tenant",
        "minamisoma",
        "--kind",
        "towns",
        "mt_town_city072125.csv.zip",
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mt_town_pos"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&strings(&[
        "evacuation",
        "load",
        "--tenant",
        "minamisoma",
        "--kind",
        "towns",
        "mt_town_city072125.csv.zip",
        "mt_town_pos_city072125.csv.zip",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loaded as version 2"), "the failed load took no version");
    let _ = std::fs::remove_dir_all(&dir);
}
