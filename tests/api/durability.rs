//! Durability of the file store: acknowledged writes survive `kill -9`, and a
//! torn journal tail is recovered on restart.

use std::io::Write;

use reqwest::Method;

use crate::harness::*;

matrix! {
    async fn acknowledged_writes_survive_kill_9() {
        let dir = data_dir();
        let port = free_port();
        let env = test_env(&dir, port);
        let process = spawn_binary(&env, &dir, port).await;
        let server = attach(&process.base).await;
        let t = server.new_tenant().await;
        let mut users = Vec::new();
        for i in 0..20 {
            let body = server
                .sign_up(&t, &format!("durable{i}@example.com"), "long enough password")
                .await;
            users.push(body);
        }
        let refresh = users[0]["session"]["refresh_token"].as_str().unwrap().to_owned();
        let rotated = server.refresh(&t, &refresh).await;
        assert_eq!(rotated.status, 200);
        let successor = rotated.body["session"]["refresh_token"].as_str().unwrap().to_owned();
        let old_access = users[1]["session"]["access_token"].as_str().unwrap().to_owned();
        drop(process); // SIGKILL: no shutdown path runs

        let process = spawn_binary(&env, &dir, port).await;
        let server = attach(&process.base).await;
        for i in 0..20 {
            let reply = server
                .sign_in(&t, &format!("durable{i}@example.com"), "long enough password")
                .await;
            assert_eq!(reply.status, 200, "user {i} lost: {}", reply.body);
        }
        // The rotation was durable: its successor is the current token after the crash.
        let again = server.refresh(&t, &successor).await;
        assert_eq!(again.status, 200, "{}", again.body);
        // Keys survived: a token issued before the crash still verifies.
        assert_eq!(
            server
                .call(Method::GET, "/v1/auth/me", Some(&old_access), None)
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn a_torn_journal_tail_is_dropped_and_earlier_writes_kept() {
    let dir = data_dir();
    let port = free_port();
    let env = test_env(&dir, port);
    let process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let t = server.new_tenant().await;
    server
        .sign_up(&t, "before-tear@example.com", "long enough password")
        .await;
    drop(process);

    // Simulate a crash in the middle of an append: a frame header promising more bytes than follow.
    let journal = dir.join("tenants").join(&t.id).join("journal");
    let mut file = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
    file.write_all(&[0xE8, 0x03, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, b'{', b'"'])
        .unwrap();
    drop(file);

    let process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let reply = server
        .sign_in(&t, "before-tear@example.com", "long enough password")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    server
        .sign_up(&t, "after-tear@example.com", "long enough password")
        .await;
    drop(process);
    let process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let reply = server
        .sign_in(&t, "after-tear@example.com", "long enough password")
        .await;
    assert_eq!(reply.status, 200, "writes after recovery are durable too");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_data_directory() {
    let dir = data_dir();
    let port = free_port();
    let env = test_env(&dir, port);
    let _first = spawn_binary(&env, &dir, port).await;
    let mut second_env = env.clone();
    second_env.insert("HELLOJOHN_PORT".into(), free_port().to_string());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .env_clear()
        .envs(&second_env)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "two writers on one directory would corrupt it"
    );
}
