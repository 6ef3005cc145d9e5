//! Tests of the file engine: recovery, checks, races, compaction, locking, load time.
use super::*;
use serde_json::json;
use std::sync::Arc;

fn open(dir: &Path) -> FsEngine {
    FsEngine::open(dir, EngineOptions::default()).unwrap()
}
fn snapshot_of(e: &FsEngine) -> Tables {
    e.read(Tables::clone)
}
fn journal_len(dir: &Path) -> u64 {
    fs::metadata(dir.join("journal")).unwrap().len()
}

#[test]
fn round_trip_survives_reopen() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FsEngine>();
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    e.commit(
        Batch::new()
            .put("users", "a", json!({"n": 1}))
            .put("users", "b", json!(2)),
    )
    .unwrap();
    e.commit(Batch::new().delete("users", "b").put("tenants", "t", json!("x")))
        .unwrap();
    assert_eq!(e.get("users", "a"), Some(json!({"n": 1})));
    drop(e);
    let e = open(d.path());
    assert_eq!(e.get("users", "a"), Some(json!({"n": 1})));
    assert_eq!(e.get("users", "b"), None);
    assert_eq!(e.read(|t| (t.len("users"), t.len("tenants"), t.len("nope"))), (1, 1, 0));
    assert_eq!(e.recovered_bytes(), 0);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    for i in 0..5 {
        e.commit(Batch::new().put("t", format!("k{i}"), json!(i))).unwrap();
    }
    drop(e);
    let good = journal_len(d.path());
    let mut f = OpenOptions::new().append(true).open(d.path().join("journal")).unwrap();
    f.write_all(&1000u32.to_le_bytes()).unwrap();
    f.write_all(&[0u8; 4]).unwrap();
    f.write_all(&[7u8; 10]).unwrap();
    drop(f);
    let e = open(d.path());
    assert_eq!(e.recovered_bytes(), 18);
    assert_eq!(journal_len(d.path()), good);
    assert_eq!(e.read(|t| t.len("t")), 5);
    e.commit(Batch::new().put("t", "after", json!(true))).unwrap();
    drop(e);
    let e = open(d.path());
    assert_eq!(e.recovered_bytes(), 0);
    assert_eq!(e.get("t", "after"), Some(json!(true)));
    assert_eq!(e.read(|t| t.len("t")), 6);
}

#[test]
fn crc_mismatch_drops_last_record() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    e.commit(Batch::new().put("t", "a", json!(1))).unwrap();
    e.commit(Batch::new().put("t", "b", json!(2))).unwrap();
    let before_last = journal_len(d.path());
    e.commit(Batch::new().put("t", "c", json!(3))).unwrap();
    drop(e);
    let mut bytes = fs::read(d.path().join("journal")).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x01;
    fs::write(d.path().join("journal"), &bytes).unwrap();
    let e = open(d.path());
    assert_eq!(e.recovered_bytes(), n as u64 - before_last);
    assert_eq!(
        (e.get("t", "a"), e.get("t", "b"), e.get("t", "c")),
        (Some(json!(1)), Some(json!(2)), None)
    );
}

#[test]
fn checks_pass_and_fail_atomically() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    let row = json!({"email": "a@x", "v": 1});
    e.commit(Batch::new().put("u", "1", row.clone())).unwrap();
    let (t, k) = (|| "u".to_string(), |k: &str| k.to_string());
    let pass = [
        Check::Exists {
            table: t(),
            key: k("1"),
        },
        Check::Absent {
            table: t(),
            key: k("2"),
        },
        Check::Equals {
            table: t(),
            key: k("1"),
            value: row.clone(),
        },
        Check::FieldEquals {
            table: t(),
            key: k("1"),
            field: "v".into(),
            value: json!(1),
        },
    ];
    let fail = [
        Check::Exists {
            table: t(),
            key: k("2"),
        },
        Check::Absent {
            table: t(),
            key: k("1"),
        },
        Check::Equals {
            table: t(),
            key: k("1"),
            value: json!({"email": "a@x"}),
        },
        Check::FieldEquals {
            table: t(),
            key: k("1"),
            field: "v".into(),
            value: json!(2),
        },
        Check::FieldEquals {
            table: t(),
            key: k("1"),
            field: "missing".into(),
            value: Value::Null,
        },
        Check::FieldEquals {
            table: t(),
            key: k("2"),
            field: "v".into(),
            value: json!(1),
        },
    ];
    for c in &pass {
        e.commit(Batch::new().check(c.clone())).unwrap();
    }
    let len = journal_len(d.path());
    for c in &fail {
        let b = Batch::new()
            .check(pass[0].clone())
            .check(c.clone())
            .put("u", "bad", json!(0));
        assert!(
            matches!(e.commit(b), Err(EngineError::CheckFailed { index: 1 })),
            "{c:?}"
        );
    }
    assert_eq!(journal_len(d.path()), len);
    assert_eq!(e.get("u", "bad"), None);
    let mut ok = Batch::new().put("u", "good", json!(1));
    ok.checks = pass.to_vec();
    e.commit(ok).unwrap();
    drop(e);
    let e = open(d.path());
    assert_eq!((e.get("u", "bad"), e.get("u", "good")), (None, Some(json!(1))));
}

#[test]
fn compare_and_set_race() {
    let d = tempfile::tempdir().unwrap();
    let e = Arc::new(open(d.path()));
    e.commit(Batch::new().put("c", "n", json!({"v": 0}))).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                let mut wins = 0u64;
                while wins < 200 {
                    let cur = e.get("c", "n").unwrap()["v"].as_u64().unwrap();
                    let check = Check::FieldEquals {
                        table: "c".into(),
                        key: "n".into(),
                        field: "v".into(),
                        value: json!(cur),
                    };
                    match e.commit(Batch::new().check(check).put("c", "n", json!({"v": cur + 1}))) {
                        Ok(()) => wins += 1,
                        Err(EngineError::CheckFailed { index: 0 }) => {}
                        Err(err) => panic!("{err}"),
                    }
                }
                wins
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 1600);
    assert_eq!(e.get("c", "n"), Some(json!({"v": 1600})));
    drop(e);
    assert_eq!(open(d.path()).get("c", "n"), Some(json!({"v": 1600})));
}

#[test]
fn compaction_preserves_state_and_crash_replay_is_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let opts = || EngineOptions {
        compact_min_bytes: 2048,
        ..EngineOptions::default()
    };
    let e = FsEngine::open(d.path(), opts()).unwrap();
    for i in 0..400u32 {
        let mut b = Batch::new().put("a", format!("k{}", i % 37), json!({"i": i, "pad": "x".repeat(40)}));
        if i % 5 == 0 {
            b = b
                .delete("a", format!("k{}", (i + 3) % 37))
                .put("b", i.to_string(), json!(i));
        }
        e.commit(b).unwrap();
    }
    let snap = fs::metadata(d.path().join("snapshot")).unwrap().len();
    assert!(snap > 0 && journal_len(d.path()) <= 2048.max(snap) + 200);
    let expected = snapshot_of(&e);
    // Simulate a crash after the snapshot rename but before the journal truncation.
    let journal = fs::read(d.path().join("journal")).unwrap();
    e.compact().unwrap();
    assert_eq!(journal_len(d.path()), 0);
    drop(e);
    fs::write(d.path().join("journal"), &journal).unwrap();
    let e = FsEngine::open(d.path(), opts()).unwrap();
    assert_eq!(snapshot_of(&e), expected);
    drop(e);
    assert_eq!(snapshot_of(&open(d.path())), expected);
    assert!(!d.path().join("snapshot.tmp").exists());
}

#[test]
fn corrupt_snapshot_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    e.commit(Batch::new().put("t", "k", json!("v"))).unwrap();
    e.compact().unwrap();
    drop(e);
    let mut bytes = fs::read(d.path().join("snapshot")).unwrap();
    bytes.truncate(bytes.len() - 1);
    fs::write(d.path().join("snapshot"), &bytes).unwrap();
    assert!(matches!(
        FsEngine::open(d.path(), EngineOptions::default()),
        Err(EngineError::Corrupt(_))
    ));
}

#[test]
fn second_open_is_locked() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    assert!(matches!(
        FsEngine::open(d.path(), EngineOptions::default()),
        Err(EngineError::Locked)
    ));
    drop(e);
    assert_eq!(open(d.path()).dir(), d.path());
}

#[test]
fn load_100k_rows() {
    let d = tempfile::tempdir().unwrap();
    let e = open(d.path());
    for b in 0..100 {
        let mut batch = Batch::new();
        for i in b * 1000..(b + 1) * 1000 {
            let row = json!({
                "id": format!("usr_{i:08}"), "tenant_id": "tnt_0001", "email": format!("user{i}@example.com"),
                "name": format!("User Number {i}"), "email_verified": i % 2 == 0, "disabled": false,
                "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
                "roles": ["user"], "created_at": "2024-05-01T12:00:00Z", "metadata": {"plan": "free"},
            });
            batch = batch.put("users", format!("usr_{i:08}"), row);
        }
        e.commit(batch).unwrap();
    }
    let expected = snapshot_of(&e);
    drop(e);
    let start = std::time::Instant::now();
    let e = open(d.path());
    let elapsed = start.elapsed();
    let (snap, journal) = (
        fs::metadata(d.path().join("snapshot")).map_or(0, |m| m.len()),
        journal_len(d.path()),
    );
    eprintln!("open of 100k rows took {elapsed:?} (snapshot {snap} B, journal {journal} B)");
    assert_eq!(e.read(|t| t.len("users")), 100_000);
    assert!(snapshot_of(&e) == expected);
}

#[test]
fn merge_sets_fields_of_existing_rows_only_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = FsEngine::open(dir.path(), EngineOptions::default()).unwrap();
        engine
            .commit(Batch::new().put("t", "a", json!({"x": 1, "y": 2})))
            .unwrap();
        let mut fields = serde_json::Map::new();
        fields.insert("y".into(), json!(3));
        engine
            .commit(
                Batch::new()
                    .merge("t", "a", fields.clone())
                    .merge("t", "missing", fields),
            )
            .unwrap();
        assert_eq!(engine.get("t", "a"), Some(json!({"x": 1, "y": 3})));
        assert_eq!(engine.get("t", "missing"), None);
    }
    let engine = FsEngine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(engine.get("t", "a"), Some(json!({"x": 1, "y": 3})));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("journal"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "data files are private");
    }
}
