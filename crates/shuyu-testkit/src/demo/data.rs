//! The demo city's data: the four synthetic datasets of `shuyu-synth` imported into their approved
//! resources, each by its source department (an import by the command line would not be a source
//! department's act). Rows are generated as CSV on a thread and streamed into the importer through
//! a bounded channel, so `--rows 1000000` needs no more memory than the default and no plaintext
//! file is written.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_app::{App, AppError, DatasetView, ImportSource};
use shuyu_catalog::{ResourceId, VersionState};
use shuyu_identity::Person;
use shuyu_synth::{
    BusRidership, CityConfig, ClinicVisits, CsvEncoding, EnterpriseRegistry, SocialInsurance,
    SyntheticCity, write_csv,
};

use super::catalog::person_ctx;

/// Rows per dataset that `shuyu demo` imports unless told otherwise (starts in seconds).
pub const DEFAULT_DEMO_ROWS: u64 = 50_000;

/// The demo's synthetic city (fixed seed: the same people every time).
pub fn city() -> SyntheticCity {
    SyntheticCity::new(CityConfig::demo(), &mut StdRng::seed_from_u64(7)).expect("demo city")
}

/// Which synthetic dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoDataset {
    EnterpriseRegistry,
    SocialInsurance,
    ClinicVisits,
    BusRidership,
}

impl DemoDataset {
    pub const ALL: [DemoDataset; 4] = [
        DemoDataset::EnterpriseRegistry,
        DemoDataset::SocialInsurance,
        DemoDataset::ClinicVisits,
        DemoDataset::BusRidership,
    ];

    /// The demo account of the source department that provides it.
    pub fn provider_username(self) -> &'static str {
        match self {
            DemoDataset::EnterpriseRegistry => "source",
            DemoDataset::SocialInsurance => "source2",
            DemoDataset::ClinicVisits => "source3",
            DemoDataset::BusRidership => "source4",
        }
    }

    /// The title it is registered under.
    pub fn title(self) -> &'static str {
        match self {
            DemoDataset::EnterpriseRegistry => EnterpriseRegistry::SCHEMA.title,
            DemoDataset::SocialInsurance => SocialInsurance::SCHEMA.title,
            DemoDataset::ClinicVisits => ClinicVisits::<StdRng>::SCHEMA.title,
            DemoDataset::BusRidership => BusRidership::<StdRng>::SCHEMA.title,
        }
    }

    /// Writes `rows` rows as CSV with a header line.
    pub fn write_csv(self, rows: u64, out: &mut impl Write, encoding: CsvEncoding) {
        let city = city();
        let written = match self {
            DemoDataset::EnterpriseRegistry => {
                write_csv(EnterpriseRegistry::new(&city), rows, out, encoding)
            }
            DemoDataset::SocialInsurance => {
                write_csv(SocialInsurance::new(&city), rows, out, encoding)
            }
            DemoDataset::ClinicVisits => write_csv(
                ClinicVisits::new(&city, StdRng::seed_from_u64(8)),
                rows,
                out,
                encoding,
            ),
            DemoDataset::BusRidership => write_csv(
                BusRidership::new(&city, StdRng::seed_from_u64(9)),
                rows,
                out,
                encoding,
            ),
        };
        // A closed reader (the import failed and stopped reading) ends the writer: not an error
        // of its own.
        let _ = written;
    }

    /// `rows` rows as CSV in memory (tests).
    pub fn csv(self, rows: u64, encoding: CsvEncoding) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_csv(rows, &mut out, encoding);
        out
    }

    /// The first `rows` rows as values (tests look for their identifiers).
    pub fn rows(self, rows: usize) -> Vec<shuyu_synth::Row> {
        let city = city();
        match self {
            DemoDataset::EnterpriseRegistry => EnterpriseRegistry::new(&city).take(rows).collect(),
            DemoDataset::SocialInsurance => SocialInsurance::new(&city).take(rows).collect(),
            DemoDataset::ClinicVisits => ClinicVisits::new(&city, StdRng::seed_from_u64(8))
                .take(rows)
                .collect(),
            DemoDataset::BusRidership => BusRidership::new(&city, StdRng::seed_from_u64(9))
                .take(rows)
                .collect(),
        }
    }

    /// `rows` rows as a CSV stream generated on a thread (bounded memory).
    pub fn stream(self, rows: u64) -> ImportSource {
        let (tx, rx) = sync_channel::<Vec<u8>>(8);
        std::thread::spawn(move || {
            let mut out = ChannelWriter { tx };
            self.write_csv(rows, &mut out, CsvEncoding::Utf8);
        });
        ImportSource::Csv(Box::new(ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }))
    }
}

/// The approved resource registered under `title`.
pub async fn resource_titled(app: &App, title: &str) -> Result<ResourceId, AppError> {
    for r in app.store().resources().await? {
        if r.versions
            .iter()
            .any(|v| v.draft.name == title && matches!(v.state, VersionState::Approved { .. }))
        {
            return Ok(r.id);
        }
    }
    Err(AppError::NotFound { kind: "resource" })
}

/// Imports `rows` rows of each synthetic dataset as its source department, unless the resource has
/// a dataset version already. Calls `progress(dataset title, rows so far)` after every batch.
pub async fn seed_datasets(
    app: &App,
    rows: u64,
    progress: impl Fn(&'static str, u64) + Send + Sync + Clone + 'static,
) -> Result<Vec<DatasetView>, AppError> {
    let system = shuyu_app::Ctx::system(shuyu_core::RequestId::mint(app.now(), [0x5f; 10]));
    let mut done = Vec::new();
    for dataset in DemoDataset::ALL {
        let resource = resource_titled(app, dataset.title()).await?;
        let person: Person = app
            .person_by_username(&system, dataset.provider_username())
            .await?;
        let ctx = person_ctx(app, &person);
        if !app.datasets(&ctx, resource).await?.is_empty() {
            continue;
        }
        let report = progress.clone();
        let title = dataset.title();
        let view = app
            .import_dataset(
                &ctx,
                resource,
                dataset.stream(rows),
                Box::new(move |p| report(title, p.rows)),
            )
            .await?;
        done.push(view);
    }
    Ok(done)
}

struct ChannelWriter {
    tx: SyncSender<Vec<u8>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the importer stopped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.buf = next;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let rest = &self.buf[self.pos..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}
