//! Spooling an upload to disk **encrypted**: the importer reads synchronously (CSV) or in ranges
//! (Parquet), so an upload arriving over the network is first written to an anonymous temporary
//! file through SM4-GCM under a throwaway data key that exists only in memory, then read back —
//! decrypting and authenticating chunk by chunk — as a [`Read`] or a Parquet [`ChunkReader`].
//!
//! No plaintext of the upload touches the disk, and the temporary file has no name (it disappears
//! with the process on a crash); its key dies with the [`Spooled`] value.
//!
//! This module must never return bytes of a chunk that failed authentication.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};
use rand::CryptoRng;
use shuyu_crypto::{ChunkSize, DataKey, EncryptingWriter, FileDecryptor, FileLayout, HEADER_LEN};

/// Plaintext bytes decrypted per step of a sequential read.
const READ_WINDOW: u64 = 1024 * 1024;

/// An upload being written to an encrypted temporary file.
pub struct SpoolWriter {
    writer: EncryptingWriter<BufWriter<File>>,
    key: DataKey,
    written: u64,
}

impl SpoolWriter {
    /// An anonymous temporary file in `dir`, encrypted under a fresh key drawn from `rng`.
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn new(dir: &Path, rng: &mut impl CryptoRng) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = tempfile::tempfile_in(dir)?;
        let key = DataKey::generate(rng);
        let writer = EncryptingWriter::new(
            BufWriter::with_capacity(256 * 1024, file),
            &key,
            ChunkSize::DEFAULT,
            rng,
        );
        Ok(Self {
            writer,
            key,
            written: 0,
        })
    }

    /// Plaintext bytes written so far.
    #[must_use]
    pub const fn written(&self) -> u64 {
        self.written
    }

    /// Writes the final chunk and opens the file for reading.
    ///
    /// # Errors
    /// Those of the file.
    pub fn finish(self) -> io::Result<Spooled> {
        let mut file = self
            .writer
            .finish()?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        let file_len = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        let mut header = [0_u8; HEADER_LEN];
        file.read_exact(&mut header)?;
        let layout = FileLayout::from_header(&header, file_len).map_err(io::Error::other)?;
        let decryptor = layout.open(&self.key).map_err(io::Error::other)?;
        Ok(Spooled {
            inner: Arc::new(Inner {
                file: Mutex::new(file),
                len: layout.plaintext_len(),
                layout,
                decryptor,
            }),
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

struct Inner {
    file: Mutex<File>,
    layout: FileLayout,
    decryptor: FileDecryptor,
    len: u64,
}

impl Inner {
    fn read_plain(&self, plain: &Range<u64>) -> io::Result<Vec<u8>> {
        let fetch = self
            .layout
            .ciphertext_range(plain)
            .map_err(io::Error::other)?;
        let mut buf =
            vec![0_u8; usize::try_from(fetch.end - fetch.start).map_err(io::Error::other)?];
        {
            let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
            file.seek(SeekFrom::Start(fetch.start))?;
            file.read_exact(&mut buf)?;
        }
        self.decryptor
            .decrypt_range(&buf, plain)
            .map_err(io::Error::other)
    }
}

/// A spooled upload, readable as plaintext (sequentially or in ranges). Cheap to clone.
#[derive(Clone)]
pub struct Spooled {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Spooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spooled")
            .field("len", &self.inner.len)
            .finish_non_exhaustive()
    }
}

impl Spooled {
    /// A sequential reader from the start.
    #[must_use]
    pub fn reader(&self) -> SpoolReader {
        SpoolReader {
            inner: Arc::clone(&self.inner),
            pos: 0,
            buf: Vec::new(),
            buf_pos: 0,
        }
    }
}

impl Length for Spooled {
    fn len(&self) -> u64 {
        self.inner.len
    }
}

impl ChunkReader for Spooled {
    type T = SpoolReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(SpoolReader {
            inner: Arc::clone(&self.inner),
            pos: start.min(self.inner.len),
            buf: Vec::new(),
            buf_pos: 0,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start.saturating_add(length as u64);
        self.inner
            .read_plain(&(start..end))
            .map(Bytes::from)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}

/// Reads a spooled upload's plaintext sequentially, a window at a time.
pub struct SpoolReader {
    inner: Arc<Inner>,
    /// Plaintext offset of the end of `buf`.
    pos: u64,
    buf: Vec<u8>,
    buf_pos: usize,
}

impl Read for SpoolReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf_pos >= self.buf.len() {
            if self.pos >= self.inner.len {
                return Ok(0);
            }
            let end = (self.pos + READ_WINDOW).min(self.inner.len);
            self.buf = self.inner.read_plain(&(self.pos..end))?;
            self.buf_pos = 0;
            self.pos = end;
        }
        let rest = self.buf.get(self.buf_pos..).unwrap_or_default();
        let n = rest.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.buf_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn a_spooled_upload_reads_back_and_holds_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let mut spool = SpoolWriter::new(dir.path(), &mut rng).unwrap();
        let text: Vec<u8> = (0..300_000_u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        for part in text.chunks(7_777) {
            spool.write_all(part).unwrap();
        }
        assert_eq!(spool.written(), text.len() as u64);
        let spooled = spool.finish().unwrap();
        let mut back = Vec::new();
        spooled.reader().read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
        let range = spooled.get_bytes(100_000, 70_000).unwrap();
        assert_eq!(&range[..], &text[100_000..170_000]);
        let mut tail = Vec::new();
        spooled
            .get_read(text.len() as u64 - 10)
            .unwrap()
            .read_to_end(&mut tail)
            .unwrap();
        assert_eq!(tail, &text[text.len() - 10..]);
        // The file is anonymous: nothing with a name is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
