//! Building and signing a CSR per algorithm (key generated once, outside the timing).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use okms_csr::{CsrBuilder, DistinguishedName, KeyAlgorithm, PrivateKey};
use std::hint::black_box;

fn csr_sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("csr_sign");
    let subject: DistinguishedName = "CN=app1,O=Example,C=FR".parse().unwrap();
    for alg in KeyAlgorithm::ALL {
        let key = PrivateKey::generate(alg).unwrap();
        let builder = CsrBuilder::new(subject.clone()).san("dns:app1.example.com".parse().unwrap());
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| black_box(builder.build(&key).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, csr_sign);
criterion_main!(benches);
