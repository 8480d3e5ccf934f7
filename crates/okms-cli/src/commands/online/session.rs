//! Setting up an online command: the async runtime, the API configuration and client, and
//! the UUID arguments every command takes.

use std::future::Future;
use std::str::FromStr;

use okms_api::{
    Client, Config, ConfigOverrides, ConfigSources, ReqwestTransport, TokioClock, Uuid,
};

use crate::cli::GlobalArgs;
use crate::error::{CliError, CliResult, api_failure, quoted};
use crate::exit::Exit;
use crate::output::Output;

/// Runs a future on a fresh current-thread runtime.
pub(crate) fn block_on<T, F: Future<Output = CliResult<T>>>(f: F) -> CliResult<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError {
            exit: Exit::Error,
            error: anyhow::Error::new(e).context("cannot start the async runtime"),
            hint: None,
        })?;
    rt.block_on(f)
}

/// Parses a UUID argument, naming it on failure (exit 3).
pub(crate) fn parse_uuid(text: &str, what: &str) -> CliResult<Uuid> {
    Uuid::from_str(text.trim()).map_err(|_| {
        CliError::new(
            Exit::InvalidInput,
            format!(
                "invalid {what} {}: expected a UUID such as 0b5bc7d9-2f0e-4b1e-9c4e-1d6f3a2b9c8d",
                quoted(text)
            ),
        )
    })
}

/// The API configuration from the global flags, the environment and the `ovh.conf` files.
pub(crate) fn load_config(global: &GlobalArgs) -> CliResult<Config> {
    let overrides = ConfigOverrides {
        endpoint: global.endpoint.clone(),
        ..ConfigOverrides::default()
    };
    let mut sources = ConfigSources::standard();
    if let Some(path) = &global.config {
        sources = sources.with_explicit_file(path);
    }
    Config::load(&overrides, &sources)
        .map_err(|e| api_failure(e, "cannot configure the OVHcloud API client"))
}

/// A client for the configured endpoint.
pub(crate) fn client(global: &GlobalArgs, out: &Output) -> CliResult<Client> {
    let config = load_config(global)?;
    out.verbose(&format!(
        "endpoint {} ({}), authentication: {}",
        config.endpoint,
        config.endpoint.base_url(),
        config.auth.method_name()
    ));
    let transport =
        ReqwestTransport::new().map_err(|e| api_failure(e, "cannot set up the HTTP client"))?;
    let transport = match out.http_observer() {
        Some(observer) => transport.with_observer(observer),
        None => transport,
    };
    Ok(Client::with_transport(config, transport, TokioClock))
}
