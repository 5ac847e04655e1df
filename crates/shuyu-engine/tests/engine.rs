//! The engine end to end: CSV → encrypted Parquet in a local directory → ranged reads back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
// `ParquetObjectReader` is deprecated in parquet 59 in favour of an own `AsyncFileReader`; it is
// still what DataFusion 55 reads `object_store` objects with, so the tests read through it.
#![allow(deprecated)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{Array, RecordBatch};
use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ProjectionMask;
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_catalog::FieldType;
use shuyu_crypto::{ChunkSize, DataKey};
use shuyu_engine::{
    EncryptedStore, ImportError, ImportField, ImportOptions, ImportReport, KeyError, KeyRing,
    PrefixKeys, SourceEncoding, import_csv, import_parquet, publish,
};
use shuyu_synth::{
    CityConfig, ColumnType, CsvEncoding, SocialInsurance, SyntheticCity, Value, write_csv,
};
use sm3::Digest;

const MASTER_A: &str = "000102030405060708090a0b0c0d0e0f";
const MASTER_B: &str = "f0e0d0c0b0a090807060504030201000";

fn dataset() -> Path {
    Path::from("datasets/social")
}

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

fn city() -> SyntheticCity {
    SyntheticCity::new(CityConfig::demo(), &mut StdRng::seed_from_u64(7)).unwrap()
}

fn rows(n: usize) -> Vec<Vec<Value>> {
    SocialInsurance::new(&city()).take(n).collect()
}

fn csv(n: u64, encoding: CsvEncoding) -> Vec<u8> {
    let mut out = Vec::new();
    write_csv(SocialInsurance::new(&city()), n, &mut out, encoding).unwrap();
    out
}

struct Env {
    dir: tempfile::TempDir,
    local: Arc<dyn ObjectStore>,
    store: Arc<dyn ObjectStore>,
}

fn env_with_key(key: DataKey) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let store = encrypted(&local, key);
    Env { dir, local, store }
}

fn encrypted(local: &Arc<dyn ObjectStore>, key: DataKey) -> Arc<dyn ObjectStore> {
    let keys = PrefixKeys::new();
    keys.insert(&dataset(), key);
    // Small chunks, so that reads cross many chunk boundaries.
    Arc::new(
        EncryptedStore::new(Arc::clone(local), Arc::new(keys), [9; 32])
            .with_chunk_size(ChunkSize::new(1024).unwrap()),
    )
}

fn env() -> Env {
    env_with_key(data_key(1))
}

fn data_key(seed: u64) -> DataKey {
    DataKey::generate(&mut StdRng::seed_from_u64(seed))
}

fn small() -> ImportOptions {
    ImportOptions {
        batch_rows: 500,
        row_group_rows: 1000,
        upload_buffer: 16 * 1024,
    }
}

async fn import(
    store: &Arc<dyn ObjectStore>,
    input: &[u8],
    staging: &str,
) -> Result<ImportReport, ImportError> {
    let mut seen = Vec::new();
    let result = import_csv(
        input,
        &fields(),
        Arc::clone(store),
        &Path::from(staging),
        small(),
        &mut |p| seen.push(p),
    )
    .await;
    if let Ok(report) = &result {
        assert_eq!(
            seen.last().unwrap().rows,
            report.rows,
            "progress reaches the end"
        );
        assert!(seen.windows(2).all(|w| w[0].rows < w[1].rows));
    }
    result
}

async fn read(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    columns: &[usize],
    row_groups: Vec<usize>,
) -> Vec<RecordBatch> {
    let reader = ParquetObjectReader::new(Arc::clone(store), path.clone());
    let builder = ParquetRecordBatchStreamBuilder::new(reader).await.unwrap();
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
    builder
        .with_projection(mask)
        .with_row_groups(row_groups)
        .build()
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Null => None,
        other => panic!("not text: {other:?}"),
    }
}

#[tokio::test]
async fn csv_round_trips_through_encrypted_parquet_read_by_projection_and_row_group() {
    let env = env();
    let report = import(
        &env.store,
        &csv(3000, CsvEncoding::Utf8),
        "datasets/social/staging/a.parquet",
    )
    .await
    .unwrap();
    assert_eq!(report.rows, 3000);
    assert_eq!(report.row_groups, 3);
    assert_eq!(report.encoding, Some(SourceEncoding::Utf8));
    let target = Path::from("datasets/social/v1/data.parquet");
    publish(env.store.as_ref(), &report.path, &target)
        .await
        .unwrap();

    // Plaintext size and digest as reported, through the decrypting store.
    let meta = env.store.head(&target).await.unwrap();
    assert_eq!(meta.size, report.parquet_bytes);
    let whole = env.store.get(&target).await.unwrap().bytes().await.unwrap();
    assert_eq!(hex::encode(sm3::Sm3::digest(&whole)), report.sm3);
    assert!(whole.starts_with(b"PAR1"));
    // The listing reports the plaintext size too; the file on disk is larger (header and tags).
    let listed: Vec<_> = env
        .store
        .list(Some(&dataset()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, report.parquet_bytes);
    assert!(env.local.head(&target).await.unwrap().size > report.parquet_bytes);

    // Two columns of the middle row group only.
    let batches = read(&env.store, &target, &[0, 4], vec![1]).await;
    let source = rows(3000);
    let mut i = 1000;
    for batch in &batches {
        assert_eq!(batch.num_columns(), 2);
        let ids = batch.column(0).as_string::<i32>();
        let base = batch.column(1).as_primitive::<Decimal128Type>();
        for r in 0..batch.num_rows() {
            assert_eq!(Some(ids.value(r).to_owned()), text(&source[i][0]));
            let Value::Money(fen) = source[i][4] else {
                panic!()
            };
            assert_eq!(base.value(r), i128::from(fen) * 10_000, "scale 2 → 6");
            i += 1;
        }
    }
    assert_eq!(i, 2000);

    // Arbitrary byte ranges decrypt to exactly the plaintext bytes.
    for range in [0..1, 5..7000, 1023..1025, 100..whole.len() as u64] {
        let got = env.store.get_range(&target, range.clone()).await.unwrap();
        assert_eq!(&got[..], &whole[range.start as usize..range.end as usize]);
    }
    let ranges = [3..9, 1000..9000, whole.len() as u64 - 8..whole.len() as u64];
    let got = env.store.get_ranges(&target, &ranges).await.unwrap();
    for (r, g) in ranges.iter().zip(got) {
        assert_eq!(&g[..], &whole[r.start as usize..r.end as usize]);
    }
}

#[tokio::test]
async fn gb18030_input_is_detected_and_imports_the_same_file_as_utf8() {
    let env = env();
    let utf8 = import(
        &env.store,
        &csv(1200, CsvEncoding::Utf8),
        "datasets/social/staging/u.parquet",
    )
    .await
    .unwrap();
    let gb = csv(1200, CsvEncoding::Gb18030);
    assert!(std::str::from_utf8(&gb).is_err());
    let gbk = import(&env.store, &gb, "datasets/social/staging/g.parquet")
        .await
        .unwrap();
    assert_eq!(gbk.encoding, Some(SourceEncoding::Gb18030));
    assert_eq!(gbk.rows, 1200);
    assert_eq!(gbk.sm3, utf8.sm3, "same rows, same Parquet bytes");
    let names = read(&env.store, &gbk.path, &[1], vec![0]).await;
    let source = rows(1);
    assert_eq!(
        Some(names[0].column(0).as_string::<i32>().value(0).to_owned()),
        text(&source[0][1])
    );
}

#[tokio::test]
async fn missing_extra_and_duplicated_columns_are_all_reported() {
    let env = env();
    let input = "name,insurance_type,contribution_month,contribution_base,personal_amount,employer_amount,employer_credit_code,phone,name\r\n";
    let err = import(
        &env.store,
        input.as_bytes(),
        "datasets/social/staging/s.parquet",
    )
    .await
    .unwrap_err();
    let ImportError::Schema(m) = &err else {
        panic!("{err}")
    };
    assert_eq!(m.missing, ["resident_id"]);
    assert_eq!(m.extra, ["phone"]);
    assert_eq!(m.duplicated, ["name"]);
    assert_eq!(
        err.to_string(),
        "the file's columns do not match the registered fields: missing columns: resident_id; \
         unregistered columns: phone; duplicated columns: name"
    );
}

#[tokio::test]
async fn a_parquet_column_of_the_wrong_type_is_reported_with_the_others() {
    let env = env();
    // A Parquet file whose `contribution_base` is an integer and which lacks `name`.
    let mut fields = fields();
    fields[4] = ImportField::new("contribution_base", FieldType::Integer);
    fields.remove(1);
    let schema = shuyu_engine::arrow_schema(&fields);
    let columns = schema
        .fields()
        .iter()
        .map(|f| arrow_array::new_null_array(f.data_type(), 3))
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut file = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let err = import_parquet(
        bytes::Bytes::from(file),
        &self::fields(),
        Arc::clone(&env.store),
        &Path::from("datasets/social/staging/p.parquet"),
        small(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    let ImportError::Schema(m) = &err else {
        panic!("{err}")
    };
    assert_eq!(m.missing, ["name"]);
    assert_eq!(m.mismatched.len(), 1);
    assert_eq!(m.mismatched[0].column, "contribution_base");
    assert!(
        err.to_string()
            .contains("contribution_base is Int64, registered as decimal"),
        "{err}"
    );
}

#[tokio::test]
async fn parquet_input_imports_into_the_same_file_as_its_csv() {
    let env = env();
    let from_csv = import(
        &env.store,
        &csv(700, CsvEncoding::Utf8),
        "datasets/social/staging/c.parquet",
    )
    .await
    .unwrap();
    let plain = env
        .store
        .get(&from_csv.path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let report = import_parquet(
        plain,
        &fields(),
        Arc::clone(&env.store),
        &Path::from("datasets/social/staging/p.parquet"),
        small(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.rows, 700);
    assert_eq!(report.encoding, None);
    assert_eq!(report.profiles, from_csv.profiles);
}

#[tokio::test]
async fn a_malformed_value_names_line_column_and_field_but_not_the_value() {
    let env = env();
    let mut input = String::from_utf8(csv(3, CsvEncoding::Utf8)).unwrap();
    let lines: Vec<&str> = input.split("\r\n").collect();
    let mut cells: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    cells[4] = "12x.50".to_owned();
    let bad = cells.join(",");
    input = input.replace(lines[2], &bad);
    let err = import(
        &env.store,
        input.as_bytes(),
        "datasets/social/staging/m.parquet",
    )
    .await
    .unwrap_err();
    let ImportError::Value {
        line,
        column,
        field,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(
        (*line, *column, field.as_str()),
        (3, 5, "contribution_base")
    );
    assert!(
        err.to_string()
            .starts_with("line 3, column 5 (contribution_base): not a decimal")
    );
    assert!(!err.to_string().contains("12x"));

    let err = import(
        &env.store,
        b"resident_id,name\r\n\"unclosed",
        "datasets/social/staging/q.parquet",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ImportError::Schema(_)), "{err}");
}

#[tokio::test]
async fn a_failed_import_leaves_nothing_in_the_store() {
    let env = env();
    // The bad value is far enough in that parts of the upload were already written.
    let mut input = String::from_utf8(csv(4000, CsvEncoding::Utf8)).unwrap();
    input.push_str("110101199001011234,张三,养老,2025-01,abc,1.00,2.00,91110000600037341L\r\n");
    let err = import(
        &env.store,
        input.as_bytes(),
        "datasets/social/staging/f.parquet",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Value {
                line: 4002,
                column: 5,
                ..
            }
        ),
        "{err}"
    );
    let left: Vec<_> = env.store.list(None).try_collect().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let files: Vec<_> = walk(env.dir.path());
    assert!(files.is_empty(), "{files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_resident_id_number_is_readable_in_the_store_directory() {
    let input = csv(2000, CsvEncoding::Utf8);
    let ids: Vec<String> = rows(2000).iter().filter_map(|r| text(&r[0])).collect();
    assert!(ids.len() > 100);

    // Control: the same import into plain Parquet does show the identifiers.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(plain_dir.path()).unwrap());
    import(&plain, &input, "datasets/social/v1/data.parquet")
        .await
        .unwrap();
    let plain_bytes: Vec<u8> = walk(plain_dir.path())
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    assert!(ids.iter().any(|id| contains(&plain_bytes, id.as_bytes())));

    let env = env();
    let report = import(&env.store, &input, "datasets/social/staging/x.parquet")
        .await
        .unwrap();
    publish(
        env.store.as_ref(),
        &report.path,
        &Path::from("datasets/social/v1/data.parquet"),
    )
    .await
    .unwrap();
    let files = walk(env.dir.path());
    assert_eq!(files.len(), 1);
    let stored = std::fs::read(&files[0]).unwrap();
    assert!(stored.starts_with(b"SYENC"));
    for id in &ids {
        assert!(
            !contains(&stored, id.as_bytes()),
            "identifier found in the store"
        );
    }
    assert!(!contains(&stored, b"PAR1"));
}

#[tokio::test]
async fn a_wrong_or_missing_data_key_is_a_clear_error() {
    let env = env();
    let report = import(
        &env.store,
        &csv(100, CsvEncoding::Utf8),
        "datasets/social/staging/k.parquet",
    )
    .await
    .unwrap();
    let wrong = encrypted(&env.local, data_key(2));
    let err = wrong.get(&report.path).await.unwrap_err().to_string();
    assert!(err.contains("was encrypted with data key"), "{err}");

    let reader = ParquetObjectReader::new(Arc::clone(&wrong), report.path.clone());
    let Err(err) = ParquetRecordBatchStreamBuilder::new(reader).await else {
        panic!("read with the wrong key")
    };
    let err = err.to_string();
    assert!(err.contains("was encrypted with data key"), "{err}");

    let none: Arc<dyn ObjectStore> = Arc::new(EncryptedStore::new(
        Arc::clone(&env.local),
        Arc::new(PrefixKeys::new()),
        [0; 32],
    ));
    let err = none.get(&report.path).await.unwrap_err().to_string();
    assert!(
        err.contains("no data key is configured for datasets/social/staging/k.parquet"),
        "{err}"
    );
    // A plaintext object slipped into the directory is refused, not served.
    let stray = Path::from("datasets/social/stray.csv");
    env.local
        .put(&stray, PutPayload::from_static(b"resident_id\n"))
        .await
        .unwrap();
    let err = env.store.get(&stray).await.unwrap_err().to_string();
    assert!(err.contains("not an encrypted shuyu file"), "{err}");

    let err = none
        .put(&Path::from("other/x"), PutPayload::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no data key"), "{err}");
}

#[tokio::test]
async fn an_altered_file_fails_authentication_instead_of_returning_bytes() {
    let env = env();
    let report = import(
        &env.store,
        &csv(300, CsvEncoding::Utf8),
        "datasets/social/staging/t.parquet",
    )
    .await
    .unwrap();
    let file = walk(env.dir.path()).remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let err = env
        .store
        .get_range(&report.path, 0..10)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("chunk 0 failed authentication"), "{err}");
}

#[tokio::test]
async fn multipart_uploads_stream_through_the_encryptor() {
    let env = env();
    let path = Path::from("datasets/social/blob");
    let data: Vec<u8> = (0..1_000_000_u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut upload = object_store::buffered::BufWriter::with_capacity(
        Arc::clone(&env.store),
        path.clone(),
        10_000,
    );
    for piece in data.chunks(33_333) {
        upload
            .put(bytes::Bytes::copy_from_slice(piece))
            .await
            .unwrap();
    }
    tokio::io::AsyncWriteExt::shutdown(&mut upload)
        .await
        .unwrap();
    let got = env.store.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], &data[..]);
    assert_eq!(env.store.head(&path).await.unwrap().size, 1_000_000);
    let got = env
        .store
        .get_range(&path, 999_990..2_000_000)
        .await
        .unwrap();
    assert_eq!(&got[..], &data[999_990..]);
    assert!(
        env.store
            .get_range(&path, 1_000_000..1_000_001)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn master_key_rotation_rewraps_and_data_stays_readable() {
    let ring_a = KeyRing::from_config(Some(MASTER_A), None).unwrap();
    let ring_b = KeyRing::from_config(None, Some(MASTER_B)).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let (key, wrapped) = ring_a.new_data_key(&mut rng).unwrap();
    let wrapped = wrapped.to_string();
    let env = env_with_key(key);
    let report = import(
        &env.store,
        &csv(200, CsvEncoding::Utf8),
        "datasets/social/staging/r.parquet",
    )
    .await
    .unwrap();

    // The other master key cannot open the wrapped key: a clear error naming both key ids.
    let err = ring_b.data_key(&wrapped).unwrap_err();
    assert!(matches!(
        err,
        KeyError::Crypto(shuyu_crypto::CryptoError::WrongMasterKey { .. })
    ));
    assert!(err.to_string().contains(&ring_b.master_key_id()), "{err}");

    let rotated = ring_a.rotate(&ring_b, &wrapped, &mut rng).unwrap();
    assert_ne!(rotated, wrapped);
    let key = ring_b.data_key(&rotated).unwrap();
    assert!(ring_a.data_key(&rotated).is_err());
    let store = encrypted(&env.local, key);
    let batches = read(&store, &report.path, &[0], vec![0]).await;
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        200
    );
}

#[test]
fn a_missing_or_malformed_master_key_is_a_clear_error() {
    let err = KeyRing::from_config(None, Some("  ")).unwrap_err();
    assert_eq!(err, KeyError::MissingMasterKey);
    assert!(err.to_string().contains("SHUYU_MASTER_KEY"));
    assert!(KeyRing::from_config(Some("not a key"), None).is_err());
    let ring = KeyRing::from_config(Some(MASTER_A), Some(MASTER_B)).unwrap();
    assert!(!format!("{ring:?}").contains(MASTER_A));
    let ring_b = KeyRing::from_config(None, Some(MASTER_B)).unwrap();
    assert_ne!(
        ring.master_key_id(),
        ring_b.master_key_id(),
        "config wins over env"
    );
}

#[test]
fn empty_values_are_null_and_array_lengths_match() {
    // A smoke check of the null path through the column builders.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let env = env();
        let mut input = String::from_utf8(csv(1, CsvEncoding::Utf8)).unwrap();
        input.push_str(",,,,,,,\r\n");
        let report = import(
            &env.store,
            input.as_bytes(),
            "datasets/social/staging/n.parquet",
        )
        .await
        .unwrap();
        let batches = read(&env.store, &report.path, &[0, 4], vec![0]).await;
        assert_eq!(batches[0].column(1).null_count(), 1);
        assert_eq!(report.profiles[0].1.nulls, 1);
    });
}

/// Delegates to an inner store, counting the bytes returned by reads.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    read: std::sync::atomic::AtomicU64,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        let result = self.inner.get_opts(location, options).await?;
        self.read.fetch_add(
            result.range.end - result.range.start,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(result)
    }
    fn delete_stream(
        &self,
        locations: futures_util::stream::BoxStream<'static, object_store::Result<Path>>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
    {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[tokio::test]
async fn a_projected_read_of_one_row_group_fetches_a_fraction_of_the_encrypted_file() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let counting = Arc::new(Counting {
        inner: local,
        read: std::sync::atomic::AtomicU64::new(0),
    });
    let inner: Arc<dyn ObjectStore> = counting.clone();
    let store = encrypted(&inner, data_key(1));
    let report = import_csv(
        &csv(80_000, CsvEncoding::Utf8)[..],
        &fields(),
        Arc::clone(&store),
        &Path::from("datasets/social/staging/c.parquet"),
        ImportOptions {
            batch_rows: 10_000,
            row_group_rows: 10_000,
            upload_buffer: 64 * 1024,
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.row_groups, 8);
    let file_len = inner.head(&report.path).await.unwrap().size;

    counting.read.store(0, std::sync::atomic::Ordering::Relaxed);
    let batches = read(&store, &report.path, &[4], vec![7]).await;
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        10_000
    );
    let fetched = counting.read.load(std::sync::atomic::Ordering::Relaxed);
    println!("projected read of 1 of 8 row groups fetched {fetched} of {file_len} bytes");
    assert!(
        fetched * 5 < file_len,
        "fetched {fetched} of {file_len} ciphertext bytes"
    );
}
