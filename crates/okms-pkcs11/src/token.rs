//! A logged-in session on one token: finding, listing and generating its keys.

use std::fmt;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::Ulong;
use okms_csr::{KeyAlgorithm, PublicKey};

use crate::description::TokenDescription;
use crate::encoding;
use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::uri::Pkcs11Uri;

/// A logged-in session on one token.
///
/// The fields are the crate's: [`Module::login`](crate::Module::login) fills them and
/// [`TokenSigner`](crate::TokenSigner) signs with them.
pub struct Token {
    pub(crate) session: Session,
    pub(crate) token: TokenDescription,
    pub(crate) pin: Option<Pin>,
    pub(crate) mechanisms: Vec<MechanismType>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A private key on the token, with what is known about it.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// The key algorithm and size.
    pub algorithm: KeyAlgorithm,
    /// The matching public key.
    pub public_key: PublicKey,
    /// A URI naming this key (token, object, id, `type=private`; the module path of the URI
    /// used to reach it, never a PIN).
    pub uri: Pkcs11Uri,
    /// `CKA_SENSITIVE` (`None` if the token does not say).
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE` (`None` if the token does not say).
    pub extractable: Option<bool>,
    /// `CKA_ALWAYS_AUTHENTICATE`: the PIN is needed again for each signature.
    pub always_authenticate: bool,
    pub(crate) handle: ObjectHandle,
}

/// A private key that cannot be used here, and why.
#[derive(Clone, Debug)]
pub struct SkippedKey {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// Why it is not usable (unsupported type or size, no public key...).
    pub reason: String,
}

/// The private keys on a token.
#[derive(Clone, Debug, Default)]
pub struct KeyListing {
    /// Keys this crate can sign with.
    pub usable: Vec<KeyInfo>,
    /// Other private keys.
    pub skipped: Vec<SkippedKey>,
}

fn text_attr(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

impl Token {
    /// The token this session is on.
    pub fn description(&self) -> &TokenDescription {
        &self.token
    }

    fn find(&self, template: &[Attribute]) -> Result<Vec<ObjectHandle>> {
        self.session
            .find_objects(template)
            .map_err(Error::pkcs11("C_FindObjects"))
    }

    /// Generates a key pair on the token: a token object, private, sensitive, not
    /// extractable, usable only to sign, with label `label` and id `id` (16 random bytes when
    /// `None`). `base` supplies the module path for the returned key's URI.
    ///
    /// Refuses when any object on the token already has that label or id: keys on a token
    /// are never replaced.
    ///
    /// # Errors
    /// [`Error::KeyExists`], [`Error::KeyPolicy`] (the token did not honour sensitive /
    /// non-extractable; the new key is destroyed), [`Error::Pkcs11`].
    pub fn generate_key(
        &self,
        alg: KeyAlgorithm,
        label: &str,
        id: Option<&[u8]>,
        base: &Pkcs11Uri,
    ) -> Result<KeyInfo> {
        if label.is_empty() {
            return Err(Error::MissingUriAttribute {
                what: "a non-empty object= label",
                hint: "name the new key, e.g. pkcs11:token=mytoken;object=okms-client",
            });
        }
        if !self
            .find(&[Attribute::Label(label.as_bytes().to_vec())])?
            .is_empty()
        {
            return Err(Error::KeyExists {
                token: self.token.label.clone(),
                attribute: "label",
                value: label.to_owned(),
            });
        }
        let id = match id {
            Some(id) if !id.is_empty() => id.to_vec(),
            Some(_) => {
                return Err(Error::uri("id", "the id of a new key must not be empty"));
            }
            None => {
                let mut id = vec![0u8; 16];
                getrandom::fill(&mut id).map_err(|e| Error::Random(e.to_string()))?;
                id
            }
        };
        if !self.find(&[Attribute::Id(id.clone())])?.is_empty() {
            return Err(Error::KeyExists {
                token: self.token.label.clone(),
                attribute: "id",
                value: hex::encode(&id),
            });
        }

        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(private),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ]
        };
        let mut public = common(false);
        public.push(Attribute::Verify(true));
        let mut private = common(true);
        private.extend([
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        let mechanism = if alg.is_rsa() {
            // CK_ULONG is 32 bits on Windows and 64 elsewhere: converted from usize directly.
            let bits = Ulong::try_from(alg.key_bits())
                .map_err(|_| Error::UnsupportedKey(format!("{alg}: key size out of range")))?;
            public.extend([
                Attribute::ModulusBits(bits),
                Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                Attribute::Encrypt(false),
                Attribute::Wrap(false),
            ]);
            private.extend([Attribute::Decrypt(false), Attribute::Unwrap(false)]);
            Mechanism::RsaPkcsKeyPairGen
        } else {
            public.push(Attribute::EcParams(encoding::ec_params(alg)?));
            private.push(Attribute::Derive(false));
            Mechanism::EccKeyPairGen
        };
        let (pub_handle, priv_handle) = self
            .session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(Error::pkcs11("C_GenerateKeyPair"))?;

        let destroy = || {
            let _ = self.session.destroy_object(priv_handle);
            let _ = self.session.destroy_object(pub_handle);
        };
        let key = match self.key_info(priv_handle, base) {
            Ok(k) => k,
            Err(e) => {
                destroy();
                return Err(e);
            }
        };
        if key.sensitive != Some(true) || key.extractable != Some(false) {
            destroy();
            return Err(Error::KeyPolicy {
                token: self.token.label.clone(),
                label: label.to_owned(),
                detail: format!(
                    "CKA_SENSITIVE {:?}, CKA_EXTRACTABLE {:?}",
                    key.sensitive, key.extractable
                ),
            });
        }
        if key.algorithm != alg {
            destroy();
            return Err(Error::UnsupportedKey(format!(
                "asked the token for {alg} and got {}; the key was destroyed",
                key.algorithm
            )));
        }
        Ok(key)
    }

    /// The private keys on the token, split into usable and skipped ones. `base` supplies
    /// the module path for the keys' URIs.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when the token fails to answer.
    pub fn keys(&self, base: &Pkcs11Uri) -> Result<KeyListing> {
        let mut listing = KeyListing::default();
        for handle in self.find(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
            match self.key_info(handle, base) {
                Ok(k) => listing.usable.push(k),
                Err(e @ (Error::UnsupportedKey(_) | Error::MalformedAttribute { .. })) => {
                    let (label, id) = self.label_and_id(handle)?;
                    listing.skipped.push(SkippedKey {
                        label,
                        id,
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        listing
            .usable
            .sort_by(|a, b| (&a.label, &a.id).cmp(&(&b.label, &b.id)));
        Ok(listing)
    }

    /// The one private key the URI's `object=` / `id=` select.
    ///
    /// # Errors
    /// [`Error::KeyNotFound`], [`Error::AmbiguousKey`], [`Error::InvalidUri`] for a `type=`
    /// other than `private`, [`Error::UnsupportedKey`].
    pub fn find_key(&self, uri: &Pkcs11Uri) -> Result<KeyInfo> {
        uri.require_private()?;
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = self.find(&template)?;
        let shown = uri.without_pin().to_string();
        match found.as_slice() {
            [one] => self.key_info(*one, uri),
            [] => Err(Error::KeyNotFound {
                token: self.token.label.clone(),
                uri: shown,
            }),
            many => Err(Error::AmbiguousKey {
                token: self.token.label.clone(),
                uri: shown,
                count: many.len(),
            }),
        }
    }

    /// Gives the key `key` (its private key object and the public key objects that pair with
    /// it) the label `new_label`, with `C_SetAttributeValue` on `CKA_LABEL` only: the key stays
    /// sensitive and non-extractable, and keeps its id. Returns the key as now labelled.
    ///
    /// A renewal swaps labels this way so that a deployed URI (`object=LABEL`) names the new
    /// key. It does not check that `new_label` is free: the caller decides whether two keys may
    /// share a label for a moment.
    ///
    /// # Errors
    /// [`Error::Relabel`] when the token refuses; the objects already relabelled are put back,
    /// and the error says which label each object has in the end.
    /// [`Error::MissingUriAttribute`] for an empty `new_label`.
    pub fn relabel_key(&self, key: &KeyInfo, new_label: &str, base: &Pkcs11Uri) -> Result<KeyInfo> {
        if new_label.is_empty() {
            return Err(Error::MissingUriAttribute {
                what: "a non-empty object= label",
                hint: "give the key a label, e.g. okms-client",
            });
        }
        let mut objects = vec![(key.handle, "private key")];
        objects.extend(
            self.public_objects(&key.label, &key.id)?
                .into_iter()
                .map(|h| (h, "public key")),
        );
        let set = |handle: ObjectHandle, label: &str| {
            self.session
                .update_attributes(handle, &[Attribute::Label(label.as_bytes().to_vec())])
        };
        for (done, (handle, what)) in objects.iter().enumerate() {
            let Err(source) = set(*handle, new_label) else {
                continue;
            };
            let mut stuck = Vec::new();
            for (back, back_what) in objects[..done].iter().rev() {
                if set(*back, &key.label).is_err() {
                    stuck.push(*back_what);
                }
            }
            let state = if done == 0 {
                format!(
                    "nothing was changed: the key is still labelled {:?}",
                    key.label
                )
            } else if stuck.is_empty() {
                format!(
                    "the objects already relabelled were put back: the key is still labelled {:?}",
                    key.label
                )
            } else {
                format!(
                    "putting the label back failed too: the key's {} kept the new label {new_label:?}, its other objects (its {what} among them) have {:?}",
                    stuck.join(" and "),
                    key.label
                )
            };
            return Err(Error::Relabel {
                token: self.token.label.clone(),
                from: key.label.clone(),
                to: new_label.to_owned(),
                state,
                restored: stuck.is_empty(),
                source: Box::new(source),
            });
        }
        self.key_info(key.handle, base)
    }

    /// Destroys a key pair: its private key object and the public key objects that pair with
    /// it. For undoing [`Token::generate_key`] when the key is no longer wanted (a renewal
    /// whose new credential was revoked); a key that may certify a live credential must not
    /// be given here.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] (`C_DestroyObject`); objects destroyed before the failure stay
    /// destroyed.
    pub fn destroy_key(&self, key: &KeyInfo) -> Result<()> {
        let publics = self.public_objects(&key.label, &key.id)?;
        self.session
            .destroy_object(key.handle)
            .map_err(Error::pkcs11("C_DestroyObject"))?;
        for handle in publics {
            self.session
                .destroy_object(handle)
                .map_err(Error::pkcs11("C_DestroyObject"))?;
        }
        Ok(())
    }

    fn label_and_id(&self, handle: ObjectHandle) -> Result<(String, Vec<u8>)> {
        let attrs = self
            .session
            .get_attributes(handle, &[AttributeType::Label, AttributeType::Id])
            .map_err(Error::pkcs11("C_GetAttributeValue"))?;
        let mut label = String::new();
        let mut id = Vec::new();
        for a in attrs {
            match a {
                Attribute::Label(v) => label = text_attr(&v),
                Attribute::Id(v) => id = v,
                _ => {}
            }
        }
        Ok((label, id))
    }

    fn key_info(&self, handle: ObjectHandle, base: &Pkcs11Uri) -> Result<KeyInfo> {
        let attrs = self
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysAuthenticate,
                    AttributeType::EcParams,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                    AttributeType::PublicKeyInfo,
                ],
            )
            .map_err(Error::pkcs11("C_GetAttributeValue"))?;
        let mut key_type = None;
        let (mut label, mut id) = (String::new(), Vec::new());
        let (mut sensitive, mut extractable, mut always_authenticate) = (None, None, false);
        let (mut params, mut modulus, mut exponent, mut spki) = (None, None, None, None);
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Label(v) => label = text_attr(&v),
                Attribute::Id(v) => id = v,
                Attribute::Sensitive(b) => sensitive = Some(b),
                Attribute::Extractable(b) => extractable = Some(b),
                Attribute::AlwaysAuthenticate(b) => always_authenticate = b,
                Attribute::EcParams(v) if !v.is_empty() => params = Some(v),
                Attribute::Modulus(v) if !v.is_empty() => modulus = Some(v),
                Attribute::PublicExponent(v) if !v.is_empty() => exponent = Some(v),
                Attribute::PublicKeyInfo(v) if !v.is_empty() => spki = Some(v),
                _ => {}
            }
        }

        let (algorithm, public_key) = match key_type {
            Some(KeyType::EC) => {
                let params = params.ok_or_else(|| Error::MalformedAttribute {
                    attribute: "CKA_EC_PARAMS",
                    reason: "the EC private key does not say its curve".to_owned(),
                })?;
                let alg = encoding::curve_from_params(&params)?;
                let public = match spki {
                    Some(der) => encoding::spki_from_token(alg, &der)?,
                    None => {
                        let point = self.public_ec_point(&label, &id, &params)?;
                        encoding::ec_spki(alg, &encoding::ec_point(alg, &point)?)?
                    }
                };
                (alg, public)
            }
            Some(KeyType::RSA) => {
                let modulus = modulus.ok_or_else(|| Error::MalformedAttribute {
                    attribute: "CKA_MODULUS",
                    reason: "the RSA private key does not give its modulus".to_owned(),
                })?;
                let alg = encoding::rsa_algorithm(&modulus)?;
                let public = match (spki, exponent) {
                    (Some(der), _) => encoding::spki_from_token(alg, &der)?,
                    (None, Some(e)) => encoding::rsa_spki(&modulus, &e)?,
                    (None, None) => {
                        let e = self.public_rsa_exponent(&label, &id, &modulus)?;
                        encoding::rsa_spki(&modulus, &e)?
                    }
                };
                (alg, public)
            }
            Some(other) => {
                return Err(Error::UnsupportedKey(format!(
                    "{other} key; only ECDSA (P-256, P-384, P-521) and RSA (2048, 3072, 4096) keys can sign CSRs"
                )));
            }
            None => {
                return Err(Error::MalformedAttribute {
                    attribute: "CKA_KEY_TYPE",
                    reason: "the private key does not say its type".to_owned(),
                });
            }
        };

        let uri = Pkcs11Uri {
            token: Some(self.token.label.clone()),
            object: (!label.is_empty()).then(|| label.clone()),
            id: (!id.is_empty()).then(|| id.clone()),
            object_type: Some(crate::uri::ObjectType::Private),
            module_path: base.module_path.clone(),
            ..Pkcs11Uri::default()
        };
        Ok(KeyInfo {
            label,
            id,
            algorithm,
            public_key,
            uri,
            sensitive,
            extractable,
            always_authenticate,
            handle,
        })
    }

    /// The public key objects that pair with a private key: same id if it has one, else same
    /// label.
    fn public_objects(&self, label: &str, id: &[u8]) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        if !id.is_empty() {
            template.push(Attribute::Id(id.to_vec()));
        } else if !label.is_empty() {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        } else {
            return Ok(Vec::new());
        }
        self.find(&template)
    }

    fn no_public(label: &str) -> Error {
        Error::UnsupportedKey(format!(
            "the private key {label:?} has no public key object (same id or label) on the token, and the token does not give CKA_PUBLIC_KEY_INFO"
        ))
    }

    fn public_ec_point(&self, label: &str, id: &[u8], params: &[u8]) -> Result<Vec<u8>> {
        for handle in self.public_objects(label, id)? {
            let attrs = self
                .session
                .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
                .map_err(Error::pkcs11("C_GetAttributeValue"))?;
            let (mut p, mut point) = (None, None);
            for a in attrs {
                match a {
                    Attribute::EcParams(v) => p = Some(v),
                    Attribute::EcPoint(v) => point = Some(v),
                    _ => {}
                }
            }
            if let (Some(p), Some(point)) = (p, point)
                && p == params
            {
                return Ok(point);
            }
        }
        Err(Self::no_public(label))
    }

    fn public_rsa_exponent(&self, label: &str, id: &[u8], modulus: &[u8]) -> Result<Vec<u8>> {
        for handle in self.public_objects(label, id)? {
            let attrs = self
                .session
                .get_attributes(
                    handle,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
                .map_err(Error::pkcs11("C_GetAttributeValue"))?;
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            if let (Some(n), Some(e)) = (n, e)
                && n == modulus
            {
                return Ok(e);
            }
        }
        Err(Self::no_public(label))
    }
}

/// Logs `user` in on `session`: the user at the start, or again before each signature with a
/// key marked `CKA_ALWAYS_AUTHENTICATE` (`UserType::ContextSpecific`).
pub(crate) fn login(
    session: &Session,
    user: UserType,
    pin: Option<&Pin>,
    token: &str,
) -> Result<()> {
    match session.login(user, pin) {
        Ok(()) => Ok(()),
        // Login state is per token and application: another session of ours logged in.
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) if matches!(user, UserType::User) => {
            Ok(())
        }
        Err(source) => {
            let reason = match &source {
                CkError::Pkcs11(RvError::PinIncorrect, _) => {
                    "wrong PIN (each failure brings the token closer to locking the PIN)"
                }
                CkError::Pkcs11(RvError::PinLocked, _) => {
                    "the user PIN is locked; unlock it with the security officer PIN"
                }
                CkError::Pkcs11(RvError::PinExpired, _) => {
                    "the PIN has expired; change it with the token's tools"
                }
                CkError::Pkcs11(RvError::UserPinNotInitialized, _) => {
                    "the token's user PIN was never set; initialize it (softhsm2-util --init-token sets it)"
                }
                CkError::Pkcs11(RvError::PinLenRange | RvError::PinInvalid, _) => {
                    "the PIN has a length or characters the token does not accept"
                }
                _ => "the token refused the login",
            };
            let code = match &source {
                CkError::Pkcs11(rv, _) => format!("{rv:?}"),
                other => other.to_string(),
            };
            Err(Error::Login {
                token: token.to_owned(),
                reason: reason.to_owned(),
                code,
            })
        }
    }
}
