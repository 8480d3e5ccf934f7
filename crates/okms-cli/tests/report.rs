//! `credential report` and `credential list`'s expiry marks against the emulator, whose clock
//! the tests move instead of sleeping: the statuses, the Nagios plugin answer (exit codes and
//! perfdata syntax) and the Prometheus textfile (parsed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod online_common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Sandbox, stderr_of, stdout_of};
use okms_emulator::{CredentialPhase, FaultKind, FaultSpec, RunningEmulator};
use online_common::{AuthMode, bare_env, cli, emulator, json_ok};

/// A READY credential from a new CSR, its certificate in `{name}.cert` and key in `{name}.key`;
/// returns its id. The emulator's clock then moves one hour on, so that day counts land mid-day
/// (the API tells time in whole seconds: a credential seconds old would sit on a boundary).
fn credential(s: &Sandbox, emu: &RunningEmulator, name: &str, validity_days: u32) -> String {
    let (key, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.cert"),
    );
    s.key_and_csr(&key, &csr, "ecdsa-p256");
    let v = json_ok(cli(s, emu, AuthMode::Signature).args([
        "--json",
        "credential",
        "create",
        "--csr",
        &csr,
        "--name",
        name,
        "--root",
        "--validity",
        &validity_days.to_string(),
        "--cert-out",
        &cert,
    ]));
    emu.advance_clock(Duration::from_secs(3600));
    v["credential"]["id"].as_str().unwrap().to_owned()
}

fn by_name(v: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    v["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c.clone()))
        .collect()
}

/// One sample of the Prometheus text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parser of the Prometheus text exposition format, strict where node_exporter's textfile
/// collector is: `# HELP`/`# TYPE` before a metric's samples, quoted and escaped label values,
/// and here also no timestamp after the value.
fn parse_prometheus(text: &str) -> (BTreeMap<String, (String, String)>, Vec<Sample>) {
    let mut meta: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            meta.entry(name.into()).or_default().0 = help.into();
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(meta.contains_key(name), "TYPE before HELP for {name}");
            meta.get_mut(name).unwrap().1 = kind.into();
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let open = line.find('{').unwrap();
        let name = &line[..open];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?}"
        );
        assert_eq!(meta[name].1, "gauge", "{name} declared before its samples");
        let mut labels = BTreeMap::new();
        let mut rest = &line[open + 1..];
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find("=\"").unwrap();
            let key = rest[..eq].to_owned();
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                let (i, c) = chars.next().expect("unterminated label value");
                match c {
                    '\\' => match chars.next().unwrap().1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break eq + 2 + i + 1,
                    c => value.push(c),
                }
            };
            labels.insert(key, value);
            rest = rest[end..].strip_prefix(',').unwrap_or(&rest[end..]);
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(fields.len(), 1, "a value and no timestamp: {line:?}");
        samples.push(Sample {
            name: name.into(),
            labels,
            value: fields[0].parse().unwrap(),
        });
    }
    (meta, samples)
}

/// Checks one perfdata item `'label'=value;warn;crit;min;max` and returns label and value.
fn parse_perf_item(item: &str) -> (String, i64, String, String) {
    let rest = item.strip_prefix('\'').unwrap();
    let close = rest.find("'=").unwrap();
    let label = rest[..close].replace("''", "'");
    let fields: Vec<&str> = rest[close + 2..].split(';').collect();
    assert_eq!(fields.len(), 5, "value;warn;crit;min;max in {item:?}");
    let range = |r: &str| {
        r.is_empty()
            || r.trim_start_matches('@')
                .split(':')
                .all(|n| n.is_empty() || n == "~" || n.parse::<f64>().is_ok())
    };
    assert!(
        range(fields[1]) && range(fields[2]),
        "threshold ranges in {item:?}"
    );
    (
        label,
        fields[0].parse().unwrap(),
        fields[1].to_owned(),
        fields[2].to_owned(),
    )
}

/// Runs `report --nagios` and returns exit code, status line, and the perfdata items.
fn nagios(s: &Sandbox, emu: &RunningEmulator, extra: &[&str]) -> (i32, String, Vec<String>) {
    let out = cli(s, emu, AuthMode::Signature)
        .args(["credential", "report", "--nagios"])
        .args(extra)
        .output()
        .unwrap();
    let (status, items) = plugin_answer(&stdout_of(&out));
    (out.status.code().unwrap(), status, items)
}

/// Splits a plugin's answer as Nagios does: the status line (no perfdata: it stays short),
/// detail lines, and the perfdata after the one `|`, on the last detail line.
fn plugin_answer(stdout: &str) -> (String, Vec<String>) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "a status line: {stdout:?}");
    assert!(!lines[0].contains('|'), "no perfdata on line 1: {stdout:?}");
    assert!(
        stdout.matches('|').count() <= 1,
        "one perfdata separator: {stdout:?}"
    );
    let perf = match stdout.split_once(" | ") {
        Some((_, perf)) => {
            assert!(!perf.trim_end().contains('\n'), "perfdata last: {stdout:?}");
            perf.trim_end()
        }
        None => "",
    };
    // Labels are quoted and may hold spaces: split on the quote that opens each item.
    let items = perf
        .split(" '")
        .filter(|i| !i.is_empty())
        .map(|i| {
            if i.starts_with('\'') {
                i.to_owned()
            } else {
                format!("'{i}")
            }
        })
        .collect();
    (lines[0].to_owned(), items)
}

/// Makes the emulator answer 503 to every listing of the domain's credentials.
fn fail_listing(emu: &RunningEmulator) {
    emu.set_faults(vec![
        FaultSpec::new(FaultKind::Status(503))
            .route(&format!(
                "GET:/v2/okms/resource/{}/credential",
                emu.okms_id()
            ))
            .unwrap(),
    ]);
}

#[test]
fn domain_report_classifies_and_the_prometheus_textfile_parses() {
    let emu = emulator();
    let s = Sandbox::new();
    let long = credential(&s, &emu, "long", 365);
    let soon = credential(&s, &emu, "soon", 20);
    let close = credential(&s, &emu, "close", 5);

    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args(["--json", "credential", "report"]));
    assert_eq!(
        (v["warn_days"].as_u64(), v["crit_days"].as_u64()),
        (Some(30), Some(7))
    );
    let rows = by_name(&v);
    let expect = [
        (&long, "long", 364, "ok"),
        (&soon, "soon", 19, "warn"),
        (&close, "close", 4, "crit"),
    ];
    for (id, name, days, status) in expect {
        let r = &rows[name];
        assert_eq!(r["id"], *id);
        assert_eq!(r["status"], status, "{name}: {r}");
        assert_eq!(r["days_left"], days, "{name}: {r}");
        assert_eq!(r["api_status"], "READY");
        assert_eq!(r["domain"], emu.okms_id().to_string());
    }

    let prom = s.path("metrics/okms.prom");
    std::fs::create_dir(s.path("metrics")).unwrap();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "report", "--prometheus"])
        .arg(&prom)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).is_empty(),
        "the file, not stdout, holds the metrics"
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    let (meta, samples) = parse_prometheus(&text);
    assert_eq!(
        meta.keys().collect::<Vec<_>>(),
        [
            "okms_credential_days_left",
            "okms_credential_not_after_timestamp_seconds",
            "okms_credential_status"
        ]
    );
    assert!(
        meta.values()
            .all(|(help, kind)| !help.is_empty() && kind == "gauge")
    );
    assert_eq!(samples.len(), 9);
    for (id, name, days, status) in expect {
        let of = |metric: &str| {
            samples
                .iter()
                .find(|x| x.name == metric && x.labels["id"] == *id)
                .unwrap_or_else(|| panic!("{metric} for {name}"))
        };
        let d = of("okms_credential_days_left");
        assert_eq!(d.value, f64::from(days));
        assert_eq!(
            d.labels.keys().collect::<Vec<_>>(),
            ["domain", "id", "name"]
        );
        assert_eq!(d.labels["name"], name);
        assert_eq!(d.labels["domain"], emu.okms_id().to_string());
        let gauge = match status {
            "ok" => 0.0,
            "warn" => 1.0,
            _ => 2.0,
        };
        assert_eq!(of("okms_credential_status").value, gauge);
        let not_after = time::OffsetDateTime::parse(
            rows[name]["not_after"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(
            of("okms_credential_not_after_timestamp_seconds").value,
            not_after.unix_timestamp() as f64
        );
    }
    // Rewritten in place by the next run, not appended to.
    cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "report", "--prometheus"])
        .arg(&prom)
        .assert()
        .success();
    assert_eq!(
        parse_prometheus(&std::fs::read_to_string(&prom).unwrap())
            .1
            .len(),
        9
    );
}

#[test]
fn nagios_exit_codes_follow_the_worst_credential_and_perfdata_parses() {
    let emu = emulator();
    let s = Sandbox::new();
    let long = credential(&s, &emu, "long", 365);
    let (code, status, perf) = nagios(&s, &emu, &[]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.starts_with("OKMS OK - 1 credential(s) ok"),
        "{status}"
    );
    assert_eq!(perf.len(), 1);
    let (label, value, warn, crit) = parse_perf_item(&perf[0]);
    assert_eq!(label, format!("long {long}"));
    assert_eq!((value, warn.as_str(), crit.as_str()), (364, "31:", "8:"));

    credential(&s, &emu, "soon", 20);
    let (code, status, perf) = nagios(&s, &emu, &[]);
    assert_eq!(code, 1, "{status}");
    assert!(status.starts_with("OKMS WARNING - soon ("), "{status}");
    assert!(status.contains("19 days left; "), "{status}");
    assert_eq!(perf.len(), 2);

    // Thresholds move the verdict: with --warn 10 the 20-day credential is fine.
    let (code, status, perf) = nagios(&s, &emu, &["--warn", "10", "--crit", "3"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        perf.iter().all(|p| parse_perf_item(p).2 == "11:"),
        "{perf:?}"
    );

    credential(&s, &emu, "close", 5);
    let (code, status, _) = nagios(&s, &emu, &[]);
    assert_eq!(code, 2, "{status}");
    assert!(status.starts_with("OKMS CRITICAL - "), "{status}");

    // An API that fails is the plugin's UNKNOWN, not OK.
    fail_listing(&emu);
    let (code, status, perf) = nagios(&s, &emu, &[]);
    assert_eq!(code, 3, "{status}");
    assert!(
        status.starts_with("OKMS UNKNOWN - cannot list the credentials"),
        "{status}"
    );
    assert!(perf.is_empty());
}

#[test]
fn expired_credentials_are_reported_listed_and_refused_by_the_kms() {
    let emu = emulator();
    let s = Sandbox::new();
    let short = credential(&s, &emu, "short", 2);
    credential(&s, &emu, "long", 365);
    emu.advance_clock(Duration::from_secs(3 * 86_400));

    let snap = emu.credentials();
    let phase = snap
        .iter()
        .find(|c| c.id.to_string() == short)
        .unwrap()
        .phase;
    assert_eq!(
        phase,
        CredentialPhase::Expired,
        "EXPIRED once past expiredAt"
    );

    let v = json_ok(cli(&s, &emu, AuthMode::Signature).args(["--json", "credential", "report"]));
    let rows = by_name(&v);
    assert_eq!(rows["short"]["api_status"], "EXPIRED");
    assert_eq!(rows["short"]["status"], "expired");
    // 2 days - 2 hours - 3 days: rounded down, by the API's clock, not this host's.
    assert_eq!(rows["short"]["days_left"], -2);
    assert_eq!(rows["long"]["status"], "ok");
    assert_eq!(rows["long"]["days_left"], 361);

    let (code, status, _) = nagios(&s, &emu, &[]);
    assert_eq!(code, 2);
    assert!(
        status.contains(&format!("short ({short}) EXPIRED")),
        "{status}"
    );

    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = stdout_of(&out);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.ends_with(&format!("  {name}")))
            .unwrap_or_else(|| panic!("no row for {name} in {table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(
        table.lines().next().unwrap().contains("DAYS LEFT"),
        "{table}"
    );
    let short_row = line("short");
    assert_eq!(short_row[1], "EXPIRED");
    assert_eq!(
        &short_row[short_row.len() - 3..],
        ["-2", "EXPIRED", "short"]
    );
    let long_row = line("long");
    assert_eq!(
        &long_row[long_row.len() - 2..],
        ["361", "long"],
        "no mark: {long_row:?}"
    );

    // The KMS refuses the expired certificate (its own clock moved too).
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "check",
            "--cert",
            "short.cert",
            "--key",
            "short.key",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("expired"), "{}", stderr_of(&out));
}

#[test]
fn list_marks_credentials_expiring_within_thirty_days() {
    let emu = emulator();
    let s = Sandbox::new();
    credential(&s, &emu, "soon", 20);
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "list"])
        .output()
        .unwrap();
    let table = stdout_of(&out);
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.ends_with("  soon"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&row[row.len() - 3..], ["19", "soon", "soon"], "{table}");
}

#[test]
fn cert_files_are_reported_without_any_api_call() {
    let emu = emulator();
    let s = Sandbox::new();
    let id = credential(&s, &emu, "web", 20);
    credential(&s, &emu, "db", 365);
    let mut c = s.cmd();
    bare_env(&mut c, &s);
    // Nothing listens on port 9: any API call would fail the command.
    c.env("OVH_ENDPOINT", "http://127.0.0.1:9/1.0");
    let v = json_ok(c.args([
        "--json",
        "credential",
        "report",
        "--cert",
        "web.cert",
        "db.cert",
    ]));
    let rows = by_name(&v);
    assert_eq!(rows["web.cert"]["id"], id);
    assert_eq!(rows["web.cert"]["status"], "warn");
    assert_eq!(rows["web.cert"]["days_left"], 19);
    assert!(rows["web.cert"]["api_status"].is_null());
    assert_eq!(rows["web.cert"]["domain"], emu.okms_id().to_string());
    assert_eq!(rows["db.cert"]["status"], "ok");
}

#[test]
fn crit_above_warn_is_refused_and_nothing_is_written() {
    let emu = emulator();
    let s = Sandbox::new();
    let before = s.snapshot();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args([
            "credential",
            "report",
            "--warn",
            "7",
            "--crit",
            "30",
            "--prometheus",
            "m.prom",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("--crit no greater than --warn"), "{err}");
    assert!(err.contains("30 days") && err.contains("7 days"), "{err}");
    assert_eq!(s.snapshot(), before, "nothing written");

    // In Nagios mode the same refusal is the plugin's UNKNOWN.
    let (code, status, _) = nagios(&s, &emu, &["--warn", "7", "--crit", "30"]);
    assert_eq!(code, 3);
    assert!(
        status.starts_with("OKMS UNKNOWN - the critical threshold (30 days)"),
        "{status}"
    );
}

#[test]
fn an_unreadable_cert_file_is_named() {
    let s = Sandbox::new();
    s.write("junk.cert", "not a certificate");
    let mut c = s.cmd();
    bare_env(&mut c, &s);
    let out = c
        .args(["credential", "report", "--cert", "junk.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("junk.cert"), "{}", stderr_of(&out));
}

/// `credential report` with no API at all (for `--cert` files and usage errors).
fn offline(s: &Sandbox) -> assert_cmd::Command {
    let mut c = s.cmd();
    bare_env(&mut c, s);
    // Nothing listens on port 9: any API call would fail the command.
    c.env("OVH_ENDPOINT", "http://127.0.0.1:9/1.0");
    c.args(["credential", "report"]);
    c
}

#[test]
fn usage_errors_in_nagios_mode_are_unknown_with_a_status_line() {
    let s = Sandbox::new();
    // clap's own errors, and the flag combinations the command refuses itself.
    for extra in [
        &["--nagios", "--no-such-flag"][..],
        &["--nagios", "--warn", "soon"],
        &["--nagios", "--cert"],
    ] {
        let out = offline(&s).args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {}", stderr_of(&out));
        let (status, perf) = plugin_answer(&stdout_of(&out));
        assert!(status.starts_with("OKMS UNKNOWN - "), "{extra:?}: {status}");
        assert!(perf.is_empty());
    }
    let mut c = s.cmd();
    bare_env(&mut c, &s);
    let out = c
        .args([
            "--json",
            "credential",
            "report",
            "--nagios",
            "--cert",
            "x.cert",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).starts_with("OKMS UNKNOWN - --nagios and --json"),
        "{}",
        stdout_of(&out)
    );
    // Without --nagios, clap's usage exit stays 2.
    let out = offline(&s).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout_of(&out).is_empty());
}

#[test]
fn no_pipe_from_a_value_reaches_the_plugin_answer() {
    let s = Sandbox::new();
    for extra in [
        &["--okms-id", "not|a|uuid"][..],
        &["--cert", "a|b.cert"],
        &["--cert", "x|y.cert", "--warn", "7", "--crit", "30"],
    ] {
        let out = offline(&s).arg("--nagios").args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {}", stderr_of(&out));
        let stdout = stdout_of(&out);
        assert!(stdout.starts_with("OKMS UNKNOWN - "), "{stdout}");
        assert!(!stdout.contains('|'), "{extra:?}: {stdout}");
    }
}

#[test]
fn an_unreadable_cert_file_is_unknown_and_the_others_are_still_reported() {
    let emu = emulator();
    let s = Sandbox::new();
    let web = credential(&s, &emu, "web", 365);
    s.write("junk.cert", "not a certificate");

    let out = offline(&s)
        .args(["--nagios", "--cert", "web.cert", "junk.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    let (status, perf) = plugin_answer(&stdout);
    assert!(status.starts_with("OKMS UNKNOWN - "), "{stdout}");
    assert!(status.contains("junk.cert"), "{stdout}");
    assert!(
        status.ends_with("2 credential(s): 1 ok, 1 unreadable"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("OK: web.cert ({web}) 364 days left")),
        "{stdout}"
    );
    assert_eq!(perf.len(), 1, "{stdout}");
    assert_eq!(parse_perf_item(&perf[0]).0, format!("web.cert {web}"));

    // A certificate about to expire is not hidden behind the unreadable one.
    credential(&s, &emu, "soon", 20);
    let out = offline(&s)
        .args(["--nagios", "--cert", "soon.cert", "junk.cert", "web.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    let (status, perf) = plugin_answer(&stdout_of(&out));
    assert!(status.starts_with("OKMS WARNING - soon.cert ("), "{status}");
    assert_eq!(perf.len(), 2);

    // The table too shows what it could read before failing on the rest.
    let out = offline(&s)
        .args(["--cert", "junk.cert", "web.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout_of(&out).contains(&web), "{}", stdout_of(&out));
    assert!(stderr_of(&out).contains("junk.cert"), "{}", stderr_of(&out));
}

#[test]
fn the_prometheus_textfile_is_always_rewritten_with_an_error_series() {
    let emu = emulator();
    let s = Sandbox::new();
    let web = credential(&s, &emu, "web", 365);
    s.write("junk.cert", "not a certificate");
    let prom = s.path("okms.prom");

    let out = offline(&s)
        .args(["--cert", "web.cert", "junk.cert", "--prometheus"])
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a failure all the same");
    assert!(stderr_of(&out).contains("junk.cert"), "{}", stderr_of(&out));
    let (meta, samples) = parse_prometheus(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(meta["okms_certificate_read_error"].1, "gauge");
    let errors: Vec<&Sample> = samples
        .iter()
        .filter(|x| x.name == "okms_certificate_read_error")
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].labels["file"], "junk.cert");
    assert_eq!(errors[0].value, 1.0);
    let good: Vec<&Sample> = samples
        .iter()
        .filter(|x| x.name.starts_with("okms_credential_"))
        .collect();
    assert_eq!(good.len(), 3);
    assert!(good.iter().all(|x| x.labels["id"] == web));

    // A domain whose listing fails: the old series go, an error series says why.
    cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "report", "--prometheus"])
        .arg(&prom)
        .assert()
        .success();
    let before = parse_prometheus(&std::fs::read_to_string(&prom).unwrap()).1;
    assert_eq!(before.len(), 3);
    fail_listing(&emu);
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "report", "--prometheus"])
        .arg(&prom)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let (_, after) = parse_prometheus(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].name, "okms_credential_list_error");
    assert_eq!(after[0].labels["domain"], emu.okms_id().to_string());
}

#[test]
fn a_certificate_not_yet_valid_is_critical_not_ok() {
    let emu = emulator();
    let s = Sandbox::new();
    // Issued by a KMS whose clock runs ten days ahead of this host's.
    emu.advance_clock(Duration::from_secs(10 * 86_400));
    let early = credential(&s, &emu, "early", 365);

    let v = json_ok(offline(&s).args(["--cert", "early.cert"]).arg("--json"));
    let rows = by_name(&v);
    assert_eq!(rows["early.cert"]["id"], early);
    assert_eq!(rows["early.cert"]["status"], "not_yet_valid");

    let out = offline(&s)
        .args(["--nagios", "--cert", "early.cert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout_of(&out));
    let (status, _) = plugin_answer(&stdout_of(&out));
    assert!(
        status.starts_with(&format!(
            "OKMS CRITICAL - early.cert ({early}) NOT YET VALID"
        )),
        "{status}"
    );

    let prom = s.path("okms.prom");
    offline(&s)
        .args(["--cert", "early.cert", "--prometheus"])
        .arg(&prom)
        .assert()
        .success();
    let (_, samples) = parse_prometheus(&std::fs::read_to_string(&prom).unwrap());
    let gauge = samples
        .iter()
        .find(|x| x.name == "okms_credential_status")
        .unwrap();
    assert_eq!(gauge.value, 4.0);
}

#[test]
fn the_status_line_stays_short_for_many_credentials() {
    let emu = emulator();
    let s = Sandbox::new();
    let ids: Vec<String> = (0..12)
        .map(|i| {
            let days = if i % 3 == 0 { 20 } else { 365 };
            credential(
                &s,
                &emu,
                &format!("service-{i:02}-frontend-production"),
                days,
            )
        })
        .collect();
    let out = cli(&s, &emu, AuthMode::Signature)
        .args(["credential", "report", "--nagios"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = stdout_of(&out);
    let (status, perf) = plugin_answer(&stdout);
    // NRPE v2 keeps the first KiB of the output: the verdict must be well inside it.
    assert!(status.len() < 200, "{} bytes: {status}", status.len());
    assert!(
        status.ends_with("12 credential(s): 4 warn, 8 ok"),
        "{status}"
    );
    assert_eq!(perf.len(), 12);
    for id in &ids {
        assert!(
            stdout.lines().skip(1).any(|l| l.contains(id.as_str())),
            "{id}"
        );
    }
}
