//! Behaviour of master, data and wrapped keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_crypto::{
    ChunkSize, CryptoError, DataKey, Encryptor, MasterKey, WrappedKey, decrypt_all, rewrap,
};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

const HEX: &str = "0123456789abcdeffedcba9876543210";

#[test]
fn master_key_parses_from_hex_and_base64_alike() {
    let from_hex = MasterKey::parse(HEX).unwrap();
    let from_upper = MasterKey::parse(&format!("  {}\n", HEX.to_uppercase())).unwrap();
    let from_b64 = MasterKey::parse("ASNFZ4mrze/+3LqYdlQyEA==").unwrap();
    let from_b64url = MasterKey::parse("ASNFZ4mrze_-3LqYdlQyEA").unwrap();
    for key in [&from_upper, &from_b64, &from_b64url] {
        assert_eq!(key.key_id(), from_hex.key_id());
    }
    assert_eq!(from_hex.expose_hex().as_str(), HEX);
    assert_eq!(from_hex.key_id().to_string().len(), 16);
}

#[test]
fn malformed_master_key_gives_a_clear_error_without_echoing_it() {
    for text in [
        "",
        "0123",
        "zz23456789abcdeffedcba987654321z",
        "c2hvcnQ=",
        "not a key at all!",
    ] {
        let err = MasterKey::parse(text).unwrap_err();
        assert!(matches!(err, CryptoError::KeyFormat(_)), "{text:?}");
        let msg = err.to_string();
        assert!(msg.contains("32 hex digits or base64"), "{msg}");
        if !text.is_empty() {
            assert!(!msg.contains(text), "{msg}");
        }
    }
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let master = MasterKey::parse(HEX).unwrap();
    let data = DataKey::generate(&mut rng(1));
    let wrapped = master.wrap(&data, &mut rng(2)).unwrap();
    let text = format!("{master:?} {data:?} {wrapped:?}");
    assert!(!text.contains(HEX), "{text}");
    assert!(text.contains(&master.key_id().to_string()), "{text}");
    assert!(text.contains(&data.key_id().to_string()), "{text}");
}

#[test]
fn wrapped_key_round_trips_through_its_text_form() {
    let master = MasterKey::generate(&mut rng(3));
    let data = DataKey::generate(&mut rng(4));
    let wrapped = master.wrap(&data, &mut rng(5)).unwrap();
    let text = wrapped.to_string();
    assert!(text.starts_with("syk1."), "{text}");
    assert_eq!(text.len(), 87);
    let parsed: WrappedKey = text.parse().unwrap();
    assert_eq!(parsed, wrapped);
    assert_eq!(parsed.master_key_id(), master.key_id());
    assert_eq!(parsed.data_key_id(), data.key_id());
    assert_eq!(master.unwrap(&parsed).unwrap().key_id(), data.key_id());
}

#[test]
fn malformed_wrapped_key_text_is_refused() {
    for text in ["", "syk1.", "syk2.AAAA", "syk1.!!!!", "syk1.AAAA"] {
        assert!(
            matches!(
                text.parse::<WrappedKey>(),
                Err(CryptoError::WrappedKeyFormat(_))
            ),
            "{text:?}"
        );
    }
}

#[test]
fn wrong_master_key_is_named_by_id_before_decrypting() {
    let master = MasterKey::generate(&mut rng(6));
    let other = MasterKey::generate(&mut rng(7));
    let wrapped = master
        .wrap(&DataKey::generate(&mut rng(8)), &mut rng(9))
        .unwrap();
    assert_eq!(
        other.unwrap(&wrapped).unwrap_err(),
        CryptoError::WrongMasterKey {
            expected_id: master.key_id(),
            got_id: other.key_id()
        }
    );
}

#[test]
fn tampering_with_any_byte_of_a_wrapped_key_is_detected() {
    let master = MasterKey::generate(&mut rng(10));
    let wrapped = master
        .wrap(&DataKey::generate(&mut rng(11)), &mut rng(12))
        .unwrap();
    for i in 0..wrapped.as_bytes().len() {
        let mut bytes = *wrapped.as_bytes();
        bytes[i] ^= 0x04;
        let result = WrappedKey::from_bytes(&bytes).and_then(|w| master.unwrap(&w));
        match i {
            0 => assert!(matches!(result, Err(CryptoError::WrappedKeyFormat(_)))),
            1..=8 => assert!(
                matches!(result, Err(CryptoError::WrongMasterKey { .. })),
                "byte {i}"
            ),
            _ => assert_eq!(
                result.unwrap_err(),
                CryptoError::CorruptWrappedKey,
                "byte {i}"
            ),
        }
    }
}

#[test]
fn rewrapped_key_still_decrypts_the_data_and_the_old_master_no_longer_opens_it() {
    let old = MasterKey::generate(&mut rng(13));
    let new = MasterKey::generate(&mut rng(14));
    let data = DataKey::generate(&mut rng(15));
    let wrapped = old.wrap(&data, &mut rng(16)).unwrap();
    let plain = b"rows of a public dataset".repeat(100);
    let mut enc = Encryptor::new(&data, ChunkSize::new(256).unwrap(), &mut rng(17));
    let mut file = enc.push(&plain).unwrap();
    file.extend(enc.finish().unwrap());
    drop(data);

    let rewrapped = rewrap(&old, &new, &wrapped, &mut rng(18)).unwrap();
    assert_eq!(rewrapped.data_key_id(), wrapped.data_key_id());
    assert_eq!(rewrapped.master_key_id(), new.key_id());
    let reopened = new.unwrap(&rewrapped).unwrap();
    assert_eq!(decrypt_all(&reopened, &file).unwrap(), plain);
    assert!(matches!(
        old.unwrap(&rewrapped),
        Err(CryptoError::WrongMasterKey { .. })
    ));

    // Even with the id forged to the old key's, the old key cannot open it.
    let mut forged = *rewrapped.as_bytes();
    forged[1..9].copy_from_slice(&old.key_id().to_bytes());
    let forged = WrappedKey::from_bytes(&forged).unwrap();
    assert_eq!(
        old.unwrap(&forged).unwrap_err(),
        CryptoError::CorruptWrappedKey
    );
}

#[test]
fn rewrap_with_the_wrong_old_master_key_fails_clearly() {
    let old = MasterKey::generate(&mut rng(19));
    let new = MasterKey::generate(&mut rng(20));
    let wrapped = old
        .wrap(&DataKey::generate(&mut rng(21)), &mut rng(22))
        .unwrap();
    assert!(matches!(
        rewrap(&new, &old, &wrapped, &mut rng(23)),
        Err(CryptoError::WrongMasterKey { .. })
    ));
}

#[test]
fn sm4_gcm_matches_the_rfc_8998_vector() {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let key: [u8; 16] = hex::decode("0123456789ABCDEFFEDCBA9876543210")
        .unwrap()
        .try_into()
        .unwrap();
    let nonce: [u8; 12] = hex::decode("00001234567800000000ABCD")
        .unwrap()
        .try_into()
        .unwrap();
    let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
    let plain = hex::decode(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
         EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let cipher = shuyu_crypto::Sm4Gcm::new(&key.into());
    let out = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .unwrap();
    let (ct, tag) = out.split_at(plain.len());
    assert_eq!(
        hex::encode_upper(ct),
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
         D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    );
    assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
}

#[test]
fn derived_secrets_are_stable_and_separated_by_purpose_context_and_key() {
    let a = MasterKey::generate(&mut rng(7));
    let b = MasterKey::generate(&mut rng(8));
    let s = |k: &MasterKey, p: &[u8], c: &[u8]| *k.derive_secret(p, c);
    assert_eq!(s(&a, b"hash", b"g1"), s(&a, b"hash", b"g1"));
    assert_ne!(s(&a, b"hash", b"g1"), s(&a, b"hash", b"g2"));
    assert_ne!(s(&a, b"hash", b"g1"), s(&a, b"shift", b"g1"));
    assert_ne!(s(&a, b"hash", b"g1"), s(&b, b"hash", b"g1"));
    // The purpose's length is part of the input: ("ab", "c") and ("a", "bc") differ.
    assert_ne!(s(&a, b"ab", b"c"), s(&a, b"a", b"bc"));
}
