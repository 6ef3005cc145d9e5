//! Micro-benchmarks of the cryptography on hellojohn's hot paths, so a change in
//! throughput can be traced to its cause: access-token signing and verification
//! for each tenant signing algorithm, refresh-token minting, and password
//! hashing, both through the server's [`PasswordHasher`] worker pool and as a
//! raw single-thread argon2id hash (the "single-core argon2 ceiling" that bounds
//! sign-up and sign-in per core).
//!
//! Run with `cargo bench --bench crypto`; see `benches/README.md`.

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hellojohn::auth::encryption::EncryptionKey;
use hellojohn::auth::password::PasswordHasher;
use hellojohn::auth::signing::{alg_name, generate_key, KeyRing};
use hellojohn::auth::{secrets, tokens};
use hellojohn::config::Argon2Params;
use hellojohn::ids::{new_id, prefix};
use hellojohn::store::SigningAlg;
use serde_json::json;
use time::OffsetDateTime;

/// The contract's default argon2id cost (API.md §11): m=19456 KiB, t=2, p=1.
const DEFAULT_ARGON2: Argon2Params = Argon2Params {
    memory_kib: 19_456,
    iterations: 2,
    parallelism: 1,
};

const PASSWORD: &str = "correct horse battery staple";

/// Claims shaped like the ones `tenant::ops::sessions` signs at sign-in.
fn claims(issuer: &str, tenant_id: &str, now: i64) -> tokens::AccessClaims {
    tokens::AccessClaims {
        iss: issuer.to_owned(),
        aud: tenant_id.to_owned(),
        sub: new_id(prefix::USER),
        sid: new_id(prefix::SESSION),
        tenant_id: tenant_id.to_owned(),
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: ulid::Ulid::new().to_string(),
        email: "ada@example.com".to_owned(),
        email_verified: true,
        role: "member".to_owned(),
        mfa_verified: false,
        amr: vec!["pwd".to_owned()],
        org_id: None,
        org_role: None,
        org_permissions: None,
        public_metadata: json!({"plan": "pro"}),
    }
}

fn access_tokens(c: &mut Criterion) {
    let master = EncryptionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").expect("master key");
    let mut group = c.benchmark_group("access_token");
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
        let name = alg_name(alg);
        let now = OffsetDateTime::now_utc();
        let tenant_id = new_id(prefix::TENANT);
        let issuer = format!("http://127.0.0.1:3000/t/{tenant_id}");
        let record = generate_key(alg, &tenant_id, &master, now).expect("generate key");
        let ring = KeyRing::load(std::slice::from_ref(&record), &master, now, 900).expect("load key ring");
        let claims = claims(&issuer, &tenant_id, now.unix_timestamp());

        group.bench_function(BenchmarkId::new("sign", name), |b| {
            b.iter(|| ring.sign(black_box(&claims)).expect("sign"))
        });

        let token = ring.sign(&claims).expect("sign");
        let at = now.unix_timestamp();
        tokens::verify(&ring, &token, &issuer, &tenant_id, at).expect("the token verifies");
        group.bench_function(BenchmarkId::new("verify", name), |b| {
            b.iter(|| tokens::verify(&ring, black_box(&token), &issuer, &tenant_id, at).expect("verify"))
        });
    }
    group.finish();
}

fn refresh_tokens(c: &mut Criterion) {
    c.bench_function("refresh_token/mint", |b| {
        b.iter(|| {
            let value = secrets::generate("rt_");
            let hash = secrets::hash(&value);
            black_box((value, hash))
        })
    });
}

fn passwords(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    // Through the server's worker pool: queueing, a worker thread's hash, the reply channel.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let hasher = PasswordHasher::new(DEFAULT_ARGON2, std::time::Duration::from_secs(2)).expect("password hasher");
    group.bench_function("hasher_hash/m19456_t2_p1", |b| {
        b.iter(|| runtime.block_on(hasher.hash(black_box(PASSWORD))).expect("hash"))
    });

    // One thread, one reused buffer, no pool: the single-core argon2 ceiling.
    let params = Params::new(
        DEFAULT_ARGON2.memory_kib,
        DEFAULT_ARGON2.iterations,
        DEFAULT_ARGON2.parallelism,
        Some(32),
    )
    .expect("argon2 params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut memory = vec![Block::default(); argon.params().block_count()];
    let salt = [7u8; 16];
    group.bench_function("raw_argon2id/m19456_t2_p1", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            argon
                .hash_password_into_with_memory(black_box(PASSWORD.as_bytes()), &salt, &mut out, &mut memory[..])
                .expect("argon2id");
            out
        })
    });
    group.finish();
}

criterion_group!(benches, access_tokens, refresh_tokens, passwords);
criterion_main!(benches);
