//! A blocking program embedding okms-rs, with no async runtime: okms-api's ureq transport,
//! connector and clock, each future run on this thread by `block_on`. The same flow as
//! `embed_async`: a key and CSR made offline, an access certificate created for them, written,
//! proved with one mutual-TLS call, then renewed through okms-lifecycle.
//!
//! ```sh
//! OVH_ENDPOINT=… OVH_APPLICATION_KEY=… OVH_APPLICATION_SECRET=… OVH_CONSUMER_KEY=… OKMS_ID=… \
//!   cargo run -p okms-lifecycle --no-default-features --features ureq \
//!   --example embed_blocking -- /tmp/embedded
//! ```

#[path = "embed/flow.rs"]
mod flow;

use std::path::PathBuf;

use okms_api::blocking::{BlockingClock, UreqConnector, UreqTransport, block_on};
use okms_api::{Client, Config, ConfigOverrides, ConfigSources, Uuid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let okms_id: Uuid = std::env::var("OKMS_ID")?.parse()?;
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));

    let client = Client::with_transport(config, UreqTransport::new()?, BlockingClock);
    block_on(flow::run(&client, &UreqConnector::new(), okms_id, &dir))
}
