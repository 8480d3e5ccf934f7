//! The whole flow of an embedding program, written once over any transport, clock and
//! mutual-TLS connector: `embed_async` runs it on Tokio with reqwest, `embed_blocking` on this
//! thread with ureq.

use std::error::Error;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use okms_api::kms::{PropagationWait, check_with};
use okms_api::{
    Client, ClientIdentity, ClientKey, Clock, Credential, CredentialRequest, IdentityUrn,
    KmsEndpoint, MtlsConnector, Plate, ReconcileOptions, SecretString, Transport, Uuid, WaitPolicy,
};
use okms_csr::{Certificate, CsrBuilder, ExposeSecret as _, KeyAlgorithm, KeyFormat, PrivateKey};
use okms_lifecycle::{Plan, credential_id, holds_key, rest_endpoint};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Creates an access certificate for a key made here, proves it, then renews it: the new key
/// and certificate end up in `dir` as `embedded.key` (mode 0600) and `embedded.crt`.
pub async fn run<T: Transport, C: Clock, M: MtlsConnector>(
    client: &Client<T, C>,
    connector: &M,
    okms_id: Uuid,
    dir: &Path,
) -> Result<()> {
    // Where the mutual-TLS calls go, and the CA their server certificate chains to.
    let kms_url = rest_endpoint(client, okms_id).await?;
    let ca_pem = client.domain_ca(okms_id, KmsEndpoint::Rest).await?.pem;
    // A local emulator's URL names no plate; it answers as the eu one.
    let plate = client.plate().unwrap_or(Plate::Eu);
    let root = IdentityUrn::root_account(plate, &client.me().await?.nichandle)?;

    // Key and CSR offline: the key never leaves this process but for its file.
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let csr = CsrBuilder::new("CN=embedded".parse()?).build(&key)?;
    let request = CredentialRequest::from_csr("embedded", vec![root.into_string()], csr.to_pem())
        .with_validity(30);
    let created = client.create_credential(okms_id, &request).await?;
    let settle = WaitPolicy::with_timeout(Duration::from_secs(120));
    let ready = client
        .wait_until_ready(okms_id, created.credential.id, &settle)
        .await?;
    let cert_pem = ready
        .certificate_pem
        .clone()
        .ok_or("READY without a certificate")?;
    // The subject is OKMS's choice, not the CSR's CN: the credential is named by the serial.
    let cert = Certificate::from_pem(&cert_pem)?;
    println!("credential {} READY: subject {}", ready.id, cert.subject());
    if credential_id(&cert) != Some(ready.id) {
        return Err("the certificate names another credential".into());
    }
    deploy(dir, &key, &cert_pem)?;

    // One mutual-TLS call with the new pair.
    let identity = ClientIdentity {
        cert_pem,
        key: client_key(&key)?,
    };
    let transport = connector.connect(identity, Some(&ca_pem))?;
    let answer = check_with(&transport, &kms_url, okms_id).await?;
    if !answer.is_success() {
        return Err(format!("the KMS refused the new certificate: {answer:?}").into());
    }
    println!("the KMS accepts credential {}", ready.id);

    renew(client, connector, okms_id, &ready, &kms_url, &ca_pem, dir).await
}

/// The renewal through okms-lifecycle's state machine: create once, READY, prove, deploy,
/// revoke the old credential; any step before deployment that fails revokes the new one.
async fn renew<T: Transport, C: Clock, M: MtlsConnector>(
    client: &Client<T, C>,
    connector: &M,
    okms_id: Uuid,
    old: &Credential,
    kms_url: &str,
    ca_pem: &str,
    dir: &Path,
) -> Result<()> {
    let new_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let csr = CsrBuilder::new("CN=embedded".parse()?).build(&new_key)?;
    let plan = Plan::for_credential(client, okms_id, old.id, csr.to_pem()).await?;
    // How a lost create answer is recognised: the candidate's certificate holds the new key.
    let holds_new_key = holds_key(new_key.public_key());
    let is_ours = |c: &Credential| holds_new_key(c.certificate_pem.as_deref()?);
    let created = plan
        .create(client, &is_ours, &ReconcileOptions::default(), &|_| {})
        .await?;
    let settle = WaitPolicy::with_timeout(Duration::from_secs(120));
    let ready = match created.wait_ready(client, &settle).await {
        Ok(ready) => ready,
        Err(e) => {
            created.abandon(client, &settle).await?;
            return Err(e.into());
        }
    };
    let proof = ready
        .prove_within(
            connector,
            kms_url,
            client_key(&new_key)?,
            Some(ca_pem.to_owned()),
            client.clock(),
            PropagationWait::default(),
            |_| {},
        )
        .await;
    let proved = match proof {
        Ok(proved) => proved,
        Err(e) => {
            ready.abandon(client, &settle).await?;
            return Err(e.into());
        }
    };
    if let Err(e) = deploy(dir, &new_key, proved.certificate_pem()) {
        proved.abandon(client, &settle).await?;
        return Err(e);
    }
    let renewed = proved.finish(client, false).await?;
    println!("credential {} replaced {}", renewed.new.id, renewed.old_id);
    Ok(())
}

/// The key as the TLS stack takes it.
fn client_key(key: &PrivateKey) -> Result<ClientKey> {
    let pem = key.to_pem(KeyFormat::Pkcs8)?;
    Ok(SecretString::from(pem.expose_secret().to_owned()).into())
}

/// Writes the key (0600, created so: never readable by others, not even for a moment) and
/// the certificate beside it, each through a temporary file renamed over the deployed one.
fn deploy(dir: &Path, key: &PrivateKey, cert_pem: &str) -> Result<()> {
    let key_pem = key.to_pem(KeyFormat::Pkcs8)?;
    replace(
        &dir.join("embedded.key"),
        key_pem.expose_secret().as_bytes(),
        0o600,
    )?;
    replace(&dir.join("embedded.crt"), cert_pem.as_bytes(), 0o644)?;
    Ok(())
}

fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut temporary = PathBuf::from(path);
    temporary.set_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
