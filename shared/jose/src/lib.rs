//! JOSE for Tessera, on aws-lc-rs.
//!
//! * [`SigningKey`]: an authorization server's key pair, parsed once and kept in the hot state
//!   rather than parsed for every token. RS256 (RSA-2048) by default,
//!   ES256 (P-256) per server.
//! * [`MasterKey`]: AES-256-GCM sealing of private keys at rest; the sealed form names the
//!   master key's id so that the master key can itself be rotated.
//! * [`jws`]: compact JWS signing of a JSON payload.

pub mod compact;
pub mod jwk;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// A JOSE failure. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("key generation failed")]
    Generate,
    #[error("the key could not be parsed")]
    Parse,
    #[error("signing failed")]
    Sign,
    #[error("the sealed key could not be opened (wrong master key or corrupted data)")]
    Unseal,
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
    #[error(
        "the token's claims are {0} bytes, more than the {MAX_PAYLOAD_BYTES} a token may carry"
    )]
    TooLarge(usize),
}

/// The most a token's claims may take, serialized (a 32 KiB payload is a token of about 43 KiB,
/// already past what many proxies accept in a header).
pub const MAX_PAYLOAD_BYTES: usize = 32 * 1024;

/// The signing algorithms a server can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub fn parse(s: &str) -> Result<Self, JoseError> {
        match s {
            "RS256" => Ok(Self::RS256),
            "ES256" => Ok(Self::ES256),
            other => Err(JoseError::Algorithm(other.to_owned())),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A parsed private key, ready to sign.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A freshly generated key: its PKCS#8 private key (to be sealed) and public JWK.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: Alg,
    pub pkcs8: Vec<u8>,
    pub public_jwk: Value,
}

/// Generates a key for `alg`; the `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate(alg: Alg) -> Result<GeneratedKey, JoseError> {
    let pkcs8 = match alg {
        Alg::RS256 => {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| JoseError::Generate)?;
            pair.as_der()
                .map_err(|_| JoseError::Generate)?
                .as_ref()
                .to_vec()
        }
        Alg::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| JoseError::Generate)?;
            pair.to_pkcs8v1()
                .map_err(|_| JoseError::Generate)?
                .as_ref()
                .to_vec()
        }
    };
    let key = SigningKey::from_pkcs8("", alg, &pkcs8)?;
    let mut jwk = key.public_jwk_members()?;
    let kid = thumbprint(&jwk);
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(alg.as_str());
    jwk["use"] = json!("sig");
    Ok(GeneratedKey {
        kid,
        alg,
        pkcs8,
        public_jwk: jwk,
    })
}

/// RFC 7638 thumbprint (SHA-256, base64url) of a public JWK's required members.
pub fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str() {
        Some("RSA") => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            s(jwk, "e"),
            s(jwk, "n")
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s(jwk, "crv"),
            s(jwk, "x"),
            s(jwk, "y")
        ),
    };
    B64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

impl SigningKey {
    /// Parses a PKCS#8 private key.
    pub fn from_pkcs8(kid: &str, alg: Alg, pkcs8: &[u8]) -> Result<Self, JoseError> {
        let pair = match alg {
            Alg::RS256 => Pair::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| JoseError::Parse)?),
            Alg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| JoseError::Parse)?,
            ),
        };
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// The key-type members of the public JWK (`kty`, `n`/`e` or `crv`/`x`/`y`).
    fn public_jwk_members(&self) -> Result<Value, JoseError> {
        match &self.pair {
            Pair::Rsa(p) => {
                let (n, e) =
                    rsa_public_components(p.public_key().as_ref()).ok_or(JoseError::Parse)?;
                Ok(json!({ "kty": "RSA", "n": B64.encode(n), "e": B64.encode(e) }))
            }
            Pair::Ec(p) => {
                let point = p.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(JoseError::Parse);
                }
                Ok(
                    json!({ "kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]) }),
                )
            }
        }
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.pair {
            Pair::Rsa(p) => {
                let mut sig = vec![0u8; p.public_modulus_len()];
                p.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| JoseError::Sign)?;
                Ok(sig)
            }
            Pair::Ec(p) => Ok(p
                .sign(&self.rng, message)
                .map_err(|_| JoseError::Sign)?
                .as_ref()
                .to_vec()),
        }
    }
}

/// Reads `n` and `e` from a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`), with
/// leading zero bytes removed as JWK requires.
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    fn read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (&len0, rest) = rest.split_first()?;
        let (len, rest) = if len0 < 0x80 {
            (usize::from(len0), rest)
        } else {
            let n = usize::from(len0 & 0x7f);
            if n > 4 || rest.len() < n {
                return None;
            }
            (
                rest[..n]
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
                &rest[n..],
            )
        };
        (rest.len() >= len).then(|| (&rest[..len], &rest[len..]))
    }
    let (seq, _) = read(der, 0x30)?;
    let (n, rest) = read(seq, 0x02)?;
    let (e, _) = read(rest, 0x02)?;
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    Some((strip(n), strip(e)))
}

/// A compact JWS of `payload` with header `{"kid","alg"}` (and `typ` when given).
pub fn jws(key: &SigningKey, typ: Option<&str>, payload: &Value) -> Result<String, JoseError> {
    let header = match typ {
        Some(t) => json!({ "kid": key.kid, "alg": key.alg.as_str(), "typ": t }),
        None => json!({ "kid": key.kid, "alg": key.alg.as_str() }),
    };
    let mut out = String::with_capacity(1024);
    out.push_str(&B64.encode(header.to_string()));
    out.push('.');
    let payload = payload.to_string();
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(JoseError::TooLarge(payload.len()));
    }
    out.push_str(&B64.encode(payload));
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&B64.encode(sig));
    Ok(out)
}

/// How long an EXPIRED signing key stays published: the longest access-token lifetime a rule
/// allows (1 day, as Okta's token lifetimes), so every token it signed can still be verified
/// until it expires.
pub const EXPIRED_KEY_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// The associated data a signing key is sealed under, so a sealed key cannot be replayed into
/// another tenant's or server's row.
pub fn signing_key_context(tenant: &str, server_id: &str, kid: &str) -> String {
    format!("signing-key/{tenant}/{server_id}/{kid}")
}

/// The associated data a client secret is sealed under.
pub fn client_secret_context(tenant: &str, app_id: &str, secret_id: &str) -> String {
    format!("client-secret/{tenant}/{app_id}/{secret_id}")
}

/// The sealing context of an inline hook's authentication header value.
pub fn inline_hook_context(tenant: &str, hook_id: &str) -> String {
    format!("inline-hook/{tenant}/{hook_id}")
}

/// The AES-256-GCM key that seals private keys at rest.
pub struct MasterKey {
    id: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// From 32 raw bytes. Its id is the first 16 hex digits of the SHA-256 of the key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, JoseError> {
        let key =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| JoseError::Parse)?);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
        let id = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self { id, key })
    }

    /// From its base64url text form (as in `TESSERA_MASTER_KEY` or the data directory).
    pub fn from_text(text: &str) -> Result<Self, JoseError> {
        let bytes = B64.decode(text.trim()).map_err(|_| JoseError::Parse)?;
        if bytes.len() != 32 {
            return Err(JoseError::Parse);
        }
        Self::from_bytes(&bytes)
    }

    /// A new random master key in text form.
    pub fn generate_text(random: &dyn tessera_domain::Random) -> String {
        let mut b = [0u8; 32];
        random.fill(&mut b);
        B64.encode(b)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext`; `context` (e.g. `tenant/server/kid`) is bound as associated data so a
    /// sealed key cannot be moved to another row.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: &str,
        random: &dyn tessera_domain::Random,
    ) -> Result<String, JoseError> {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| JoseError::Sign)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(B64.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, JoseError> {
        let raw = B64.decode(sealed).map_err(|_| JoseError::Unseal)?;
        if raw.len() < NONCE_LEN {
            return Err(JoseError::Unseal);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| JoseError::Unseal)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| JoseError::Unseal)?;
        Ok(plain.to_vec())
    }
}

/// The master keys a process can open sealed data with: the current one (which seals) and,
/// while a master-key rotation is under way, the previous one. Sealed rows name their key's id.
#[derive(Debug)]
pub struct KeyRing {
    pub current: MasterKey,
    pub previous: Option<MasterKey>,
}

impl KeyRing {
    /// Opens `sealed` with the master key whose id is `key_id`.
    pub fn open(&self, key_id: &str, sealed: &str, context: &str) -> Result<Vec<u8>, JoseError> {
        if self.current.id() == key_id {
            return self.current.open(sealed, context);
        }
        match &self.previous {
            Some(p) if p.id() == key_id => p.open(sealed, context),
            _ => Err(JoseError::Unseal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_domain::random::SeededRandom;

    #[test]
    fn generated_rsa_key_signs_verifiably_and_publishes_its_thumbprint_as_kid() {
        let g = generate(Alg::RS256).expect("keygen");
        assert_eq!(g.public_jwk["kty"], "RSA");
        assert_eq!(g.public_jwk["e"], "AQAB");
        assert_eq!(
            B64.decode(g.public_jwk["n"].as_str().unwrap_or_default())
                .map(|n| n.len())
                .unwrap_or(0),
            256
        );
        assert_eq!(g.kid, thumbprint(&g.public_jwk));
        let key = SigningKey::from_pkcs8(&g.kid, Alg::RS256, &g.pkcs8).expect("parse");
        let token = jws(&key, None, &json!({"sub": "x"})).expect("sign");
        let (input, sig) = token.rsplit_once('.').unwrap_or_default();
        let (n, e) = (
            B64.decode(s(&g.public_jwk, "n")).unwrap_or_default(),
            B64.decode(s(&g.public_jwk, "e")).unwrap_or_default(),
        );
        let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        assert!(
            public
                .verify(
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    input.as_bytes(),
                    &B64.decode(sig).unwrap_or_default()
                )
                .is_ok()
        );
    }

    #[test]
    fn generated_ec_key_signs_verifiably() {
        let g = generate(Alg::ES256).expect("keygen");
        let key = SigningKey::from_pkcs8(&g.kid, Alg::ES256, &g.pkcs8).expect("parse");
        let token = jws(
            &key,
            Some("application/okta-internal-at+jwt"),
            &json!({"a": 1}),
        )
        .expect("sign");
        let (input, sig) = token.rsplit_once('.').unwrap_or_default();
        let mut point = vec![4u8];
        point.extend(B64.decode(s(&g.public_jwk, "x")).unwrap_or_default());
        point.extend(B64.decode(s(&g.public_jwk, "y")).unwrap_or_default());
        let public = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        assert!(
            public
                .verify(input.as_bytes(), &B64.decode(sig).unwrap_or_default())
                .is_ok()
        );
    }

    #[test]
    fn sealed_keys_open_only_with_the_same_master_key_and_context() {
        let r = SeededRandom::new(3);
        let mk = MasterKey::from_text(&MasterKey::generate_text(&r)).expect("master key");
        let sealed = mk.seal(b"private", "t/aus/kid", &r).expect("seal");
        assert_eq!(mk.open(&sealed, "t/aus/kid").expect("open"), b"private");
        assert!(mk.open(&sealed, "t/aus/other").is_err(), "context is bound");
        let other = MasterKey::from_text(&MasterKey::generate_text(&r)).expect("master key");
        assert!(other.open(&sealed, "t/aus/kid").is_err());
        assert_ne!(mk.id(), other.id());
        assert!(MasterKey::from_text("too-short").is_err());
    }
}
