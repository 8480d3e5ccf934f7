//! `okms-emulator`: runs the emulator until SIGTERM or SIGINT and prints one JSON line with
//! everything a client needs once both sides accept connections.

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, ValueEnum};
use okms_emulator::{ClientAuth, Emulator, EmulatorConfig, FaultSpec, IamSeed};

/// A local OVHcloud API (OKMS access certificates) and OKMS domain endpoint, for tests and
/// demos. Loopback only. Prints one JSON line (api_url, kms_url, kmip_endpoint, ca_file, okms_id, nic,
/// application_key, application_secret, consumer_key, client_id, client_secret,
/// oauth2_token_url) once it accepts connections, then runs until SIGTERM or SIGINT.
#[derive(Debug, Parser)]
#[command(name = "okms-emulator", version)]
struct Args {
    /// Address of the API side (plain HTTP); must be loopback.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the KMS side (HTTPS with client certificates); must be loopback.
    #[arg(long, default_value = "127.0.0.1:0")]
    kms_listen: SocketAddr,
    /// Address of the KMIP endpoint (TTLV over mutual TLS); must be loopback.
    #[arg(long, default_value = "127.0.0.1:0")]
    kmip_listen: SocketAddr,
    /// How long new credentials stay CREATING, in milliseconds.
    #[arg(long, default_value_t = 500)]
    ready_delay_ms: u64,
    /// How long the KMS refuses a certificate (401 on REST, an access_denied TLS alert on KMIP)
    /// after its credential became READY, in milliseconds, as a node that has not received it
    /// yet would.
    #[arg(long, default_value_t = 0)]
    kms_propagation_ms: u64,
    /// How long deleted credentials stay DELETING, in milliseconds.
    #[arg(long, default_value_t = 500)]
    delete_delay_ms: u64,
    /// Lifetime of OAuth2 access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Largest accepted gap between X-Ovh-Timestamp and the server clock, in seconds.
    #[arg(long, default_value_t = 300)]
    max_skew_secs: u64,
    /// Seed of the fault generator (same seed + same request order = same faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inject a fault; repeatable. KIND[:ARG][,rate=R][,skip=N][,times=N][,route=[METHOD:]PATH]
    /// with KIND one of latency:MS, error[:500|502|503], throttle[:SECS], drop-before,
    /// drop-after. Example: --fault 'drop-after,times=1,route=POST:/v2/okms/resource/*/credential'
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// Seconds added to the server clock (/auth/time and timestamp checks); may be negative.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew_secs: i64,
    /// Start with the emulator's clock this far ahead of real time (e.g. 90d, 12h, 30m, 45s;
    /// a bare number is seconds): credential lifecycles, expiry and token lifetimes follow it.
    /// POST /_emulator/clock/advance {"seconds": N} moves it further while running.
    #[arg(long, value_name = "DURATION", value_parser = parse_clock_offset)]
    clock_offset: Option<Duration>,
    /// Directory for ca.pem (kept on exit); a private temporary directory otherwise.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Whether the KMS side demands a client certificate in the TLS handshake.
    #[arg(long, value_enum, default_value_t = ClientAuthArg::Optional)]
    kms_client_auth: ClientAuthArg,
    /// OKMS domain id (random by default).
    #[arg(long)]
    okms_id: Option<uuid::Uuid>,
    /// Extra domains listed by GET /v2/okms/resource.
    #[arg(long, default_value_t = 0)]
    extra_domains: usize,
    /// Account NIC handle.
    #[arg(long, default_value = "xx1111-ovh")]
    nic: String,
    /// Page size of v2 lists when the client sends no X-Pagination-Size.
    #[arg(long, default_value_t = 50)]
    page_size: usize,
    /// Answer authentication failures in the older {"errorCode","httpCode","message"} shape
    /// instead of the API's current {"class","message"}.
    #[arg(long)]
    legacy_auth_errors: bool,
    /// Refuse an IAM action to every API caller (403 "User not granted for this request");
    /// repeatable. An action such as okms:apiovh:credential/create, or a prefix ending in *
    /// such as okms:apiovh:credential/*.
    #[arg(long = "deny-action", value_name = "ACTION")]
    deny_actions: Vec<String>,
    /// JSON file of the account's IAM identities: {"users":[{"login","group"}],
    /// "groups":[{"name","role"}], "service_accounts":[{"client_id","name"}], "api_caller"}.
    /// Default: users alice (group kms-operators, role NONE) and bob (group admins, role ADMIN),
    /// service account EU.ci-runner.
    #[arg(long, value_name = "FILE")]
    iam_seed: Option<PathBuf>,
    /// The identity URN every API caller acts as (overrides the seed's api_caller); the
    /// account's root identity, allowed everything, by default. Example:
    /// urn:v1:eu:identity:user:xx1111-ovh/alice
    #[arg(long, value_name = "URN")]
    api_caller_identity: Option<String>,
    /// The identity URN OAuth2 callers act as instead (overrides the seed's oauth2_caller),
    /// e.g. the OAuth2 client's own service account, as on the real API:
    /// urn:v1:eu:identity:credential:xx1111-ovh/oauth2-CLIENT_ID
    #[arg(long, value_name = "URN")]
    oauth2_caller_identity: Option<String>,
}

/// Parses `--clock-offset`: a whole number with an optional unit s, m, h or d.
fn parse_clock_offset(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        format!(
            "invalid clock offset `{text}`: use a whole number of seconds, or one followed by s, m, h or d (e.g. 400d); the clock only moves forward"
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let max = okms_emulator::MAX_DURATION;
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .filter(|d| *d <= max)
        .ok_or_else(|| {
            format!(
                "clock offset `{text}` is too large: at most {} s ({} days)",
                max.as_secs(),
                max.as_secs() / 86_400
            )
        })
}

fn iam_seed(file: Option<&PathBuf>) -> Result<IamSeed, okms_emulator::Error> {
    let Some(path) = file else {
        return Ok(IamSeed::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        okms_emulator::Error::Config(format!("cannot read the IAM seed {}: {e}", path.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        okms_emulator::Error::Config(format!(
            "the IAM seed {} is not valid: {e} (expected {{\"users\":[{{\"login\",\"group\"}}], \
             \"groups\":[{{\"name\",\"role\"}}], \"service_accounts\":[{{\"client_id\",\"name\"}}], \
             \"api_caller\":URN or null}})",
            path.display()
        ))
    })
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClientAuthArg {
    /// Verify a certificate if presented; answer 401 JSON otherwise.
    Optional,
    /// Fail the TLS handshake without a valid certificate.
    Required,
}

fn config(args: Args) -> Result<EmulatorConfig, okms_emulator::Error> {
    let faults = args
        .faults
        .iter()
        .map(|s| s.parse::<FaultSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut iam = iam_seed(args.iam_seed.as_ref())?;
    if let Some(urn) = args.api_caller_identity {
        iam.api_caller = Some(urn);
    }
    if let Some(urn) = args.oauth2_caller_identity {
        iam.oauth2_caller = Some(urn);
    }
    Ok(EmulatorConfig {
        listen: args.listen,
        kms_listen: args.kms_listen,
        kmip_listen: args.kmip_listen,
        ready_delay: Duration::from_millis(args.ready_delay_ms),
        kms_propagation: Duration::from_millis(args.kms_propagation_ms),
        delete_delay: Duration::from_millis(args.delete_delay_ms),
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        max_clock_skew: Duration::from_secs(args.max_skew_secs),
        seed: args.seed,
        faults,
        clock_skew_secs: args.clock_skew_secs,
        state_dir: args.state_dir,
        kms_client_auth: match args.kms_client_auth {
            ClientAuthArg::Optional => ClientAuth::Optional,
            ClientAuthArg::Required => ClientAuth::Required,
        },
        okms_id: args.okms_id,
        extra_domains: args.extra_domains,
        nic: args.nic,
        default_page_size: args.page_size,
        legacy_auth_errors: args.legacy_auth_errors,
        deny_actions: args.deny_actions,
        iam,
        ..EmulatorConfig::default()
    })
}

/// SIGTERM and SIGINT, registered before the start-up line is printed: a caller that signals
/// the moment it reads that line must find them handled (a signal that came first used to kill
/// the process with the default action, and the state directory was not cleaned up).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            tokio::signal::ctrl_c().await
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let clock_offset = args.clock_offset;
    let config = config(args).map_err(|e| e.to_string())?;
    let signals = Signals::register().map_err(|e| format!("cannot handle SIGTERM/SIGINT: {e}"))?;
    let emu = Emulator::start(config).await.map_err(|e| e.to_string())?;
    // Before the start-up line: no client can see the clock unmoved.
    if let Some(by) = clock_offset {
        emu.advance_clock(by);
    }
    let line = serde_json::to_string(emu.info()).map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write the start-up line to stdout: {e}"))?;
    }
    let waited = signals.wait().await;
    emu.shutdown().await;
    waited.map_err(|e| format!("cannot wait for SIGTERM/SIGINT: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match okms_emulator::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("okms-emulator: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("okms-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
