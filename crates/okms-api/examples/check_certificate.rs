//! Proves an access certificate works: one mutual-TLS call to a KMS domain.
//!
//! ```sh
//! cargo run -p okms-api --example check_certificate -- https://eu-west-rbx.okms.ovh.net OKMS_ID client.cert domain.key [ca.pem]
//! ```

use okms_api::kms::{DataPlaneOutcome, MtlsCheck, check_mtls};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kms_url, okms_id, cert, key, rest @ ..] = args.as_slice() else {
        return Err("usage: check_certificate KMS_URL OKMS_ID CERT KEY [CA]".into());
    };
    let check = MtlsCheck {
        kms_url: kms_url.clone(),
        okms_id: okms_id.parse()?,
        cert_pem: std::fs::read_to_string(cert)?,
        key: std::fs::read_to_string(key)?.into(),
        ca_pem: rest.first().map(std::fs::read_to_string).transpose()?,
    };
    let answer = check_mtls(&check).await?;
    match answer.outcome {
        DataPlaneOutcome::ServiceKeys(list) => {
            println!(
                "HTTP {}: OK, {} service key(s) visible",
                answer.status,
                list.objects_list.len()
            );
        }
        DataPlaneOutcome::Error(e) => {
            println!(
                "HTTP {}: refused ({}): {}",
                answer.status,
                e.category().unwrap_or("?"),
                e.errors.join("; ")
            );
        }
        DataPlaneOutcome::Unparsed(text) => println!("HTTP {}: {text}", answer.status),
        other => println!("HTTP {}: {other:?}", answer.status),
    }
    Ok(())
}
