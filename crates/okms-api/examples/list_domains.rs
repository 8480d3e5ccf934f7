//! Lists the OKMS domains and their credentials, with credentials from `ovh.conf` / `OVH_*`.
//!
//! ```sh
//! OVH_ENDPOINT=ovh-eu OVH_CLIENT_ID=… OVH_CLIENT_SECRET=… cargo run -p okms-api --example list_domains
//! ```

use okms_api::{Client, Config, ConfigOverrides, ConfigSources};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let client = Client::new(config)?;
    for domain in client.list_domains().await? {
        println!(
            "{}  {}  {}",
            domain.id,
            domain.region,
            domain.rest_endpoint.as_deref().unwrap_or("-")
        );
        for c in client.list_credentials(domain.id).await? {
            println!(
                "    {}  {:<8}  {}  expires {}",
                c.id, c.status, c.name, c.expired_at
            );
        }
    }
    Ok(())
}
