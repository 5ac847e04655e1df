//! Test fixture: the synthetic social-insurance dataset imported into an `EncryptedStore` over a
//! temporary directory, and sessions over it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_catalog::FieldType;
use shuyu_crypto::{ChunkSize, DataKey};
use shuyu_engine::{EncryptedStore, ImportField, ImportOptions, PrefixKeys, import_csv, publish};
use shuyu_sandbox::{ColumnControl, Limits, SandboxSession, SessionSpec, TableSpec};
use shuyu_synth::{CityConfig, ColumnType, CsvEncoding, SocialInsurance, SyntheticCity, write_csv};

/// Rows of the test dataset.
pub const ROWS: u64 = 20_000;

/// The dataset's folder (its data key's prefix).
pub fn dataset() -> Path {
    Path::from("datasets/social")
}

/// The published Parquet file.
pub fn file() -> Path {
    Path::from("datasets/social/v1/data.parquet")
}

pub fn fields() -> Vec<ImportField> {
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

pub fn csv(rows: u64) -> Vec<u8> {
    let city = SyntheticCity::new(CityConfig::demo(), &mut StdRng::seed_from_u64(7)).unwrap();
    let mut out = Vec::new();
    write_csv(
        SocialInsurance::new(&city),
        rows,
        &mut out,
        CsvEncoding::Utf8,
    )
    .unwrap();
    out
}

pub fn data_key(seed: u64) -> DataKey {
    DataKey::generate(&mut StdRng::seed_from_u64(seed))
}

/// An encrypted dataset in a temporary directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub local: Arc<dyn ObjectStore>,
    pub keys: Arc<PrefixKeys>,
    pub store: Arc<dyn ObjectStore>,
    pub csv: Vec<u8>,
    /// Plaintext bytes of the Parquet file.
    pub parquet_bytes: u64,
}

impl Fixture {
    /// Imports `ROWS` synthetic rows (row groups of 2 000) under data key 1.
    pub async fn new() -> Self {
        Self::with_rows(ROWS, 2000).await
    }

    /// Imports `rows` synthetic rows in row groups of `group` under data key 1.
    pub async fn with_rows(rows: u64, group: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let keys = Arc::new(PrefixKeys::new());
        keys.insert(&dataset(), data_key(1));
        let store = encrypted(&local, &keys);
        let csv = csv(rows);
        let report = import_csv(
            csv.as_slice(),
            &fields(),
            Arc::clone(&store),
            &Path::from("datasets/social/staging/a.parquet"),
            ImportOptions {
                batch_rows: 1000,
                row_group_rows: group,
                upload_buffer: 64 * 1024,
            },
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(report.rows, rows);
        publish(store.as_ref(), &report.path, &file())
            .await
            .unwrap();
        Self {
            dir,
            local,
            keys,
            store,
            csv,
            parquet_bytes: report.parquet_bytes,
        }
    }

    /// A session with one table `name` exposing `columns` of the dataset.
    pub async fn session(&self, name: &str, columns: &[&str], limits: Limits) -> SandboxSession {
        SandboxSession::new(self.spec(name, columns, limits))
            .await
            .unwrap()
    }

    pub fn spec(&self, name: &str, columns: &[&str], limits: Limits) -> SessionSpec {
        SessionSpec {
            tables: vec![TableSpec {
                name: name.to_owned(),
                path: file(),
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                controls: columns
                    .iter()
                    .map(|c| ((*c).to_owned(), ColumnControl::Visible))
                    .collect(),
            }],
            store: Arc::clone(&self.store),
            limits,
            domain: shuyu_sandbox::QueryDomain::shared(usize::MAX),
        }
    }

    /// Counts the CSV's rows per value of `column`.
    pub fn count_by(&self, column: &str) -> BTreeMap<String, i64> {
        let mut reader = csv::Reader::from_reader(self.csv.as_slice());
        let index = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap();
        let mut counts = BTreeMap::new();
        for record in reader.records() {
            *counts.entry(record.unwrap()[index].to_owned()).or_insert(0) += 1;
        }
        counts
    }
}

pub fn encrypted(local: &Arc<dyn ObjectStore>, keys: &Arc<PrefixKeys>) -> Arc<dyn ObjectStore> {
    Arc::new(
        EncryptedStore::new(Arc::clone(local), Arc::clone(keys) as _, [9; 32])
            .with_chunk_size(ChunkSize::new(4096).unwrap()),
    )
}

/// Every exposed column of the social-insurance dataset.
pub fn all_columns() -> Vec<&'static str> {
    SocialInsurance::SCHEMA
        .columns
        .iter()
        .map(|c| c.name)
        .collect()
}

pub fn total_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}
