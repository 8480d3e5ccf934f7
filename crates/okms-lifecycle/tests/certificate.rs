//! The bridges from an issued certificate to what a renewal works with, on a certificate the
//! emulator issued as OKMS does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client, emulator, key_and_csr, old_credential, settle};
use okms_api::{CredentialRequest, IdentityUrn, Plate};
use okms_csr::Certificate;
use okms_lifecycle::{Lifetime, credential_id, holds_key, okms_domain};

#[tokio::test]
async fn an_issued_certificate_names_its_credential_domain_and_lifetime() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let credential = old_credential(&emu, &client).await;
    let cert = Certificate::from_pem(credential.certificate_pem.as_deref().unwrap()).unwrap();

    assert_eq!(credential_id(&cert), Some(credential.id));
    assert_eq!(okms_domain(&cert), Some(info.okms_id));
    let lifetime = Lifetime::of_certificate(&cert).unwrap();
    assert_eq!(lifetime.not_before, cert.not_before());
    assert_eq!(lifetime.not_after, cert.not_after());
    assert_eq!(lifetime.validity_days(), 30);
}

#[tokio::test]
async fn holds_key_tells_the_certificate_of_my_key_from_another_and_from_garbage() {
    let emu = emulator();
    let client = client(&emu);
    let info = emu.info().clone();
    let (key, csr) = key_and_csr();
    let root = IdentityUrn::root_account(Plate::Eu, &info.nic).unwrap();
    let request = CredentialRequest::from_csr("mine", vec![root.into_string()], csr);
    let created = client
        .create_credential(info.okms_id, &request)
        .await
        .unwrap();
    let ready = client
        .wait_until_ready(info.okms_id, created.credential.id, &settle())
        .await
        .unwrap();
    let pem = ready.certificate_pem.unwrap();

    assert_eq!(holds_key(key.public_key())(&pem), Some(true));
    let (other, _) = key_and_csr();
    assert_eq!(holds_key(other.public_key())(&pem), Some(false));
    // Cannot tell: reconciliation must not count it as ours, nor as not ours.
    assert_eq!(holds_key(key.public_key())("not a certificate"), None);
}

#[test]
fn a_certificate_okms_did_not_issue_names_no_credential() {
    // A CA certificate: a 20-byte serial, as other CAs issue, and no okms.domain name.
    let pem = include_str!("../../../fuzz/corpus/certificate_inspect/ca-self-signed.pem");
    let cert = Certificate::from_pem(pem).unwrap();
    assert_eq!(credential_id(&cert), None);
    assert_eq!(okms_domain(&cert), None);
}
