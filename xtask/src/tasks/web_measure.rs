//! `cargo xtask web --measure`: how long the offline page takes from opening to ready, in
//! headless Chromium, as a user opens it (from `file://`, a new profile each time).
//!
//! The page writes `performance.now()` into `data-ready-ms` on `<body>` when its form becomes
//! usable: milliseconds since the browser started the navigation, so parsing the HTML, decoding
//! the base64 module, compiling and instantiating it. Chromium's `--dump-dom` prints the DOM
//! with the attribute in it. It waits for the module only under a `--virtual-time-budget`
//! (without one it dumps at the load event, and the 2.2 MB page of before was often not
//! ready then). The budget runs the page's clock as the real one while the page works and
//! skips idle waits: most openings agree with the real-clock ones to within noise, but now
//! and then one reads about a second more (a skipped browser timer), hence the median.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Openings of the page; the median is reported.
const RUNS: usize = 5;

/// Opens `page` [`RUNS`] times and prints each time to ready and their median.
///
/// # Errors
/// No Chromium on PATH (`apt-get install chromium`), or a page that was not ready in time.
pub fn run(page: &Path) -> Result<()> {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .context(
            "--measure needs Chromium (`apt-get install chromium`, or .ci/install-web-deps)",
        )?;
    let page = page
        .canonicalize()
        .with_context(|| format!("cannot find {}", page.display()))?;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let profile = tempfile::tempdir().context("cannot create a browser profile directory")?;
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                // Without these Chromium tries Google's hosts at every start, which this
                // network refuses; they would only add noise.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--virtual-time-budget=20000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .with_context(|| format!("could not start {chromium}"))?;
        let dom = String::from_utf8_lossy(&out.stdout);
        match ready_ms(&dom) {
            Some(ms) => times.push(ms),
            None => bail!(
                "the page was not ready within 20 s in {chromium} ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }
    }
    let listed: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "page ready in headless {chromium}: median {:.0} ms over {RUNS} openings ({} ms)",
        times[RUNS / 2],
        listed.join(", ")
    );
    Ok(())
}

/// The page's `data-ready-ms` attribute in a dumped DOM.
fn ready_ms(dom: &str) -> Option<f64> {
    let start = dom.find("data-ready-ms=\"")? + "data-ready-ms=\"".len();
    let rest = dom.get(start..)?;
    rest.get(..rest.find('"')?)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_time_is_read_from_the_body() {
        assert_eq!(
            ready_ms("<html><body data-ready=\"true\" data-ready-ms=\"312\">"),
            Some(312.0)
        );
        assert_eq!(ready_ms("<html><body>"), None);
        assert_eq!(ready_ms("<body data-ready-ms=\"x\">"), None);
    }
}
