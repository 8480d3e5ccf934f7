//! A 100 kB argument makes a short error: messages quote at most 64 characters of a value and
//! its length, and still name the field at fault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Sandbox;

const OKMS_ID: &str = "3f6c2b9e-55a1-4c1e-9f0e-2a7d1c9b8e41";

#[test]
fn hundred_kilobyte_arguments_make_short_errors_naming_the_field() {
    let s = Sandbox::new();
    let long = "a".repeat(100_000);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["credential", "list", "--okms-id", &long], "--okms-id"),
        (
            vec!["credential", "delete", &long, "--okms-id", OKMS_ID, "--yes"],
            "credential",
        ),
        (
            vec![
                "csr",
                "new",
                "--cn",
                &long,
                "--key-out",
                "k.pem",
                "--out",
                "c.pem",
            ],
            "--cn",
        ),
        (
            vec![
                "csr",
                "new",
                "--subject",
                &long,
                "--key-out",
                "k.pem",
                "--out",
                "c.pem",
            ],
            "--subject",
        ),
        (
            vec![
                "iam",
                "grant",
                "--preset",
                &long,
                "--user",
                "bob",
                "--okms-id",
                OKMS_ID,
            ],
            "preset",
        ),
        (vec!["key", "show", &long], "private key"),
        (
            vec!["credential", "check", "--cert", &long, "--key", &long],
            "certificate",
        ),
    ];
    for (args, field) in cases {
        let out = s.cmd().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown: Vec<&str> = args.iter().map(|a| &a[..a.len().min(20)]).collect();
        assert!(!out.status.success(), "{shown:?} succeeded");
        assert!(
            stderr.len() < 2000,
            "{shown:?}: {} bytes of stderr: {:.300}",
            stderr.len(),
            stderr
        );
        assert!(stderr.contains(field), "{shown:?}: {stderr}");
        assert!(
            stderr.contains("(100000 characters)"),
            "{shown:?}: {stderr}"
        );
    }
}
