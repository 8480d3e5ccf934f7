//! Replays every committed fuzz input through the same target bodies as `fuzz/`, on the stable
//! toolchain: the seed corpora `fuzz/corpus/NAME/` and the crash regressions
//! `fuzz/regressions/NAME/`. A target without a corpus (directory missing or empty) fails.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use okms_e2e_tests::fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .join("fuzz")
}

/// The regular files of `dir`, sorted; empty when `dir` does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

fn replay(name: &str, target: fn(&[u8]), dir: &Path) -> usize {
    let inputs = files(dir);
    for path in &inputs {
        let data = std::fs::read(path).expect("readable corpus file");
        let outcome = std::panic::catch_unwind(|| target(&data));
        if outcome.is_err() {
            panic!(
                "fuzz target {name} fails on {} (reproduce: cargo +nightly fuzz run {name} {})",
                path.display(),
                path.display()
            );
        }
    }
    inputs.len()
}

#[test]
fn every_target_has_a_seed_corpus_and_passes_it() {
    let mut summary = Vec::new();
    for (name, target) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let n = replay(name, *target, &dir);
        assert!(
            n > 0,
            "fuzz/corpus/{name} is missing or empty: every fuzz target needs a seed corpus"
        );
        summary.push(format!("{name}: {n}"));
    }
    eprintln!("replayed seed corpora: {}", summary.join(", "));
}

#[test]
fn crash_regressions_stay_fixed() {
    let root = fuzz_dir().join("regressions");
    let mut total = 0;
    for (name, target) in TARGETS {
        total += replay(name, *target, &root.join(name));
    }
    // A regression directory for a target that does not exist would never be replayed.
    for dir in std::fs::read_dir(&root).into_iter().flatten() {
        let dir = dir.expect("readable entry").path();
        let name = dir
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        assert!(
            !dir.is_dir() || TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/regressions/{name} does not match any fuzz target"
        );
    }
    eprintln!("replayed {total} crash regressions");
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("okms_e2e_tests::fuzz_targets::{name}(data)")),
            "{} does not call the shared body",
            source.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}
