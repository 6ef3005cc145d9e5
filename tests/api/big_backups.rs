//! Backups at scale: restores and exports stream with bounded memory, a restore that fails
//! part-way leaves nothing behind, and the CLI shows progress.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use crate::backends::{run, Backend};
use crate::backup::{export, import, settings};
use crate::harness::*;
use hellojohn::config::IsolationMode;

/// `backup` with `extra` more users, copies of its first user under new ids and emails, and
/// the header's and trailer's counts raised to match.
fn grow_backup(backup: &str, extra: usize) -> String {
    let lines: Vec<Value> = backup.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let template = lines
        .iter()
        .find(|l| l["type"] == "user")
        .expect("a user to copy")
        .clone();
    let mut out = String::with_capacity(backup.len() + extra * 700);
    for line in &lines {
        let mut line = line.clone();
        match line["type"].as_str().unwrap() {
            "end" => continue,
            "header" => line["data"]["records"] = json!(line["data"]["records"].as_u64().unwrap() as usize + extra),
            _ => {}
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    for i in 0..extra {
        let mut user = template.clone();
        user["data"]["id"] = json!(format!("usr_{}", ulid::Ulid::new()));
        user["data"]["email"] = json!(format!("bulk{i}@example.com"));
        out.push_str(&user.to_string());
        out.push('\n');
    }
    let records = lines.last().unwrap()["data"]["records"].as_u64().unwrap() as usize + extra;
    out.push_str(&json!({"type": "end", "data": {"records": records}}).to_string());
    out.push('\n');
    out
}

/// A tenant with one user, backed up and grown to `users` users.
async fn big_backup(source: &Server, users: usize) -> (TestTenant, String) {
    let t = source.new_tenant().await;
    source.sign_up(&t, "first@example.com", "long enough password").await;
    let backup = export(source, &t.id).await;
    (t, grow_backup(&backup, users - 1))
}

fn replace_line(backup: &str, index: usize, with: &str) -> String {
    let mut lines: Vec<&str> = backup.lines().collect();
    lines[index] = with;
    lines.iter().map(|l| format!("{l}\n")).collect()
}

matrix! {
    async fn a_restore_that_fails_part_way_leaves_nothing() {
        let source = start_server(&settings());
        let target = start_server(&settings());
        // 2,500 users: the restore has written two batches when it meets the bad line.
        let (t, backup) = big_backup(&source, 2500).await;
        let count = backup.lines().count();
        let tenant_path = format!("/cp/v1/tenants/{}", t.id);

        let broken = replace_line(&backup, count - 3, r#"{"type": "user", "data": {"broken": true}}"#);
        let refused = import(&target, &t.id, broken, "").await;
        refused.assert_error(400, "invalid_request");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains(&format!("line {}", count - 2)), "{}", refused.body);
        target.admin(Method::GET, &tenant_path, None).await.assert_error(404, "not_found");

        let miscounted = replace_line(&backup, count - 1, r#"{"type": "end", "data": {"records": 7}}"#);
        import(&target, &t.id, miscounted, "").await.assert_error(400, "invalid_request");
        let truncated = replace_line(&backup, count - 1, "");
        import(&target, &t.id, truncated, "").await.assert_error(400, "invalid_request");
        target.admin(Method::GET, &tenant_path, None).await.assert_error(404, "not_found");

        // A client that goes away mid-upload: the restore removes what it wrote.
        let half: String = backup.lines().take(count / 2 + 200).map(|l| format!("{l}\n")).collect();
        let parts: Vec<Result<String, std::io::Error>> = vec![Ok(half), Err(std::io::Error::other("gone"))];
        let cut = client()
            .post(target.url(&format!("/cp/v1/tenants/{}/import", t.id)))
            .bearer_auth(&target.admin_token)
            .header("content-type", "application/x-ndjson")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(parts)))
            .send()
            .await;
        assert!(cut.is_err(), "the upload was cut: {cut:?}");

        // Nothing was left behind: the whole backup restores, every user exactly once (while
        // the cut restore is still cleaning up, a second one is refused with 409).
        let mut restored = import(&target, &t.id, backup.clone(), "").await;
        for _ in 0..100 {
            if restored.status != 409 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            restored = import(&target, &t.id, backup.clone(), "").await;
        }
        assert_eq!(restored.status, 200, "{}", restored.body);
        assert_eq!(restored.body["users"], 2500);
        assert_eq!(target.sign_in(&t, "bulk1234@example.com", "long enough password").await.status, 200);
        let again = export(&target, &t.id).await;
        assert_eq!(again.lines().filter(|l| l.contains(r#""type":"user""#)).count(), 2500);
    }
}

/// Resident and peak resident memory of a process, in KiB (Linux `/proc`).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How many users the memory test moves (`HELLOJOHN_TEST_BACKUP_USERS`, default 100,000,
/// which the buffering restore held 684 MB for).
fn backup_users() -> usize {
    std::env::var("HELLOJOHN_TEST_BACKUP_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Restores and exports a large tenant through the real binary and bounds its peak memory
/// above the idle process at 100 MiB.
async fn memory_stays_bounded() {
    let users = backup_users();
    let dir = data_dir();
    let port = free_port();
    let mut env: HashMap<String, String> = test_env(&dir, port);
    env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    let process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let (t, backup) = big_backup(&server, users).await;
    server
        .admin(Method::DELETE, &format!("/cp/v1/tenants/{}", t.id), None)
        .await;
    let pid = process.child.id();
    let (idle, _) = memory_kib(pid);

    let started = Instant::now();
    let restored = import(&server, &t.id, backup, "").await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["users"], users);
    let import_secs = started.elapsed().as_secs_f64();
    let (_, import_peak) = memory_kib(pid);

    let started = Instant::now();
    let res = client()
        .get(server.url(&format!("/cp/v1/tenants/{}/export", t.id)))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (mut bytes, mut newlines, mut tail) = (0usize, 0usize, Vec::new());
    let mut body = res.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
        tail = chunk.to_vec();
    }
    let export_secs = started.elapsed().as_secs_f64();
    let (_, export_peak) = memory_kib(pid);
    assert!(
        String::from_utf8_lossy(&tail).contains(r#""type":"end""#),
        "the export ends with its trailer"
    );
    assert!(newlines > users, "{newlines} lines for {users} users");

    let mib = |kib: u64| kib as f64 / 1024.0;
    eprintln!(
        "backup of {users} users ({:.0} MiB): idle {:.0} MiB RSS; import {import_secs:.1} s, peak {:.0} MiB (+{:.0}); export {export_secs:.1} s, peak {:.0} MiB (+{:.0})",
        mib(bytes as u64 / 1024),
        mib(idle),
        mib(import_peak),
        mib(import_peak.saturating_sub(idle)),
        mib(export_peak),
        mib(export_peak.saturating_sub(idle)),
    );
    let bound = 100 * 1024;
    assert!(
        import_peak.saturating_sub(idle) < bound,
        "import peak {import_peak} KiB, idle {idle} KiB"
    );
    assert!(
        export_peak.saturating_sub(idle) < bound,
        "export peak {export_peak} KiB, idle {idle} KiB"
    );
}

#[tokio::test]
async fn a_large_backup_streams_in_bounded_memory_on_postgres() {
    run(Backend::Postgres(IsolationMode::SeparateSchema), memory_stays_bounded()).await
}

#[tokio::test]
async fn a_large_backup_streams_in_bounded_memory_on_mysql() {
    run(Backend::MySql(IsolationMode::SharedSchema), memory_stays_bounded()).await
}

/// Progress lines of a CLI transfer: `<verb> N of M records (P%)`, at most one a second.
fn assert_progress(stderr: &str, verb: &str, secs: f64) {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" records")).collect();
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], verb, "{line}");
        assert!(
            words[1].parse::<usize>().is_ok() && words[3].parse::<usize>().is_ok(),
            "{line}"
        );
        assert!(words[5].starts_with('(') && words[5].ends_with("%)"), "{line}");
    }
    eprintln!("{verb}: {} progress lines in {secs:.1} s", lines.len());
    assert!(
        lines.len() as f64 <= secs + 1.0,
        "{} lines in {secs:.1} s:\n{stderr}",
        lines.len()
    );
    if secs > 2.5 {
        assert!(!lines.is_empty(), "no progress in {secs:.1} s:\n{stderr}");
    }
}

#[tokio::test]
async fn the_cli_shows_progress_of_long_transfers() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    let (t, backup) = {
        let process = spawn_binary(&env, &dir, port).await;
        let server = attach(&process.base).await;
        big_backup(&server, 150_000).await
    };
    let file = dir.join("big.jsonl");
    std::fs::write(&file, backup).unwrap();
    // Into a fresh instance (same key): the source tenant has its first user.
    let target = data_dir();
    env.insert("HELLOJOHN_DATABASE_URL".into(), format!("file://{}", target.display()));
    let bin = env!("CARGO_BIN_EXE_hellojohn");
    let run_cli = |args: &[&str]| {
        let started = Instant::now();
        let out = std::process::Command::new(bin)
            .env_clear()
            .envs(&env)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (stderr, started.elapsed().as_secs_f64())
    };
    let (stderr, secs) = run_cli(&["tenant", "import", "--input", file.to_str().unwrap()]);
    assert_progress(&stderr, "imported", secs);
    let copy = dir.join("copy.jsonl");
    let (stderr, secs) = run_cli(&["tenant", "export", "--id", &t.id, "--output", copy.to_str().unwrap()]);
    assert_progress(&stderr, "exported", secs);
    let copied = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(
        copied.lines().filter(|l| l.contains(r#""type":"user""#)).count(),
        150_000
    );
}
