//! An async program embedding okms-rs (Tokio and reqwest, the default features): a key and CSR
//! made offline, an access certificate created for them, written, proved with one mutual-TLS
//! call, then renewed through okms-lifecycle.
//!
//! The API and its credentials come from the usual `OVH_*` environment (or ovh.conf), the
//! domain from `OKMS_ID`; the key and certificate go to the directory given (default `.`).
//! Try it against the emulator (`okms-emulator` prints the values; see its README):
//!
//! ```sh
//! OVH_ENDPOINT=… OVH_APPLICATION_KEY=… OVH_APPLICATION_SECRET=… OVH_CONSUMER_KEY=… OKMS_ID=… \
//!   cargo run -p okms-lifecycle --example embed_async -- /tmp/embedded
//! ```

#[path = "embed/flow.rs"]
mod flow;

use std::path::PathBuf;

use okms_api::{Client, Config, ConfigOverrides, ConfigSources, ReqwestConnector, Uuid};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let okms_id: Uuid = std::env::var("OKMS_ID")?.parse()?;
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));

    let client = Client::new(config)?;
    flow::run(&client, &ReqwestConnector::new(), okms_id, &dir).await
}
