//! A tool author's flow, with the libraries only: okms-csr makes the key and CSR, okms-api
//! submits it and waits, okms-csr reads the certificate, okms-api proves it over mutual TLS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use okms_api::kms::{MtlsCheck, check_mtls};
use okms_api::{
    Auth, Client, Config, CredentialRequest, Endpoint, IdentityUrn, Plate, SecretString, WaitPolicy,
};
use okms_csr::ExposeSecret as _;
use okms_csr::{Certificate, CsrBuilder, KeyAlgorithm, KeyFormat, PrivateKey, same_public_key};

#[tokio::test]
async fn libraries_alone_create_a_working_access_certificate() {
    let emulator = common::emulator();
    let info = emulator.info().clone();

    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CsrBuilder::new("CN=embedded".parse().unwrap())
        .build(&key)
        .unwrap();

    let config = Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: SecretString::from(info.application_secret.clone()),
            consumer_key: SecretString::from(info.consumer_key.clone()),
        },
    );
    let client = Client::new(config).unwrap();
    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();
    let request = CredentialRequest::from_csr("embedded", vec![root.into_string()], csr.to_pem())
        .with_validity(7);
    let created = client
        .create_credential(info.okms_id, &request)
        .await
        .unwrap();
    assert!(
        created.private_key_pem.is_none(),
        "no key comes back for a CSR"
    );
    let ready = client
        .wait_until_ready(
            info.okms_id,
            created.credential.id,
            &WaitPolicy::with_timeout(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let cert_pem = ready.certificate_pem.clone().unwrap();

    let cert = Certificate::from_pem(&cert_pem).unwrap();
    assert!(same_public_key(&cert.public_key(), &key.public_key()));
    assert_eq!(
        cert.credential_id(),
        Some(created.credential.id.to_string())
    );

    let key_pem = key.to_pem(KeyFormat::Pkcs8).unwrap();
    let answer = check_mtls(&MtlsCheck {
        kms_url: info.kms_url.clone(),
        okms_id: info.okms_id,
        cert_pem,
        key: SecretString::from(key_pem.expose_secret().to_owned()).into(),
        ca_pem: Some(info.ca_pem.clone()),
    })
    .await
    .unwrap();
    assert!(
        answer.is_success(),
        "the domain accepts the new certificate: {answer:?}"
    );
}
