//! Keys generated on, and CSRs signed by, a SoftHSM2 token. See `common` for how each test
//! gets its own token (and why it runs in a child process).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Env, PIN, TOKEN, with_token};
use okms_csr::{CsrBuilder, DistinguishedName, KeyAlgorithm, same_public_key};
use okms_pkcs11::{Error, Module, Pin, Pkcs11Uri, Token};
use okms_test_support::interop::{self, Openssl};

fn uri(s: &str) -> Pkcs11Uri {
    s.parse().unwrap()
}

fn login(env: &Env) -> (Module, Token) {
    let module = Module::load(&env.module).unwrap();
    let token = module
        .select_token(&uri(&format!("pkcs11:token={TOKEN}")))
        .unwrap();
    let session = module.login(&token, Some(&Pin::from(PIN))).unwrap();
    (module, session)
}

/// [`generate_and_sign`] in the test `test` on a fresh token. Without openssl its checks of
/// the CSRs are skipped, loudly, and the token checks still run.
fn generate_and_sign_on_fresh_token(test: &str, alg: KeyAlgorithm) {
    let openssl = interop::openssl("the openssl checks of the CSRs signed on a token");
    with_token(test, |env| generate_and_sign(env, alg, openssl));
}

/// Generates `alg` on the token, signs a CSR there, and checks everything the issue asks.
fn generate_and_sign(env: &Env, alg: KeyAlgorithm, openssl: Option<Openssl>) {
    let openssl_verify_csr = |pem: &str| {
        if let Some(openssl) = openssl {
            common::openssl_verify_csr(openssl, pem);
        }
    };
    let (module, token) = login(env);
    let label = format!("okms-{alg}");
    let base = uri(&format!("pkcs11:token={TOKEN};object={label}"));
    let key = token.generate_key(alg, &label, None, &base).unwrap();
    assert_eq!(key.algorithm, alg);
    assert_eq!(key.label, label);
    assert_eq!(key.id.len(), 16);
    assert_eq!(key.sensitive, Some(true), "CKA_SENSITIVE");
    assert_eq!(key.extractable, Some(false), "CKA_EXTRACTABLE");
    assert_eq!(key.public_key.algorithm().unwrap(), alg);
    let printed = key.uri.to_string();
    assert!(
        printed.starts_with(&format!("pkcs11:token={TOKEN};object={label};id=%")),
        "{printed}"
    );
    assert!(printed.ends_with(";type=private"), "{printed}");

    // Read the attributes back with cryptoki directly, not through this crate.
    check_private_key_object(env, &label, alg);

    // A new session finds the key by the URI printed for it and signs there.
    drop(token);
    let token = module
        .login(
            &module.select_token(&key.uri).unwrap(),
            Some(&Pin::from(PIN)),
        )
        .unwrap();
    let listing = token.keys(&base).unwrap();
    let listed = listing.usable.iter().find(|k| k.label == label).unwrap();
    assert_eq!(listed.extractable, Some(false));
    assert_eq!(listed.sensitive, Some(true));
    let signer = token.into_signer(&uri(&printed)).unwrap();
    let subject: DistinguishedName = "CN=app1,O=Example,C=FR".parse().unwrap();
    let csr = CsrBuilder::new(subject)
        .san("dns:app1.example.com".parse().unwrap())
        .build(&signer)
        .unwrap();
    csr.verify().unwrap();
    assert!(same_public_key(&csr.public_key(), &key.public_key));
    assert_eq!(csr.info().key_algorithm, alg.as_str());
    openssl_verify_csr(&csr.to_pem());

    // A second CSR with the same signer; for RSA also through the CKM_RSA_PKCS fallback,
    // which must give the very same PKCS#1 v1.5 signature as CKM_SHA256_RSA_PKCS.
    let mut signer = signer;
    let again = CsrBuilder::new("CN=app2".parse().unwrap())
        .build(&signer)
        .unwrap();
    again.verify().unwrap();
    openssl_verify_csr(&again.to_pem());
    if alg.is_rsa() {
        signer.force_raw_rsa_pkcs();
        let raw = CsrBuilder::new("CN=app2".parse().unwrap())
            .build(&signer)
            .unwrap();
        raw.verify().unwrap();
        openssl_verify_csr(&raw.to_pem());
        assert_eq!(raw.to_der(), again.to_der(), "PKCS#1 v1.5 is deterministic");
    }
}

/// The private key object, as the token reports it through plain cryptoki calls: a private
/// token object, sensitive, not extractable, never extractable, and its secret value cannot be
/// read.
fn check_private_key_object(env: &Env, label: &str, alg: KeyAlgorithm) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let ctx = Pkcs11::new(&env.module).unwrap();
    // Already initialized by this process's Module: that answer is fine.
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login: {e}"),
    }
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1);
    let secret = if alg.is_rsa() {
        AttributeType::PrivateExponent
    } else {
        AttributeType::Value
    };
    let attrs = session
        .get_attributes(
            found[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sign,
                secret,
            ],
        )
        .unwrap();
    let mut seen = Vec::new();
    for a in attrs {
        match a {
            Attribute::Sensitive(b) => assert!(b, "CKA_SENSITIVE"),
            Attribute::Extractable(b) => assert!(!b, "CKA_EXTRACTABLE"),
            Attribute::NeverExtractable(b) => assert!(b, "CKA_NEVER_EXTRACTABLE"),
            Attribute::Token(b) => assert!(b, "CKA_TOKEN"),
            Attribute::Private(b) => assert!(b, "CKA_PRIVATE"),
            Attribute::Sign(b) => assert!(b, "CKA_SIGN"),
            Attribute::Value(v) | Attribute::PrivateExponent(v) => {
                panic!("the token gave out the private key ({} bytes)", v.len())
            }
            _ => {}
        }
        seen.push(a.attribute_type());
    }
    assert_eq!(seen.len(), 6, "attributes read: {seen:?}");
}

#[test]
fn p256_on_token() {
    generate_and_sign_on_fresh_token("p256_on_token", KeyAlgorithm::EcdsaP256);
}

#[test]
fn p384_on_token() {
    generate_and_sign_on_fresh_token("p384_on_token", KeyAlgorithm::EcdsaP384);
}

#[test]
fn p521_on_token() {
    generate_and_sign_on_fresh_token("p521_on_token", KeyAlgorithm::EcdsaP521);
}

#[test]
fn rsa2048_on_token() {
    generate_and_sign_on_fresh_token("rsa2048_on_token", KeyAlgorithm::Rsa2048);
}

#[test]
fn rsa3072_on_token() {
    generate_and_sign_on_fresh_token("rsa3072_on_token", KeyAlgorithm::Rsa3072);
}

/// The one RSA-4096 test (SoftHSM2 takes seconds to generate it).
#[test]
fn rsa4096_on_token() {
    generate_and_sign_on_fresh_token("rsa4096_on_token", KeyAlgorithm::Rsa4096);
}

#[test]
fn explicit_id_and_duplicates_refused() {
    with_token("explicit_id_and_duplicates_refused", |env| {
        let (_m, token) = login(env);
        let base = uri(&format!("pkcs11:token={TOKEN};object=k1;id=%01%02"));
        let key = token
            .generate_key(KeyAlgorithm::EcdsaP256, "k1", base.id.as_deref(), &base)
            .unwrap();
        assert_eq!(key.id, [1, 2]);
        assert!(key.uri.to_string().contains("id=%01%02"), "{}", key.uri);

        let err = token
            .generate_key(KeyAlgorithm::EcdsaP256, "k1", None, &base)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyExists {
                    attribute: "label",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("k1"), "{err}");

        let err = token
            .generate_key(KeyAlgorithm::EcdsaP384, "k2", Some(&[1, 2]), &base)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyExists {
                    attribute: "id",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("0102"), "{err}");

        // Nothing was created by the refused calls, and the first key is intact.
        let listing = token.keys(&base).unwrap();
        assert_eq!(listing.usable.len(), 1);
        assert_eq!(listing.usable[0].public_key, key.public_key);

        let err = token
            .generate_key(KeyAlgorithm::EcdsaP256, "", None, &base)
            .unwrap_err();
        assert!(matches!(err, Error::MissingUriAttribute { .. }), "{err}");
    });
}

#[test]
fn wrong_pin_is_named() {
    with_token("wrong_pin_is_named", |env| {
        let module = Module::load(&env.module).unwrap();
        let token = module.select_token(&uri("pkcs11:token=okms-test")).unwrap();
        let err = module.login(&token, Some(&Pin::from("0000"))).unwrap_err();
        assert!(matches!(err, Error::Login { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("wrong PIN") && msg.contains(TOKEN), "{msg}");
        assert!(!msg.contains("0000"), "the PIN leaked: {msg}");

        let err = module.login(&token, None).unwrap_err();
        assert!(matches!(err, Error::PinRequired { .. }), "{err}");
        // The right PIN still works afterwards.
        module.login(&token, Some(&Pin::from(PIN))).unwrap();
    });
}

#[test]
fn key_and_token_not_found() {
    with_token("key_and_token_not_found", |env| {
        let (module, token) = login(env);
        token
            .generate_key(KeyAlgorithm::EcdsaP256, "present", None, &uri("pkcs11:"))
            .unwrap();
        let err = token
            .find_key(&uri(&format!("pkcs11:token={TOKEN};object=absent")))
            .unwrap_err();
        assert!(matches!(err, Error::KeyNotFound { .. }), "{err}");
        assert!(err.to_string().contains("object=absent"), "{err}");

        let err = token
            .find_key(&uri("pkcs11:object=present;type=cert"))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidUri { ref attribute, .. } if attribute == "type"),
            "{err}"
        );

        // With one key and no object= the key is found; a second key makes it ambiguous.
        token.find_key(&uri("pkcs11:")).unwrap();
        token
            .generate_key(KeyAlgorithm::EcdsaP256, "second", None, &uri("pkcs11:"))
            .unwrap();
        let err = token.find_key(&uri("pkcs11:")).unwrap_err();
        assert!(matches!(err, Error::AmbiguousKey { count: 2, .. }), "{err}");

        let err = module.select_token(&uri("pkcs11:token=nope")).unwrap_err();
        assert!(matches!(err, Error::NoToken { .. }), "{err}");
        assert!(
            err.to_string().contains("\"okms-test\""),
            "lists the tokens: {err}"
        );

        let err = module
            .select_token(&uri("pkcs11:library-manufacturer=Nobody"))
            .unwrap_err();
        assert!(matches!(err, Error::NoToken { .. }), "{err}");
        module
            .select_token(&uri("pkcs11:library-manufacturer=SoftHSM;token=okms-test"))
            .unwrap();
    });
}

#[test]
fn module_errors_are_named() {
    // No token needed: these fail before any module is loaded.
    let err = Module::load("/nonexistent/libnothing.so").unwrap_err();
    assert!(matches!(err, Error::ModuleNotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/libnothing.so") && msg.contains("softhsm2"),
        "{msg}"
    );

    // A file that is not a shared library.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.so");
    std::fs::write(&fake, "not a library").unwrap();
    let err = Module::load(&fake).unwrap_err();
    assert!(matches!(err, Error::ModuleLoad { .. }), "{err}");

    let err =
        okms_pkcs11::resolve_module_path(None, Some(&uri("pkcs11:object=x")), None).unwrap_err();
    assert!(matches!(err, Error::NoModule { .. }), "{err}");
    assert!(err.to_string().contains("OKMS_PKCS11_MODULE"), "{err}");

    // Precedence: flag, then the URI, then the environment.
    let with_path = uri("pkcs11:object=x?module-path=/from/uri.so");
    let env = std::ffi::OsStr::new("/from/env.so");
    assert_eq!(
        okms_pkcs11::resolve_module_path(
            Some("/from/flag.so".as_ref()),
            Some(&with_path),
            Some(env)
        )
        .unwrap(),
        std::path::Path::new("/from/flag.so")
    );
    assert_eq!(
        okms_pkcs11::resolve_module_path(None, Some(&with_path), Some(env)).unwrap(),
        std::path::Path::new("/from/uri.so")
    );
    assert_eq!(
        okms_pkcs11::resolve_module_path(None, Some(&uri("pkcs11:")), Some(env)).unwrap(),
        std::path::Path::new("/from/env.so")
    );
}
