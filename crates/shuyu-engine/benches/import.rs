//! Import throughput of a synthetic social-insurance CSV into encrypted Parquet beside plain
//! Parquet (same importer, same run), peak memory of each (VmHWM of a child process per import),
//! and SM4 throughput of the encryption layer beside raw SM4 on the same bytes (the Parquet file).
//!
//! Run (release): `SHUYU_BENCH_ROWS=10000000 cargo bench -p shuyu-engine --bench import`
//! (default 1 000 000 rows; `-- --rows N` works too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

use std::hint::black_box;
use std::path::{Path as FsPath, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use aes_gcm::aead::{AeadInOut, KeyInit};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_catalog::FieldType;
use shuyu_crypto::{ChunkSize, DataKey, Encryptor, Sm4Gcm};
use shuyu_engine::{EncryptedStore, ImportField, ImportOptions, PrefixKeys, import_csv};
use shuyu_synth::{CityConfig, ColumnType, CsvEncoding, SocialInsurance, SyntheticCity, write_csv};
use sm4::Sm4;
use sm4::cipher::{Array, BlockCipherEncrypt};

const MB: f64 = 1_000_000.0;

fn fields() -> Vec<ImportField> {
    SocialInsurance::SCHEMA
        .columns
        .iter()
        .map(|c| {
            let t = match c.column_type {
                ColumnType::Text => FieldType::String,
                ColumnType::Integer => FieldType::Integer,
                ColumnType::Money => FieldType::Decimal,
                ColumnType::Date => FieldType::Date,
                ColumnType::Timestamp => FieldType::Timestamp,
                ColumnType::Boolean => FieldType::Boolean,
            };
            ImportField::new(c.name, t).with_format(c.format)
        })
        .collect()
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// One import in this (child) process; prints `rows secs parquet_bytes vmhwm_kib`.
fn child(mode: &str, csv: &FsPath, out: &FsPath) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let local: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(out).unwrap());
        let store: Arc<dyn ObjectStore> = if mode == "encrypted" {
            let keys = PrefixKeys::new();
            keys.insert(
                &Path::from("bench"),
                DataKey::generate(&mut StdRng::seed_from_u64(1)),
            );
            Arc::new(EncryptedStore::new(local, Arc::new(keys), [5; 32]))
        } else {
            local
        };
        let input = std::fs::File::open(csv).unwrap();
        let start = Instant::now();
        let report = import_csv(
            input,
            &fields(),
            store,
            &Path::from("bench/data.parquet"),
            ImportOptions::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{} {secs} {} {}",
            report.rows,
            report.parquet_bytes,
            vm_hwm_kib()
        );
    });
}

fn rows_arg() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rows") {
        return args[i + 1].replace('_', "").parse().unwrap();
    }
    std::env::var("SHUYU_BENCH_ROWS")
        .ok()
        .map_or(1_000_000, |v| v.replace('_', "").parse().unwrap())
}

struct Run {
    rows: u64,
    secs: f64,
    parquet_bytes: u64,
    hwm_kib: u64,
}

fn spawn(mode: &str, csv: &FsPath, out: &FsPath) -> Run {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--child", mode])
        .arg(csv)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let line = text.lines().last().unwrap();
    let v: Vec<&str> = line.split_whitespace().collect();
    Run {
        rows: v[0].parse().unwrap(),
        secs: v[1].parse().unwrap(),
        parquet_bytes: v[2].parse().unwrap(),
        hwm_kib: v[3].parse().unwrap(),
    }
}

fn best_of<F: FnMut()>(n: usize, mut f: F) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], FsPath::new(&args[3]), FsPath::new(&args[4]));
        return;
    }
    let rows = rows_arg();
    let dir = tempfile::tempdir().unwrap();
    let csv: PathBuf = dir.path().join("social_insurance.csv");
    let city = SyntheticCity::new(CityConfig::demo(), &mut StdRng::seed_from_u64(7)).unwrap();
    let t = Instant::now();
    {
        let mut file = std::fs::File::create(&csv).unwrap();
        write_csv(
            SocialInsurance::new(&city),
            rows,
            &mut file,
            CsvEncoding::Utf8,
        )
        .unwrap();
    }
    let csv_bytes = std::fs::metadata(&csv).unwrap().len();
    println!(
        "generated {rows} rows, {:.1} MB of CSV in {:.1} s",
        csv_bytes as f64 / MB,
        t.elapsed().as_secs_f64()
    );

    let plain_out = dir.path().join("plain");
    let enc_out = dir.path().join("encrypted");
    std::fs::create_dir_all(&plain_out).unwrap();
    std::fs::create_dir_all(&enc_out).unwrap();
    let plain = spawn("plain", &csv, &plain_out);
    let enc = spawn("encrypted", &csv, &enc_out);
    assert_eq!(plain.rows, rows);
    assert_eq!(enc.rows, rows);
    println!();
    println!(
        "| import ({rows} rows, {:.1} MB CSV) | seconds | rows/s | CSV MB/s | Parquet MB | peak RSS (VmHWM) |",
        csv_bytes as f64 / MB
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, run) in [
        ("plain Parquet", &plain),
        ("encrypted Parquet (SM4-GCM)", &enc),
    ] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.1} | {:.1} | {:.0} MiB |",
            run.secs,
            run.rows as f64 / run.secs,
            csv_bytes as f64 / MB / run.secs,
            run.parquet_bytes as f64 / MB,
            run.hwm_kib as f64 / 1024.0
        );
    }
    println!(
        "encryption overhead: {:+.1} % time",
        (enc.secs / plain.secs - 1.0) * 100.0
    );

    // SM4 on the same bytes: the plain Parquet file just written.
    // Tiled to at least 64 MiB so that timings are stable.
    let file = std::fs::read(plain_out.join("bench/data.parquet")).unwrap();
    let mut parquet = Vec::with_capacity(64 << 20);
    while parquet.len() < 64 << 20 {
        parquet.extend_from_slice(&file);
    }
    let len = parquet.len() as f64;
    let key = [7u8; 16];
    let mut scratch = parquet.clone();
    scratch.truncate(parquet.len() / 16 * 16);
    let raw = best_of(5, || {
        let cipher = Sm4::new(&key.into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut scratch);
        cipher.encrypt_blocks(blocks);
        black_box(&scratch);
    });
    let mut scratch = parquet.clone();
    let gcm = best_of(5, || {
        let cipher = Sm4Gcm::new(&key.into());
        let tag = cipher
            .encrypt_inout_detached(&[1u8; 12].into(), b"", scratch.as_mut_slice().into())
            .unwrap();
        black_box(tag);
    });
    let data_key = DataKey::generate(&mut StdRng::seed_from_u64(2));
    let layer = best_of(5, || {
        let mut enc = Encryptor::new(&data_key, ChunkSize::DEFAULT, &mut StdRng::seed_from_u64(3));
        let mut out = Vec::with_capacity(parquet.len() + parquet.len() / 1000 + 64);
        for piece in parquet.chunks(1024 * 1024) {
            enc.push_into(piece, &mut out).unwrap();
        }
        out.extend(enc.finish().unwrap());
        black_box(out);
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = PrefixKeys::new();
    keys.insert(
        &Path::from("b"),
        DataKey::generate(&mut StdRng::seed_from_u64(4)),
    );
    let store = EncryptedStore::new(Arc::new(InMemory::new()), Arc::new(keys), [6; 32]);
    let path = Path::from("b/data.parquet");
    let payload = bytes::Bytes::from(parquet.clone());
    let put = best_of(5, || {
        rt.block_on(store.put(&path, payload.clone().into()))
            .unwrap();
    });
    let get = best_of(5, || {
        let got = rt.block_on(async { store.get(&path).await.unwrap().bytes().await.unwrap() });
        assert_eq!(got.len(), parquet.len());
    });
    println!();
    println!(
        "| SM4 on the Parquet file's bytes ({:.1} MB, tiled to {:.1} MB; best of 5) | MB/s | vs raw SM4 |",
        file.len() as f64 / MB,
        len / MB
    );
    println!("|---|---:|---:|");
    for (name, secs) in [
        ("raw SM4 block encryption (ECB, the cipher alone)", raw),
        ("raw SM4-GCM, one shot", gcm),
        ("shuyu-crypto Encryptor (64 KiB chunks)", layer),
        ("EncryptedStore put (encrypt, in-memory store)", put),
        ("EncryptedStore get (fetch + decrypt + verify)", get),
    ] {
        println!("| {name} | {:.0} | {:.2} |", len / MB / secs, raw / secs);
    }
}
