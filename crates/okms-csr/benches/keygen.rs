//! Key generation per algorithm (OS CSPRNG).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use okms_csr::{KeyAlgorithm, PrivateKey};
use std::time::Duration;

fn keygen(c: &mut Criterion) {
    let mut group = c.benchmark_group("keygen");
    for alg in KeyAlgorithm::ALL {
        if alg.is_rsa() {
            // RSA generation takes 0.1-1 s per key and varies a lot (prime search).
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(if alg == KeyAlgorithm::Rsa4096 {
                20
            } else {
                10
            }));
        } else {
            group.sample_size(100);
            group.measurement_time(Duration::from_secs(5));
        }
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| PrivateKey::generate(alg).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, keygen);
criterion_main!(benches);
