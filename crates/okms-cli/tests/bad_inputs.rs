//! A table of bad inputs. Each case must: exit with the documented non-zero code, name the
//! problem on stderr, write no file, leave existing files unchanged, print no key and not panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sandbox, is_root, stderr_of, stdout_of};

/// Files every case starts with.
fn prepare(s: &Sandbox) {
    s.key_and_csr("k.pem", "c.csr", "ecdsa-p256");
    s.write(
        "garbage.pem",
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    );
    s.write(
        "garbage.csr",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    );
    s.write("random.bin", [0x30u8, 0x82, 0xff, 0xff, 1, 2, 3]);
    s.write("pw", "Zq8-right-secret\n");
    s.write("wrong-pw", "Zq8-wrong-secret\n");
    s.write("empty-pw", "\n");
    s.write("existing.pem", "precious contents\n");
    s.write("afile", "a regular file, not a directory\n");
    std::fs::create_dir(s.path("outdir")).unwrap();
    // A CSR whose signature is broken: flip one byte near the end of the DER.
    let csr = s.read_string("c.csr");
    let der_b64: String = csr.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = base64_decode(&der_b64);
    let n = der.len();
    der[n - 3] ^= 0x01;
    let b64 = base64_encode(&der);
    let mut pem = String::from("-----BEGIN CERTIFICATE REQUEST-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE REQUEST-----\n");
    s.write("tampered.csr", pem);
    // The legacy OpenSSL encrypted PEM form.
    s.write(
        "legacy.pem",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,5A2C1B9E0F1D2C3B4A5968778695A4B3\n\n\
         MIIEogIBAAKCAQEAwq0P3b0GBZnCsDoSJUKbgCwvtfdX\n-----END RSA PRIVATE KEY-----\n",
    );
    // An Ed25519 key (PKCS#8), which OKMS does not take and okms-csr does not support.
    s.write(
        "ed25519.pem",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+ZQHz0b4H3d0fm4Vq2j3ecSdbpXv7C0vNVLCsS3zBF\n-----END PRIVATE KEY-----\n",
    );
}

const URN: &str = "urn:v1:eu:identity:user:xx1111-ovh/john.smith";

struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    /// Lower-case substrings that must all appear in stderr.
    needles: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

fn case(name: &'static str, args: &[&str], code: i32, needles: &'static [&'static str]) -> Case {
    Case {
        name,
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code,
        needles,
        env: &[],
    }
}

fn request(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["request", "new", "--csr", "c.csr", "--out", "req.json"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn cases() -> Vec<Case> {
    let name51 = "n".repeat(51);
    let desc201 = "d".repeat(201);
    let mut urns26 = Vec::new();
    for i in 0..26 {
        urns26.push("--identity".to_owned());
        urns26.push(format!("urn:v1:eu:identity:user:xx1111-ovh/user{i}"));
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut v = vec![
        case(
            "missing key file",
            &[
                "csr", "new", "--key", "nope.pem", "--cn", "x", "--out", "o.csr",
            ],
            3,
            &["nope.pem"],
        ),
        case(
            "garbage PEM key",
            &[
                "csr",
                "new",
                "--key",
                "garbage.pem",
                "--cn",
                "x",
                "--out",
                "o.csr",
            ],
            3,
            &["garbage.pem"],
        ),
        case(
            "random bytes as key",
            &["key", "show", "random.bin"],
            3,
            &["random.bin"],
        ),
        case(
            "wrong passphrase",
            &[
                "csr",
                "new",
                "--key",
                "enc.pem",
                "--passphrase-file",
                "wrong-pw",
                "--cn",
                "x",
                "--out",
                "o.csr",
            ],
            3,
            &["passphrase"],
        ),
        case(
            "legacy encrypted PEM",
            &["key", "show", "legacy.pem"],
            3,
            &["legacy"],
        ),
        case(
            "unsupported Ed25519 key",
            &[
                "csr",
                "new",
                "--key",
                "ed25519.pem",
                "--cn",
                "x",
                "--out",
                "o.csr",
            ],
            3,
            &["unsupported"],
        ),
        case(
            "bad DN",
            &[
                "csr",
                "new",
                "--key",
                "k.pem",
                "--subject",
                "CN=x,NOPE",
                "--out",
                "o.csr",
            ],
            3,
            &["subject"],
        ),
        case(
            "bad DN attribute",
            &[
                "csr",
                "new",
                "--key",
                "k.pem",
                "--subject",
                "XYZ=1",
                "--out",
                "o.csr",
            ],
            3,
            &["subject"],
        ),
        case(
            "bad SAN type",
            &[
                "csr", "new", "--key", "k.pem", "--cn", "x", "--san", "ftp:host", "--out", "o.csr",
            ],
            3,
            &["san", "ftp:host"],
        ),
        case(
            "bad SAN ip",
            &[
                "csr",
                "new",
                "--key",
                "k.pem",
                "--cn",
                "x",
                "--san",
                "ip:999.1.2.3",
                "--out",
                "o.csr",
            ],
            3,
            &["san"],
        ),
        case(
            "bad SAN with new key leaves no key",
            &[
                "csr",
                "new",
                "--key-out",
                "new.pem",
                "--cn",
                "x",
                "--san",
                "dns:",
                "--out",
                "o.csr",
            ],
            3,
            &["san"],
        ),
        case(
            "unknown algorithm",
            &["key", "new", "--algorithm", "ed25519", "--out", "o.pem"],
            2,
            &["ed25519"],
        ),
        case(
            "garbage CSR",
            &["csr", "show", "garbage.csr"],
            3,
            &["garbage.csr"],
        ),
        case(
            "tampered CSR",
            &["csr", "verify", "tampered.csr"],
            4,
            &["signature"],
        ),
        case(
            "missing CSR",
            &["csr", "verify", "nope.csr"],
            3,
            &["nope.csr"],
        ),
        Case {
            name: "name of 51 chars",
            args: request(&["--name", leak(name51), "--identity", URN]),
            code: 3,
            needles: &["name", "51"],
            env: &[],
        },
        Case {
            name: "empty name",
            args: request(&["--name", "", "--identity", URN]),
            code: 3,
            needles: &["name"],
            env: &[],
        },
        Case {
            name: "non-ASCII name",
            args: request(&["--name", "caf\u{e9}", "--identity", URN]),
            code: 3,
            needles: &["name", "ascii"],
            env: &[],
        },
        Case {
            name: "validity 0",
            args: request(&["--name", "n", "--identity", URN, "--validity", "0"]),
            code: 3,
            needles: &["validity"],
            env: &[],
        },
        Case {
            name: "validity 366",
            args: request(&["--name", "n", "--identity", URN, "--validity", "366"]),
            code: 3,
            needles: &["validity", "366"],
            env: &[],
        },
        Case {
            name: "validity negative",
            args: request(&["--name", "n", "--identity", URN, "--validity", "-1"]),
            code: 2,
            needles: &["-1"],
            env: &[],
        },
        Case {
            name: "26 URNs",
            args: {
                let mut a = request(&["--name", "n"]);
                a.extend(urns26);
                a
            },
            code: 3,
            needles: &["identityurns", "26"],
            env: &[],
        },
        Case {
            name: "malformed URN",
            args: request(&[
                "--name",
                "n",
                "--identity",
                "urn:v1:eu:identity:user:johnsmith",
            ]),
            code: 3,
            needles: &["identityurns", "johnsmith"],
            env: &[],
        },
        Case {
            name: "URN with bad region",
            args: request(&[
                "--name",
                "n",
                "--identity",
                "urn:v1:fr:identity:account:xx1111-ovh",
            ]),
            code: 3,
            needles: &["identityurns", "region"],
            env: &[],
        },
        Case {
            name: "non-ASCII description",
            args: request(&[
                "--name",
                "n",
                "--identity",
                URN,
                "--description",
                "d\u{e9}j\u{e0} vu",
            ]),
            code: 3,
            needles: &["description"],
            env: &[],
        },
        Case {
            name: "description of 201 chars",
            args: request(&[
                "--name",
                "n",
                "--identity",
                URN,
                "--description",
                leak(desc201),
            ]),
            code: 3,
            needles: &["description", "201"],
            env: &[],
        },
        Case {
            name: "no identity at all",
            args: request(&["--name", "n"]),
            code: 2,
            needles: &["identity"],
            env: &[],
        },
        Case {
            name: "--root without --nic",
            args: request(&["--name", "n", "--root", "--region", "eu"]),
            code: 2,
            needles: &["--nic"],
            env: &[],
        },
        Case {
            name: "bad --nic",
            // An unusual account part such as "bob" is valid (the API accepts it); a space is not.
            args: request(&[
                "--name", "n", "--root", "--region", "eu", "--nic", "bad nic",
            ]),
            code: 3,
            needles: &["--nic"],
            env: &[],
        },
        Case {
            name: "request with garbage CSR",
            args: [
                "request",
                "new",
                "--csr",
                "garbage.csr",
                "--name",
                "n",
                "--identity",
                URN,
                "--out",
                "req.json",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            code: 3,
            needles: &["garbage.csr"],
            env: &[],
        },
        Case {
            name: "request with tampered CSR",
            args: [
                "request",
                "new",
                "--csr",
                "tampered.csr",
                "--name",
                "n",
                "--identity",
                URN,
                "--out",
                "req.json",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            code: 4,
            needles: &["signature"],
            env: &[],
        },
        Case {
            name: "request output exists",
            args: [
                "request",
                "new",
                "--csr",
                "c.csr",
                "--name",
                "n",
                "--identity",
                URN,
                "--out",
                "existing.pem",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            code: 5,
            needles: &["existing.pem", "already exists"],
            env: &[],
        },
        case(
            "existing key output",
            &["key", "new", "--out", "existing.pem"],
            5,
            &["existing.pem", "already exists", "--force"],
        ),
        case(
            "existing CSR output with new key leaves no key",
            &[
                "csr",
                "new",
                "--key-out",
                "new.pem",
                "--cn",
                "x",
                "--out",
                "existing.pem",
            ],
            5,
            &["existing.pem"],
        ),
        case(
            "existing key-out",
            &[
                "csr",
                "new",
                "--key-out",
                "existing.pem",
                "--cn",
                "x",
                "--out",
                "o.csr",
            ],
            5,
            &["existing.pem"],
        ),
        case(
            "/dev/full as --out",
            &["key", "new", "--out", "/dev/full"],
            1,
            &["/dev/full", "not a regular file"],
        ),
        case(
            "/dev/full as --out with --force",
            &["key", "new", "--out", "/dev/full", "--force"],
            1,
            &["/dev/full", "not a regular file"],
        ),
        case(
            "directory as --out",
            &[
                "csr", "new", "--key", "k.pem", "--cn", "x", "--out", "outdir", "--force",
            ],
            1,
            &["outdir"],
        ),
        case(
            "missing output directory",
            &["key", "new", "--out", "no/such/dir/k.pem"],
            1,
            &["no/such/dir/k.pem"],
        ),
        case(
            "parent is a file",
            &["key", "new", "--out", "afile/k.pem"],
            1,
            &["afile/k.pem"],
        ),
        case(
            "output under /proc",
            &["key", "new", "--out", "/proc/okms-cli-test.pem"],
            1,
            &["/proc/okms-cli-test.pem"],
        ),
        case(
            "unescape garbage",
            &["pem", "unescape", "random.bin"],
            3,
            &["random.bin"],
        ),
        case(
            "unescape missing field",
            &["pem", "unescape", "resp.json", "--field", "privateKeyPEM"],
            3,
            &["privatekeypem"],
        ),
        case(
            "unescape private key to stdout unasked",
            &[
                "pem",
                "unescape",
                "keyresp.json",
                "--field",
                "privateKeyPEM",
            ],
            2,
            &["private key", "--out"],
        ),
        case(
            "escape missing file",
            &["pem", "escape", "nope.pem"],
            3,
            &["nope.pem"],
        ),
        Case {
            name: "wrong passphrase from the environment",
            args: [
                "key",
                "show",
                "enc.pem",
                "--passphrase-env",
                "OKMS_TEST_PASS",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            code: 3,
            needles: &["passphrase", "enc.pem"],
            env: &[("OKMS_TEST_PASS", "Zq8-env-wrong")],
        },
        Case {
            name: "passphrase variable unset",
            args: [
                "key",
                "new",
                "--encrypt",
                "--passphrase-env",
                "OKMS_TEST_UNSET_VAR",
                "--out",
                "o.pem",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            code: 3,
            needles: &["okms_test_unset_var"],
            env: &[],
        },
        case(
            "empty passphrase",
            &[
                "key",
                "new",
                "--encrypt",
                "--passphrase-file",
                "empty-pw",
                "--out",
                "o.pem",
            ],
            3,
            &["empty"],
        ),
        case(
            "missing passphrase file",
            &[
                "key",
                "new",
                "--encrypt",
                "--passphrase-file",
                "nope-pw",
                "--out",
                "o.pem",
            ],
            3,
            &["nope-pw"],
        ),
        case(
            "no passphrase source and no terminal",
            &["key", "new", "--encrypt", "--out", "o.pem"],
            1,
            &["terminal", "--passphrase-file"],
        ),
        case(
            "passphrase without --encrypt",
            &["key", "new", "--passphrase-file", "pw", "--out", "o.pem"],
            2,
            &["--encrypt"],
        ),
        case(
            "traditional and encrypted",
            &[
                "key",
                "new",
                "--format",
                "traditional",
                "--encrypt",
                "--out",
                "o.pem",
            ],
            2,
            &["--encrypt"],
        ),
        case(
            "CSR with key of other CSR",
            &["csr", "verify", "c.csr", "--key", "k2.pem"],
            4,
            &["public key"],
        ),
        case(
            "request show of garbage",
            &["request", "show", "random.bin"],
            3,
            &["random.bin"],
        ),
    ];
    v.push(case(
        "escape private key to stdout unasked",
        &["pem", "escape", "k.pem"],
        2,
        &["private key", "--out"],
    ));
    v.push(case(
        "escape output exists",
        &["pem", "escape", "c.csr", "--out", "existing.pem"],
        5,
        &["existing.pem"],
    ));
    v.push(case(
        "CSR over its own key",
        &[
            "csr", "new", "--key", "k.pem", "--cn", "x", "--out", "./k.pem", "--force",
        ],
        2,
        &["--key", "same file"],
    ));
    v.push(case(
        "public key over the private key",
        &["key", "pub", "k.pem", "--out", "./k.pem", "--force"],
        2,
        &["same file"],
    ));
    v.push(Case {
        name: "request over its CSR",
        args: request(&["--name", "n", "--identity", URN])
            .into_iter()
            .map(|a| {
                if a == "req.json" {
                    "./c.csr".to_owned()
                } else {
                    a
                }
            })
            .chain(["--force".to_owned()])
            .collect(),
        code: 2,
        needles: &["--csr", "same file"],
        env: &[],
    });
    v.push(case(
        "request show of a non-request JSON",
        &["request", "show", "resp.json"],
        3,
        &["resp.json"],
    ));
    v
}

#[test]
fn bad_inputs_fail_cleanly() {
    let s = Sandbox::new();
    prepare(&s);
    s.write("enc-pw", "Zq8-right-secret\n");
    s.cmd()
        .args([
            "key",
            "new",
            "--encrypt",
            "--passphrase-file",
            "enc-pw",
            "--out",
            "enc.pem",
        ])
        .assert()
        .success();
    s.key("k2.pem", "ecdsa-p256");
    // An API answer without PEM fields, and one carrying a private key.
    s.write(
        "resp.json",
        serde_json::json!({ "id": "x", "status": "CREATING" }).to_string(),
    );
    s.write(
        "keyresp.json",
        serde_json::json!({ "privateKeyPEM": s.read_string("k.pem") }).to_string(),
    );

    let table = cases();
    assert!(table.len() >= 20);
    let mut failures = Vec::new();
    for c in &table {
        let before = s.snapshot();
        let mut cmd = s.cmd();
        for (k, v) in c.env {
            cmd.env(k, v);
        }
        let out = cmd.args(&c.args).output().unwrap();
        let err = stderr_of(&out);
        let lower = err.to_lowercase();
        let mut problems = Vec::new();
        if out.status.code() != Some(c.code) {
            problems.push(format!("exit {:?}, expected {}", out.status.code(), c.code));
        }
        for n in c.needles {
            if !lower.contains(&n.to_lowercase()) {
                problems.push(format!("stderr does not mention {n:?}"));
            }
        }
        if lower.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        if stdout_of(&out).contains("PRIVATE KEY") || err.contains("PRIVATE KEY-----") {
            problems.push("printed a private key".to_owned());
        }
        if err.contains("Zq8") || stdout_of(&out).contains("Zq8") {
            problems.push("printed a passphrase".to_owned());
        }
        if s.snapshot() != before {
            problems.push("files changed".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    args: {:?}\n    stderr: {}",
                c.name,
                problems.join("; "),
                c.args,
                err.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

#[test]
fn read_only_directory_is_refused_and_left_empty() {
    let s = Sandbox::new();
    let ro = s.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let out = s
        .cmd()
        .args(["key", "new", "--out", "ro/k.pem"])
        .output()
        .unwrap();
    let listing: Vec<_> = std::fs::read_dir(&ro).unwrap().collect();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    if is_root() {
        // root ignores directory permissions; the /proc case of the table covers root.
        eprintln!(
            "NOTE: running as root, read-only directory permissions do not apply; checked only that nothing stray was left"
        );
        assert!(listing.len() <= 1);
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("ro/k.pem"));
    assert!(stderr_of(&out).contains("hint: choose a directory you can write to"));
    assert!(listing.is_empty(), "no temporary file may be left behind");
}

// Minimal base64 for the test fixtures (avoids a dev-dependency for two calls).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c).unwrap() as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_encode(d: &[u8]) -> String {
    let mut out = String::new();
    for chunk in d.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
