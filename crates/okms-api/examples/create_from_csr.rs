//! Submits a CSR for an OKMS access certificate, waits until it is issued, prints it.
//!
//! ```sh
//! cargo run -p okms-api --example create_from_csr -- OKMS_ID client.csr
//! ```
//! The identity is the account root of the caller (from `/v1/me`).

use std::time::Duration;

use okms_api::{
    Client, Config, ConfigOverrides, ConfigSources, CredentialRequest, Error, IdentityUrn, Plate,
    WaitPolicy,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(okms_id), Some(csr_path)) = (args.next(), args.next()) else {
        return Err("usage: create_from_csr OKMS_ID CSR_FILE".into());
    };
    let okms_id = okms_id.parse()?;
    let csr = std::fs::read_to_string(csr_path)?;

    let config = Config::load(&ConfigOverrides::default(), &ConfigSources::standard())?;
    let client = Client::new(config)?;
    let plate = client.plate().unwrap_or(Plate::Eu);
    let nic = client.me().await?.nichandle;
    let urn = IdentityUrn::root_account(plate, &nic)?;

    let request = CredentialRequest::from_csr("example", vec![urn.into_string()], csr)
        .with_description("created by the okms-api example")
        .with_validity(30);
    let created = match client.create_credential(okms_id, &request).await {
        Ok(c) => c,
        Err(e @ Error::CreateOutcomeUnknown { .. }) => {
            // Never repeat the POST blindly: look for what the server did.
            if let Error::CreateOutcomeUnknown { name, sent_at, .. } = &e {
                let since = *sent_at - Duration::from_secs(300);
                let found = client
                    .find_credentials_by_name(okms_id, name, since)
                    .await?;
                eprintln!(
                    "outcome unknown; {} matching credential(s) found",
                    found.len()
                );
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let id = created.credential.id;
    eprintln!("credential {id} created, waiting for the certificate…");
    let ready = client
        .wait_until_ready(
            okms_id,
            id,
            &WaitPolicy::with_timeout(Duration::from_secs(300)),
        )
        .await?;
    print!("{}", ready.certificate_pem.unwrap_or_default());
    Ok(())
}
