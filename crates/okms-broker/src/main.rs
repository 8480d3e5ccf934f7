//! `okms-broker`: see the crate's README. `serve` runs the broker; `check-policy` validates a
//! policy file and exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use okms_api::{Client, Config, ConfigOverrides, ConfigSources, ReqwestTransport, TokioClock};
use okms_broker::Error;
use okms_broker::audit::AuditLog;
use okms_broker::engine::{Audited, Engine, EngineOptions};
use okms_broker::policy::Policy;
use okms_broker::server::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT, ServeOptions, ServerIdentity, serve,
};

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (serve: stopped by SIGTERM or SIGINT after finishing its requests)
  1  error not listed below (the audit log cannot be opened, the runtime cannot start)
  2  usage error (bad flags or arguments)
  3  invalid policy file (the message names the line)
  4  TLS or listening error (certificate or key unusable, address cannot be bound)
  5  OVHcloud API or its configuration (no credentials, a domain's CA cannot be read)";

/// Why the process ended, as the number the shell sees; documented in `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Error = 1,
    Policy = 3,
    Tls = 4,
    Api = 5,
}

/// A renewal broker for OVHcloud KMS access certificates: hosts renew over mutual TLS with
/// their current certificate; only the broker holds OVHcloud API credentials.
#[derive(Debug, Parser)]
#[command(
    name = "okms-broker",
    version,
    after_long_help = EXIT_CODES_HELP,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the renewal protocol over HTTPS until SIGTERM or SIGINT; SIGHUP re-reads the
    /// policy file.
    Serve(ServeArgs),
    /// Validate a policy file and exit: 0 when valid, 3 with the line and the fix otherwise.
    CheckPolicy {
        /// The policy file (YAML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on, such as 0.0.0.0:8443 or [::]:8443.
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// The broker's certificate chain (PEM, leaf first); hosts verify it with --broker-ca.
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// The broker's private key (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
    /// The policy file (YAML): which domains and credential names renew here, and how.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Append audit lines (JSON, one per request) to this file, created with mode 0600;
    /// standard error without it.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Requests handled at once; beyond, hosts get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(|n| n as usize))]
    max_in_flight: usize,
    /// Connections open at once; past it, new ones are closed at once (hosts retry).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(|n| n as usize))]
    max_connections: usize,
    /// OVHcloud API operations at once (the others queue).
    #[arg(long, value_name = "N", default_value_t = EngineOptions::default().api_concurrency,
          value_parser = clap::value_parser!(u32).range(1..=10_000).map(|n| n as usize))]
    api_concurrency: usize,
    /// OVHcloud API endpoint: a name (ovh-eu, ovh-ca, ovh-us, ...) or a URL [env: OVH_ENDPOINT]
    #[arg(long, value_name = "NAME|URL")]
    endpoint: Option<String>,
    /// An ovh.conf file read after /etc/ovh.conf, ~/.ovh.conf and ./ovh.conf: its values win.
    /// The API credentials come from these files and the OVH_* variables, as for okms-cli.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// A failure and the exit code it ends the process with.
struct Failure {
    exit: Exit,
    error: Error,
    context: &'static str,
}

fn fail(exit: Exit, context: &'static str) -> impl FnOnce(Error) -> Failure {
    move |error| Failure {
        exit,
        error,
        context,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckPolicy { file } => check_policy(&file),
        Command::Serve(args) => run_serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!(
                "okms-broker: {}: {}",
                failure.context,
                failure.error.with_causes()
            );
            ExitCode::from(failure.exit as u8)
        }
    }
}

fn check_policy(file: &Path) -> Result<(), Failure> {
    let policy = Policy::load(file).map_err(fail(Exit::Policy, "invalid policy"))?;
    println!(
        "{}: valid ({} domain{})",
        file.display(),
        policy.domains.len(),
        if policy.domains.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

fn run_serve(args: ServeArgs) -> Result<(), Failure> {
    let policy =
        Arc::new(Policy::load(&args.policy).map_err(fail(Exit::Policy, "invalid policy"))?);
    let identity = ServerIdentity::load(&args.tls_cert, &args.tls_key)
        .map_err(fail(Exit::Tls, "cannot use the TLS certificate"))?;
    let audit = match &args.audit_log {
        Some(path) => {
            AuditLog::append_to(path).map_err(fail(Exit::Error, "cannot open the audit log"))?
        }
        None => AuditLog::stderr(),
    };
    let config =
        load_config(&args).map_err(fail(Exit::Api, "cannot configure the OVHcloud API client"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Failure {
            exit: Exit::Error,
            error: Error::Listen {
                addr: args.listen.clone(),
                source,
            },
            context: "cannot start the async runtime",
        })?;
    runtime.block_on(async move {
        let transport = ReqwestTransport::new()
            .map_err(|e| fail(Exit::Api, "cannot set up the HTTP client")(Error::Api(e)))?;
        // Audited: each request's audit line gets the query id of every API call it made.
        // One page of up to 1,000 credentials: confirm and reconcile list whole domains.
        let client =
            Client::with_transport(config, Audited(transport), TokioClock).with_page_size(1000);
        let engine_options = EngineOptions {
            api_concurrency: args.api_concurrency,
            ..EngineOptions::default()
        };
        let engine = Engine::start(client, policy.clone(), engine_options)
            .await
            .map_err(fail(
                Exit::Api,
                "cannot read the policy's domains from the API",
            ))?;
        let mut options = ServeOptions::new(args.listen.clone(), identity, policy);
        options.policy_file = Some(args.policy.clone());
        options.audit = audit;
        options.max_in_flight = args.max_in_flight;
        options.max_connections = args.max_connections;
        serve(Arc::new(engine), options)
            .await
            .map_err(fail(Exit::Tls, "cannot serve"))
    })
}

fn load_config(args: &ServeArgs) -> Result<Config, Error> {
    let overrides = ConfigOverrides {
        endpoint: args.endpoint.clone(),
        ..ConfigOverrides::default()
    };
    let mut sources = ConfigSources::standard();
    if let Some(path) = &args.config {
        sources = sources.with_explicit_file(path);
    }
    Ok(Config::load(&overrides, &sources)?)
}
