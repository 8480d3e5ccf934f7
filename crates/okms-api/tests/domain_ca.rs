//! The domain's CA (`publicCA`, `publicRsaCA`): picked per endpoint, refused unless it is PEM
//! certificates, and fetched from the emulator whose KMS certificate chains to it.
#![cfg(feature = "reqwest")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use okms_api::{Auth, Client, Config, Domain, DomainCa, Endpoint, Error, KmsEndpoint};
use okms_emulator::{EmulatorConfig, RunningEmulator};

const OKMS: &str = "e90c5841-f39e-4983-8596-62ff0c538b6b";

fn domain(extra: &str) -> Domain {
    serde_json::from_str(&format!(
        r#"{{"id":"{OKMS}","region":"eu-west-rbx","restEndpoint":"https://eu-west-rbx.okms.ovh.net"{extra}}}"#
    ))
    .unwrap()
}

fn emulator() -> RunningEmulator {
    RunningEmulator::spawn_in_thread(EmulatorConfig::default()).unwrap()
}

#[test]
fn each_endpoint_takes_its_own_field() {
    // Two certificates in the RSA field tell the fields apart.
    let ca = emulator().info().ca_pem.clone();
    let rsa = format!("{ca}{ca}");
    let d = domain(&format!(
        r#","publicCA":{},"publicRsaCA":{}"#,
        serde_json::to_string(&ca).unwrap(),
        serde_json::to_string(&rsa).unwrap()
    ));
    for (endpoint, want) in [
        (KmsEndpoint::Rest, &ca),
        (KmsEndpoint::Kmip, &ca),
        (KmsEndpoint::KmipRsa, &rsa),
    ] {
        let got = DomainCa::from_domain(d.clone(), endpoint).unwrap();
        assert_eq!(&got.pem, want, "{endpoint:?}");
        assert_eq!(got.certificates, if want == &rsa { 2 } else { 1 });
    }
}

#[test]
fn a_field_that_is_not_pem_certificates_is_refused_by_name() {
    for (extra, endpoint, field) in [
        (
            r#","publicCA":"not a certificate""#,
            KmsEndpoint::Rest,
            "publicCA",
        ),
        (
            r#","publicRsaCA":"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n""#,
            KmsEndpoint::KmipRsa,
            "publicRsaCA",
        ),
        (
            r#","publicCA":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n""#,
            KmsEndpoint::Kmip,
            "publicCA",
        ),
        ("", KmsEndpoint::Rest, "publicCA"),
    ] {
        let e = DomainCa::from_domain(domain(extra), endpoint).unwrap_err();
        match &e {
            Error::BadDomainCa {
                field: f, okms_id, ..
            } => {
                assert_eq!(*f, field);
                assert_eq!(okms_id.to_string(), OKMS);
            }
            other => panic!("{extra}: {other:?}"),
        }
        assert!(e.to_string().contains(field), "{e}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_fetches_the_emulators_ca() {
    let emu = emulator();
    let info = emu.info();
    let client = Client::new(Config::new(
        Endpoint::parse(&info.api_url).unwrap(),
        Auth::ApplicationKey {
            application_key: info.application_key.clone(),
            application_secret: info.application_secret.as_str().into(),
            consumer_key: info.consumer_key.as_str().into(),
        },
    ))
    .unwrap();
    let ca = client
        .domain_ca(info.okms_id, KmsEndpoint::Rest)
        .await
        .unwrap();
    assert_eq!(ca.pem, info.ca_pem);
    assert_eq!(
        ca.domain.rest_endpoint.as_deref(),
        Some(info.kms_url.as_str())
    );
}
