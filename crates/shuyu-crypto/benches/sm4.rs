//! SM4 throughput of the SYENC layer beside raw SM4 on the same 64 MiB buffer:
//! (1) raw SM4 block encryption (ECB over every 16-byte block: the cipher alone, the baseline),
//! (2) SM4-GCM one-shot over the whole buffer, (3) the chunked `Encryptor`, (4) `decrypt_all`,
//! (5) a 1 MiB ranged read from the middle. Criterion reports each; a table at the end gives MB/s
//! (best of 5 runs) and the ratio to (1).
//!
//! Run: `cargo bench -p shuyu-crypto --bench sm4 -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, SamplingMode, Throughput};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_crypto::{
    ChunkSize, DataKey, Encryptor, FileLayout, HEADER_LEN, Sm4Gcm, ciphertext_len, decrypt_all,
};
use sm4::Sm4;
use sm4::cipher::{Array, BlockCipherEncrypt};

const LEN: usize = 64 * 1024 * 1024;
const RANGE: u64 = 1024 * 1024;
const KEY: [u8; 16] = *b"0123456789abcdef";

struct Fixture {
    plain: Vec<u8>,
    key: DataKey,
    file: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let plain: Vec<u8> = (0..LEN)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
            .collect();
        let key = DataKey::generate(&mut StdRng::seed_from_u64(1));
        let file = encrypt(&key, &plain);
        Self { plain, key, file }
    }
}

fn raw_sm4(buf: &mut [u8]) {
    let cipher = Sm4::new(&KEY.into());
    let (blocks, _) = Array::slice_as_chunks_mut(buf);
    cipher.encrypt_blocks(blocks);
}

fn raw_gcm(buf: &mut [u8]) {
    let cipher = Sm4Gcm::new(&KEY.into());
    let tag = cipher
        .encrypt_inout_detached(&[7u8; 12].into(), b"", buf.into())
        .unwrap();
    black_box(tag);
}

fn encrypt(key: &DataKey, plain: &[u8]) -> Vec<u8> {
    let mut enc = Encryptor::new(key, ChunkSize::DEFAULT, &mut StdRng::seed_from_u64(2));
    let mut out =
        Vec::with_capacity(ciphertext_len(plain.len() as u64, ChunkSize::DEFAULT) as usize);
    for piece in plain.chunks(1024 * 1024) {
        enc.push_into(piece, &mut out).unwrap();
    }
    out.extend(enc.finish().unwrap());
    out
}

fn middle_range(f: &Fixture) -> Vec<u8> {
    let layout = FileLayout::from_header(&f.file[..HEADER_LEN], f.file.len() as u64).unwrap();
    let start = LEN as u64 / 2 + 12_345;
    let plain = start..start + RANGE;
    let fetch = layout.ciphertext_range(&plain).unwrap();
    let fetched = &f.file[fetch.start as usize..fetch.end as usize];
    layout
        .open(&f.key)
        .unwrap()
        .decrypt_range(fetched, &plain)
        .unwrap()
}

fn main() {
    let f = Fixture::new();
    assert_eq!(decrypt_all(&f.key, &f.file).unwrap(), f.plain);
    let mut scratch = f.plain.clone();

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    {
        let mut g = c.benchmark_group("sm4_64MiB");
        g.sampling_mode(SamplingMode::Flat);
        g.throughput(Throughput::Bytes(LEN as u64));
        g.bench_function("1_raw_sm4_blocks", |b| b.iter(|| raw_sm4(&mut scratch)));
        g.bench_function("2_raw_sm4_gcm_one_shot", |b| {
            b.iter(|| raw_gcm(&mut scratch))
        });
        g.bench_function("3_chunked_encryptor", |b| {
            b.iter(|| encrypt(&f.key, &f.plain))
        });
        g.bench_function("4_decrypt_all", |b| {
            b.iter(|| decrypt_all(&f.key, &f.file).unwrap())
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("sm4_range");
        g.throughput(Throughput::Bytes(RANGE));
        g.bench_function("5_range_1MiB_middle", |b| b.iter(|| middle_range(&f)));
        g.finish();
    }
    c.final_summary();

    // Summary table: best of 5 runs each.
    let best = |mut op: Box<dyn FnMut() + '_>| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                op();
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    let mut s1 = f.plain.clone();
    let mut s2 = f.plain.clone();
    let rows: Vec<(&str, u64, Duration)> = vec![
        (
            "(1) raw SM4 blocks",
            LEN as u64,
            best(Box::new(|| raw_sm4(&mut s1))),
        ),
        (
            "(2) raw SM4-GCM one-shot",
            LEN as u64,
            best(Box::new(|| raw_gcm(&mut s2))),
        ),
        (
            "(3) chunked encryptor",
            LEN as u64,
            best(Box::new(|| drop(black_box(encrypt(&f.key, &f.plain))))),
        ),
        (
            "(4) decrypt_all",
            LEN as u64,
            best(Box::new(|| drop(black_box(decrypt_all(&f.key, &f.file))))),
        ),
        (
            "(5) 1 MiB range, middle",
            RANGE,
            best(Box::new(|| drop(black_box(middle_range(&f))))),
        ),
    ];
    let base = rows[0].1 as f64 / rows[0].2.as_secs_f64();
    println!(
        "\n{:<28} {:>10} {:>10} {:>8}",
        "operation", "time", "MB/s", "vs (1)"
    );
    for (name, bytes, time) in rows {
        let rate = bytes as f64 / time.as_secs_f64();
        println!(
            "{name:<28} {:>8.2}ms {:>10.1} {:>8.2}",
            time.as_secs_f64() * 1e3,
            rate / 1e6,
            rate / base
        );
    }
}
