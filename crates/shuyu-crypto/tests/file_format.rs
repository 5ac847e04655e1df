//! Behaviour of the SYENC file format: round trips, ranged reads, and every kind of tampering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::ops::Range;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_crypto::{
    ChunkSize, CryptoError, DataKey, EncryptingWriter, Encryptor, FileLayout, HEADER_LEN, TAG_LEN,
    ciphertext_len, decrypt_all,
};

const CHUNK: usize = 64;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn small() -> ChunkSize {
    ChunkSize::new(CHUNK as u32).unwrap()
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
}

/// Encrypts in uneven pieces, to exercise the streaming buffer.
fn encrypt(key: &DataKey, chunk: ChunkSize, plain: &[u8], seed: u64) -> Vec<u8> {
    let mut enc = Encryptor::new(key, chunk, &mut rng(seed));
    let mut out = Vec::new();
    let mut rest = plain;
    let mut piece = 1;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(piece.min(rest.len()));
        out.extend(enc.push(head).unwrap());
        rest = tail;
        piece = piece * 3 % 211 + 1;
    }
    out.extend(enc.finish().unwrap());
    out
}

/// Decrypts `range` the way a ranged reader would: header, then only the chunks named.
fn read_range(key: &DataKey, file: &[u8], range: Range<u64>) -> Result<Vec<u8>, CryptoError> {
    let layout = FileLayout::from_header(&file[..HEADER_LEN.min(file.len())], file.len() as u64)?;
    let fetch = layout.ciphertext_range(&range)?;
    let fetched = &file[fetch.start as usize..fetch.end as usize];
    layout.open(key)?.decrypt_range(fetched, &range)
}

fn chunk_start(i: usize) -> usize {
    HEADER_LEN + i * (CHUNK + TAG_LEN)
}

#[test]
fn round_trip_at_chunk_boundaries() {
    let key = DataKey::generate(&mut rng(1));
    for len in [
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK,
        10 * CHUNK + 17,
    ] {
        let plain = plaintext(len);
        let file = encrypt(&key, small(), &plain, len as u64);
        assert_eq!(
            file.len() as u64,
            ciphertext_len(len as u64, small()),
            "len {len}"
        );
        assert_eq!(decrypt_all(&key, &file).unwrap(), plain, "len {len}");
        let layout = FileLayout::from_header(&file, file.len() as u64).unwrap();
        assert_eq!(layout.plaintext_len(), len as u64);
    }
}

#[test]
fn round_trip_with_default_chunk_size_and_many_chunks() {
    let key = DataKey::generate(&mut rng(2));
    let plain = plaintext(5 * 65_536 + 1000);
    let file = encrypt(&key, ChunkSize::DEFAULT, &plain, 3);
    assert_eq!(decrypt_all(&key, &file).unwrap(), plain);
    let layout = FileLayout::from_header(&file, file.len() as u64).unwrap();
    assert_eq!(layout.chunk_count(), 6);
}

#[test]
fn one_push_and_many_pushes_give_the_same_file() {
    let key = DataKey::generate(&mut rng(4));
    let plain = plaintext(7 * CHUNK + 5);
    let mut enc = Encryptor::new(&key, small(), &mut rng(9));
    let mut whole = enc.push(&plain).unwrap();
    whole.extend(enc.finish().unwrap());
    assert_eq!(whole, encrypt(&key, small(), &plain, 9));
}

#[test]
fn encrypting_writer_produces_a_readable_file() {
    let key = DataKey::generate(&mut rng(5));
    let plain = plaintext(3 * CHUNK + 2);
    let mut writer = EncryptingWriter::new(Vec::new(), &key, small(), &mut rng(6));
    for piece in plain.chunks(10) {
        writer.write_all(piece).unwrap();
    }
    let file = writer.finish().unwrap();
    assert_eq!(decrypt_all(&key, &file).unwrap(), plain);
}

#[test]
fn ciphertext_range_is_whole_chunks_and_ends_at_file_end() {
    let key = DataKey::generate(&mut rng(7));
    let file = encrypt(&key, small(), &plaintext(3 * CHUNK + 10), 8);
    let layout = FileLayout::from_header(&file, file.len() as u64).unwrap();
    let sealed = (CHUNK + TAG_LEN) as u64;
    let h = HEADER_LEN as u64;
    assert_eq!(layout.ciphertext_range(&(0..1)).unwrap(), h..h + sealed);
    assert_eq!(
        layout
            .ciphertext_range(&(CHUNK as u64 - 1..CHUNK as u64 + 1))
            .unwrap(),
        h..h + 2 * sealed
    );
    assert_eq!(
        layout
            .ciphertext_range(&(3 * CHUNK as u64..3 * CHUNK as u64 + 10))
            .unwrap(),
        h + 3 * sealed..file.len() as u64
    );
    assert!(matches!(
        layout.ciphertext_range(&(0..3 * CHUNK as u64 + 11)),
        Err(CryptoError::OutOfRange { .. })
    ));
}

#[test]
fn empty_range_needs_no_bytes() {
    let key = DataKey::generate(&mut rng(7));
    let file = encrypt(&key, small(), &plaintext(100), 8);
    assert_eq!(read_range(&key, &file, 50..50).unwrap(), Vec::<u8>::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_range_decrypts_to_the_plaintext_slice(
        len in 0usize..2000,
        chunk in 16u32..300,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let key = DataKey::generate(&mut rng(seed));
        let chunk = ChunkSize::new(chunk).unwrap();
        let plain = plaintext(len);
        let file = encrypt(&key, chunk, &plain, seed);
        let (x, y) = (a.index(len + 1), b.index(len + 1));
        let range = x.min(y)..x.max(y);
        let got = read_range(&key, &file, range.start as u64..range.end as u64).unwrap();
        prop_assert_eq!(got, &plain[range]);
    }
}

/// The error for a file changed by `edit`, read whole.
fn after(edit: impl FnOnce(&mut Vec<u8>)) -> CryptoError {
    let key = DataKey::generate(&mut rng(10));
    let mut file = encrypt(&key, small(), &plaintext(4 * CHUNK + 20), 11);
    edit(&mut file);
    decrypt_all(&key, &file).expect_err("tampering must be detected")
}

#[test]
fn flipping_any_header_byte_is_detected() {
    for i in 0..HEADER_LEN {
        let err = after(|f| f[i] ^= 0x01);
        match i {
            0..=4 => assert_eq!(err, CryptoError::NotEncrypted, "byte {i}"),
            5 => assert_eq!(err, CryptoError::UnsupportedVersion(0), "byte {i}"),
            28..=35 => assert!(
                matches!(err, CryptoError::WrongDataKey { .. }),
                "byte {i}: {err}"
            ),
            _ => assert!(
                matches!(
                    err,
                    CryptoError::BadHeader(_)
                        | CryptoError::Corrupt { chunk: 0 }
                        | CryptoError::Truncated
                ),
                "byte {i}: {err}"
            ),
        }
    }
}

#[test]
fn flipping_any_chunk_or_tag_byte_names_the_chunk() {
    let key = DataKey::generate(&mut rng(10));
    let file = encrypt(&key, small(), &plaintext(4 * CHUNK + 20), 11);
    for i in HEADER_LEN..file.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x80;
        let chunk = ((i - HEADER_LEN) / (CHUNK + TAG_LEN)) as u64;
        assert_eq!(
            decrypt_all(&key, &bad),
            Err(CryptoError::Corrupt { chunk }),
            "byte {i}"
        );
        // A ranged read of just that chunk sees it too.
        let range = chunk * CHUNK as u64..chunk * CHUNK as u64 + 1;
        assert_eq!(
            read_range(&key, &bad, range),
            Err(CryptoError::Corrupt { chunk }),
            "byte {i}"
        );
    }
}

#[test]
fn dropping_the_last_chunk_is_truncation() {
    let err = after(|f| f.truncate(chunk_start(4)));
    assert_eq!(err, CryptoError::Truncated);
}

#[test]
fn dropping_the_last_chunk_of_an_exact_multiple_is_truncation() {
    let key = DataKey::generate(&mut rng(12));
    let mut file = encrypt(&key, small(), &plaintext(3 * CHUNK), 13);
    file.truncate(chunk_start(2));
    assert_eq!(decrypt_all(&key, &file), Err(CryptoError::Truncated));
}

#[test]
fn truncating_mid_chunk_is_detected() {
    for cut in [1, 15, 16, 17, CHUNK] {
        let err = after(|f| f.truncate(chunk_start(2) + cut));
        assert!(
            matches!(
                err,
                CryptoError::Truncated | CryptoError::Corrupt { chunk: 2 }
            ),
            "cut {cut}: {err}"
        );
    }
    assert_eq!(
        after(|f| f.truncate(HEADER_LEN + 3)),
        CryptoError::Truncated
    );
    assert_eq!(after(|f| f.truncate(10)), CryptoError::Truncated);
}

#[test]
fn appending_bytes_is_detected() {
    let err = after(|f| f.extend_from_slice(&[0; 40]));
    assert!(matches!(err, CryptoError::Corrupt { .. }), "{err}");
}

#[test]
fn swapping_two_chunks_is_detected() {
    let err = after(|f| {
        let (a, b) = (chunk_start(1), chunk_start(2));
        let first = f[a..b].to_vec();
        let second = f[b..b + (b - a)].to_vec();
        f[a..b].copy_from_slice(&second);
        f[b..b + (b - a)].copy_from_slice(&first);
    });
    assert_eq!(err, CryptoError::Corrupt { chunk: 1 });
}

#[test]
fn chunk_spliced_from_another_file_under_the_same_key_is_detected() {
    let key = DataKey::generate(&mut rng(14));
    let plain = plaintext(4 * CHUNK + 20);
    let mut one = encrypt(&key, small(), &plain, 15);
    let other = encrypt(&key, small(), &plain, 16);
    let (a, b) = (chunk_start(2), chunk_start(3));
    one[a..b].copy_from_slice(&other[a..b]);
    assert_eq!(
        decrypt_all(&key, &one),
        Err(CryptoError::Corrupt { chunk: 2 })
    );
}

#[test]
fn wrong_data_key_is_named_before_decrypting() {
    let key = DataKey::generate(&mut rng(17));
    let other = DataKey::generate(&mut rng(18));
    let file = encrypt(&key, small(), &plaintext(100), 19);
    assert_eq!(
        decrypt_all(&other, &file),
        Err(CryptoError::WrongDataKey {
            expected: key.key_id(),
            got: other.key_id()
        })
    );
    let msg = decrypt_all(&other, &file).unwrap_err().to_string();
    assert!(msg.contains(&key.key_id().to_string()), "{msg}");
}

#[test]
fn plain_file_is_reported_as_not_encrypted() {
    let key = DataKey::generate(&mut rng(20));
    assert_eq!(
        decrypt_all(&key, b"PAR1 a parquet file, not encrypted at all"),
        Err(CryptoError::NotEncrypted)
    );
    assert_eq!(decrypt_all(&key, b""), Err(CryptoError::NotEncrypted));
}

#[test]
fn ciphertext_does_not_contain_a_known_plaintext_marker() {
    let key = DataKey::generate(&mut rng(21));
    let marker = b"ID-CARD-110101199003077777";
    let mut plain = Vec::new();
    for _ in 0..1000 {
        plain.extend_from_slice(marker);
    }
    let file = encrypt(&key, ChunkSize::DEFAULT, &plain, 22);
    assert!(!file.windows(marker.len()).any(|w| w == marker));
    assert!(!file.windows(8).any(|w| w == &marker[..8]));
}

#[test]
fn same_plaintext_encrypts_differently_each_time() {
    let key = DataKey::generate(&mut rng(23));
    let plain = plaintext(200);
    assert_ne!(
        encrypt(&key, small(), &plain, 1),
        encrypt(&key, small(), &plain, 2)
    );
}

#[test]
fn chunk_size_outside_limits_is_refused() {
    assert_eq!(ChunkSize::new(15), Err(CryptoError::ChunkSize(15)));
    assert_eq!(
        ChunkSize::new(16 * 1024 * 1024 + 1),
        Err(CryptoError::ChunkSize(16 * 1024 * 1024 + 1))
    );
    assert_eq!(ChunkSize::default().get(), 65_536);
}

#[test]
fn fetched_bytes_must_match_the_named_range() {
    let key = DataKey::generate(&mut rng(24));
    let file = encrypt(&key, small(), &plaintext(300), 25);
    let layout = FileLayout::from_header(&file, file.len() as u64).unwrap();
    let range = 10..20;
    let fetch = layout.ciphertext_range(&range).unwrap();
    let short = &file[fetch.start as usize..fetch.end as usize - 1];
    assert!(matches!(
        layout.open(&key).unwrap().decrypt_range(short, &range),
        Err(CryptoError::FetchMismatch { .. })
    ));
}
