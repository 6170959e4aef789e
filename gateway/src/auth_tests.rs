//! Token checks that need keys the integration tests do not use: RS256, algorithm confusion,
//! key requirements at start-up, an RS256 key's rotation.

#![allow(clippy::unwrap_used)]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::Role;

use super::{Authenticator, JwtAlgorithm, JwtSettings};

/// A key pair made for these tests only.
const PRIVATE_PEM: &str = include_str!("testdata/rsa_test_private.pem");
const PUBLIC_PEM: &str = include_str!("testdata/rsa_test_public.pem");
/// The pair that replaces it in the rotation tests.
const NEXT_PRIVATE_PEM: &str = include_str!("testdata/rsa_test_next_private.pem");
const NEXT_PUBLIC_PEM: &str = include_str!("testdata/rsa_test_next_public.pem");
const SECRET: &str = "a-secret-for-tests-only-0123456789abcdef";

fn settings(algorithm: JwtAlgorithm) -> JwtSettings {
    JwtSettings {
        algorithm,
        secret: SecretString::from(SECRET),
        public_key_pem: SecretString::from(PUBLIC_PEM),
        previous_secret: SecretString::from(""),
        previous_public_key_pem: SecretString::from(""),
        issuer: "fooddelivery-gateway".into(),
        audience: "fooddelivery-api".into(),
        leeway_seconds: 30,
    }
}

fn claims() -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    json!({ "sub": "alice", "role": "owner", "iss": "fooddelivery-gateway",
            "aud": ["fooddelivery-api", "other"], "iat": now, "exp": now + 60 })
}

fn rs256(claims: &Value) -> String {
    rs256_with(claims, PRIVATE_PEM)
}

fn rs256_with(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

/// RS256 with the next key pair current and the test pair previous.
fn rotating_rs256() -> JwtSettings {
    let mut settings = settings(JwtAlgorithm::Rs256);
    settings.public_key_pem = SecretString::from(NEXT_PUBLIC_PEM);
    settings.previous_public_key_pem = SecretString::from(PUBLIC_PEM);
    settings
}

#[test]
fn rs256_tokens_signed_with_the_private_key_are_accepted() {
    let auth = Authenticator::new(&settings(JwtAlgorithm::Rs256)).unwrap();

    let identity = auth.verify(&rs256(&claims())).unwrap();

    assert_eq!(identity.user_id, "alice");
    assert_eq!(identity.role, Role::Owner);
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_is_refused_when_rs256_is_pinned() {
    let auth = Authenticator::new(&settings(JwtAlgorithm::Rs256)).unwrap();
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(PUBLIC_PEM.as_bytes()),
    )
    .unwrap();

    assert_eq!(auth.verify(&confused).unwrap_err().status.as_u16(), 401);
}

#[test]
fn an_rs256_token_is_refused_when_hs256_is_pinned() {
    let auth = Authenticator::new(&settings(JwtAlgorithm::Hs256)).unwrap();

    assert_eq!(
        auth.verify(&rs256(&claims())).unwrap_err().status.as_u16(),
        401
    );
}

#[test]
fn issued_tokens_verify_and_only_a_symmetric_key_can_issue_them() {
    let hs = Authenticator::new(&settings(JwtAlgorithm::Hs256)).unwrap();
    let rs = Authenticator::new(&settings(JwtAlgorithm::Rs256)).unwrap();
    let bob = service_runtime::Identity {
        user_id: "bob".into(),
        role: Role::Rider,
    };

    let token = hs.issue(&bob, 60).unwrap().unwrap();

    assert_eq!(hs.verify(&token).unwrap(), bob);
    assert!(rs.issue(&bob, 60).is_none());
}

#[test]
fn weak_or_missing_keys_are_refused_at_start_up() {
    let mut short = settings(JwtAlgorithm::Hs256);
    short.secret = SecretString::from("too-short");
    let mut no_pem = settings(JwtAlgorithm::Rs256);
    no_pem.public_key_pem = SecretString::from("");

    assert!(Authenticator::new(&short).is_err());
    assert!(Authenticator::new(&no_pem).is_err());
}

#[test]
fn algorithms_parse_case_insensitively_and_others_are_refused() {
    assert_eq!("hs256".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Hs256));
    assert_eq!("RS256".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Rs256));
    assert!("none".parse::<JwtAlgorithm>().is_err());
    assert!("HS512".parse::<JwtAlgorithm>().is_err());
}

#[test]
fn an_rs256_token_of_the_previous_key_pair_is_accepted_only_while_that_key_is_configured() {
    let rotating = Authenticator::new(&rotating_rs256()).unwrap();
    let mut rotated = rotating_rs256();
    rotated.previous_public_key_pem = SecretString::from("");
    let rotated = Authenticator::new(&rotated).unwrap();
    let old = rs256(&claims());
    let new = rs256_with(&claims(), NEXT_PRIVATE_PEM);

    assert_eq!(rotating.verify(&old).unwrap().user_id, "alice");
    assert_eq!(rotating.verify(&new).unwrap().user_id, "alice");
    assert_eq!(rotated.verify(&old).unwrap_err().status.as_u16(), 401);
    assert_eq!(rotated.verify(&new).unwrap().user_id, "alice");
}

#[test]
fn a_token_with_a_kid_is_checked_against_both_keys_all_the_same() {
    let rotating = Authenticator::new(&rotating_rs256()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("a-name-the-gateway-does-not-know".into());
    let key = EncodingKey::from_rsa_pem(PRIVATE_PEM.as_bytes()).unwrap();

    let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();

    assert_eq!(rotating.verify(&token).unwrap().user_id, "alice");
}

#[test]
fn an_hs256_token_keyed_with_the_previous_public_key_is_refused() {
    let rotating = Authenticator::new(&rotating_rs256()).unwrap();
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(PUBLIC_PEM.as_bytes()),
    )
    .unwrap();

    assert_eq!(rotating.verify(&confused).unwrap_err().status.as_u16(), 401);
}

#[test]
fn a_weak_or_foreign_previous_key_is_refused_at_start_up_by_name() {
    let error =
        |settings: &JwtSettings| format!("{:#}", Authenticator::new(settings).err().unwrap());
    let mut short = settings(JwtAlgorithm::Hs256);
    short.previous_secret = SecretString::from("too-short");
    let mut not_a_key = settings(JwtAlgorithm::Rs256);
    not_a_key.previous_public_key_pem = SecretString::from("not a key");
    let mut pem_with_hs256 = settings(JwtAlgorithm::Hs256);
    pem_with_hs256.previous_public_key_pem = SecretString::from(PUBLIC_PEM);
    let mut secret_with_rs256 = settings(JwtAlgorithm::Rs256);
    secret_with_rs256.previous_secret = SecretString::from(SECRET);

    assert_eq!(
        error(&short),
        "JWT_PREVIOUS_SECRET must be at least 32 bytes with HS256"
    );
    assert!(
        error(&not_a_key).starts_with("JWT_PREVIOUS_PUBLIC_KEY_PEM is not an RSA public key"),
        "{}",
        error(&not_a_key)
    );
    assert!(
        error(&pem_with_hs256)
            .starts_with("JWT_PREVIOUS_PUBLIC_KEY_PEM is set but JWT_ALGORITHM is HS256")
    );
    assert!(
        error(&secret_with_rs256)
            .starts_with("JWT_PREVIOUS_SECRET is set but JWT_ALGORITHM is RS256")
    );
}
