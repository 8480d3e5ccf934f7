//! okms-api in a program with no async runtime (feature `ureq`): the client over the blocking
//! transport, its futures run on this thread by `block_on`.
//!
//! ```sh
//! OVH_ENDPOINT=ovh-eu OVH_APPLICATION_KEY=… OVH_APPLICATION_SECRET=… OVH_CONSUMER_KEY=… \
//!   cargo run -p okms-api --no-default-features --features ureq --example blocking_ureq
//! ```

use okms_api::blocking::{BlockingClock, UreqTransport, block_on};
use okms_api::sans_io::{RequestAuth, build_request, ops, parse_auth_time};
use okms_api::{Client, Config, ConfigOverrides, ConfigSources};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let transport = UreqTransport::new()?;

    // The sans-IO core by hand: one request, one answer.
    let request = build_request(&config.endpoint, &ops::auth_time(), &RequestAuth::None)?;
    let server_time = parse_auth_time(&transport.send_blocking(request)?)?;
    println!("server time: {server_time} (Unix seconds)");

    // The client (signing, clock sync, retries, pagination) over the same transport.
    let client = Client::with_transport(config, transport, BlockingClock);
    for domain in block_on(client.list_domains())? {
        println!("{}  {}", domain.id, domain.region);
    }
    Ok(())
}
