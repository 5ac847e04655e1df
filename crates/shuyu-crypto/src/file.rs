//! The SYENC encrypted file: a fixed header, then SM4-GCM chunks of a fixed plaintext size, so that
//! any plaintext byte range maps by arithmetic to a range of whole chunks that can be fetched and
//! authenticated on their own. See the crate documentation for the byte layout.
//!
//! This module must never return plaintext from a chunk whose tag did not verify, and never do I/O:
//! callers fetch the byte ranges [`FileLayout::ciphertext_range`] names and hand them in.

use std::io;
use std::ops::Range;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hmac::{Hmac, Mac};
use rand::CryptoRng;
use sm3::Sm3;
use zeroize::Zeroizing;

use crate::keys::{DataKey, KEY_ID_LEN, KEY_LEN, KeyId};
use crate::{CryptoError, Sm4Gcm};

/// Magic bytes at the start of every encrypted file.
pub const MAGIC: [u8; 5] = *b"SYENC";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm byte for SM4-GCM with 12-byte nonces and 16-byte tags.
pub const ALGORITHM_SM4_GCM: u8 = 1;
/// Bytes in the header.
pub const HEADER_LEN: usize = 36;
/// Bytes in each chunk's GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes in the random file id.
pub const FILE_ID_LEN: usize = 16;

const FILE_KEY_LABEL: &[u8] = b"shuyu file key v1\0";
const AAD_LEN: usize = HEADER_LEN + 8 + 1;
const HEADER_LEN_U64: u64 = HEADER_LEN as u64;
const TAG_LEN_U64: u64 = TAG_LEN as u64;

/// Plaintext bytes per chunk: 16 B to 16 MiB, default 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkSize(u32);

impl ChunkSize {
    /// 64 KiB: small enough that a ranged read rarely fetches much more than it needs, large
    /// enough that the 16-byte tag costs 0.02 %.
    pub const DEFAULT: Self = Self(64 * 1024);
    /// The smallest chunk size.
    pub const MIN: u32 = 16;
    /// The largest chunk size: the writer holds one chunk in memory.
    pub const MAX: u32 = 16 * 1024 * 1024;

    /// # Errors
    /// [`CryptoError::ChunkSize`] outside [`Self::MIN`]..=[`Self::MAX`].
    pub const fn new(bytes: u32) -> Result<Self, CryptoError> {
        if bytes < Self::MIN || bytes > Self::MAX {
            return Err(CryptoError::ChunkSize(bytes));
        }
        Ok(Self(bytes))
    }

    /// Plaintext bytes per chunk.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    const fn plain(self) -> u64 {
        self.0 as u64
    }

    /// Ciphertext bytes of every chunk but the last.
    const fn sealed(self) -> u64 {
        self.0 as u64 + TAG_LEN_U64
    }

    #[allow(clippy::cast_possible_truncation)] // at most 16 MiB
    const fn usize(self) -> usize {
        self.0 as usize
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Ciphertext length of a file of `plain_len` bytes: header, plaintext, one tag per chunk
/// (an empty file has one empty chunk).
#[must_use]
pub const fn ciphertext_len(plain_len: u64, chunk_size: ChunkSize) -> u64 {
    let chunks = if plain_len == 0 {
        1
    } else {
        plain_len.div_ceil(chunk_size.plain())
    };
    HEADER_LEN_U64 + plain_len + chunks * TAG_LEN_U64
}

/// Streaming encryption: takes plaintext in pieces of any size and returns ciphertext as soon as
/// a chunk is complete. Holds at most one chunk of plaintext. The first output starts with the
/// header. A chunk is sealed only once the next byte arrives (or at [`Encryptor::finish`]), since
/// only then is it known whether it is the final one.
pub struct Encryptor {
    cipher: Sm4Gcm,
    header: [u8; HEADER_LEN],
    chunk_size: ChunkSize,
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    header_written: bool,
}

impl Encryptor {
    /// Starts a file under `data_key` with a random file id drawn from `rng`.
    pub fn new(data_key: &DataKey, chunk_size: ChunkSize, rng: &mut impl CryptoRng) -> Self {
        let mut file_id = [0; FILE_ID_LEN];
        rng.fill_bytes(&mut file_id);
        let header = Header {
            chunk_size,
            file_id,
            data_key_id: data_key.key_id(),
        };
        Self {
            cipher: file_cipher(data_key, &file_id),
            header: header.to_bytes(),
            chunk_size,
            buf: Zeroizing::new(Vec::with_capacity(chunk_size.usize())),
            index: 0,
            header_written: false,
        }
    }

    /// The header this file starts with.
    #[must_use]
    pub const fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Encrypts `plaintext` and returns the ciphertext completed so far.
    ///
    /// # Errors
    /// None in practice: SM4-GCM refuses only messages over 64 GiB, and chunks are at most 16 MiB.
    pub fn push(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        self.push_into(plaintext, &mut out)?;
        Ok(out)
    }

    /// As [`Encryptor::push`], appending the ciphertext to `out` (saves an allocation per call).
    ///
    /// # Errors
    /// As [`Encryptor::push`].
    pub fn push_into(
        &mut self,
        mut plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.write_header(out);
        let chunk = self.chunk_size.usize();
        while !plaintext.is_empty() {
            if self.buf.len() == chunk {
                let buf = std::mem::take(&mut *self.buf);
                self.seal(&buf, false, out)?;
                *self.buf = buf;
                self.buf.clear();
            }
            // Fast path: whole chunks that are surely not the last go straight from the input.
            while self.buf.is_empty() {
                match plaintext.split_at_checked(chunk) {
                    Some((head, rest)) if !rest.is_empty() => {
                        self.seal(head, false, out)?;
                        plaintext = rest;
                    }
                    _ => break,
                }
            }
            let take = (chunk - self.buf.len()).min(plaintext.len());
            let (head, rest) = plaintext.split_at(take);
            self.buf.extend_from_slice(head);
            plaintext = rest;
        }
        Ok(())
    }

    /// Seals the final chunk (empty if the file is empty) and returns the last ciphertext.
    ///
    /// # Errors
    /// As [`Encryptor::push`].
    pub fn finish(mut self) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        self.write_header(&mut out);
        let buf = std::mem::take(&mut *self.buf);
        self.seal(&buf, true, &mut out)?;
        *self.buf = buf;
        Ok(out)
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            out.extend_from_slice(&self.header);
            self.header_written = true;
        }
    }

    fn seal(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let start = out.len();
        out.resize(start + plain.len(), 0);
        let dst = out.get_mut(start..).ok_or(CryptoError::Internal)?;
        let tag = self
            .cipher
            .encrypt_inout_detached(
                &nonce(&self.header, self.index),
                &aad(&self.header, self.index, last),
                InOutBuf::new(plain, dst).map_err(|_| CryptoError::Internal)?,
            )
            .map_err(|_| CryptoError::Internal)?;
        out.extend_from_slice(&tag);
        self.index += 1;
        Ok(())
    }
}

/// An [`Encryptor`] in front of any [`io::Write`]. Call [`EncryptingWriter::finish`]: a file that is
/// dropped unfinished lacks its final chunk and reads as [`CryptoError::Truncated`].
pub struct EncryptingWriter<W: io::Write> {
    inner: W,
    encryptor: Encryptor,
    out: Vec<u8>,
}

impl<W: io::Write> EncryptingWriter<W> {
    /// Wraps `inner`; see [`Encryptor::new`].
    pub fn new(
        inner: W,
        data_key: &DataKey,
        chunk_size: ChunkSize,
        rng: &mut impl CryptoRng,
    ) -> Self {
        Self {
            inner,
            encryptor: Encryptor::new(data_key, chunk_size, rng),
            out: Vec::new(),
        }
    }

    /// Writes the final chunk, flushes and returns the inner writer.
    ///
    /// # Errors
    /// Those of the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let tail = self.encryptor.finish().map_err(io::Error::other)?;
        self.inner.write_all(&tail)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: io::Write> io::Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.clear();
        self.encryptor
            .push_into(buf, &mut self.out)
            .map_err(io::Error::other)?;
        self.inner.write_all(&self.out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A parsed, validated header together with the file's total length: everything needed to map
/// plaintext ranges to ciphertext ranges. Build it from the first [`HEADER_LEN`] bytes and the
/// object's size (object stores report it with every listing and `HEAD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLayout {
    header: Header,
    header_bytes: [u8; HEADER_LEN],
    file_len: u64,
    plain_len: u64,
    chunk_count: u64,
}

impl FileLayout {
    /// Parses the header (extra bytes after it are ignored) and checks `file_len` against it.
    ///
    /// # Errors
    /// [`CryptoError::NotEncrypted`] without the magic, [`CryptoError::UnsupportedVersion`],
    /// [`CryptoError::BadHeader`], or [`CryptoError::Truncated`] when `file_len` cannot be the
    /// length of a complete file (it ends inside a tag).
    pub fn from_header(header: &[u8], file_len: u64) -> Result<Self, CryptoError> {
        let header_bytes: [u8; HEADER_LEN] = match header.get(..HEADER_LEN) {
            Some(bytes) => bytes.try_into().map_err(|_| CryptoError::Truncated)?,
            None if header.starts_with(&MAGIC) => return Err(CryptoError::Truncated),
            None => return Err(CryptoError::NotEncrypted),
        };
        let header = Header::parse(&header_bytes)?;
        let sealed = header.chunk_size.sealed();
        let body = file_len
            .checked_sub(HEADER_LEN_U64)
            .filter(|body| *body >= TAG_LEN_U64)
            .ok_or(CryptoError::Truncated)?;
        let chunk_count = body.div_ceil(sealed);
        let last_sealed = body - (chunk_count - 1) * sealed;
        // Only an empty file has an empty final chunk.
        if last_sealed < TAG_LEN_U64 || (last_sealed == TAG_LEN_U64 && chunk_count > 1) {
            return Err(CryptoError::Truncated);
        }
        Ok(Self {
            header,
            header_bytes,
            file_len,
            plain_len: body - chunk_count * TAG_LEN_U64,
            chunk_count,
        })
    }

    /// Plaintext bytes in the file.
    #[must_use]
    pub const fn plaintext_len(&self) -> u64 {
        self.plain_len
    }

    /// Ciphertext bytes in the file, header included.
    #[must_use]
    pub const fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Chunks in the file (at least one).
    #[must_use]
    pub const fn chunk_count(&self) -> u64 {
        self.chunk_count
    }

    /// Plaintext bytes per chunk.
    #[must_use]
    pub const fn chunk_size(&self) -> ChunkSize {
        self.header.chunk_size
    }

    /// The data key the file needs.
    #[must_use]
    pub const fn data_key_id(&self) -> KeyId {
        self.header.data_key_id
    }

    /// The file's random id.
    #[must_use]
    pub const fn file_id(&self) -> [u8; FILE_ID_LEN] {
        self.header.file_id
    }

    /// The chunks holding `plain` (empty for an empty range).
    ///
    /// # Errors
    /// [`CryptoError::OutOfRange`] when `plain` is reversed or reaches past the end.
    pub fn chunks_for(&self, plain: &Range<u64>) -> Result<Range<u64>, CryptoError> {
        self.check_range(plain)?;
        if plain.is_empty() {
            return Ok(0..0);
        }
        let size = self.header.chunk_size.plain();
        Ok(plain.start / size..(plain.end - 1) / size + 1)
    }

    /// The ciphertext bytes to fetch to decrypt `plain`: whole chunks, tags included (the header
    /// is not included; it was read once to build this layout). Empty for an empty range.
    ///
    /// # Errors
    /// As [`FileLayout::chunks_for`].
    pub fn ciphertext_range(&self, plain: &Range<u64>) -> Result<Range<u64>, CryptoError> {
        let chunks = self.chunks_for(plain)?;
        Ok(self.sealed_range(&chunks))
    }

    /// The ciphertext bytes of a range of chunks.
    #[must_use]
    pub fn sealed_range(&self, chunks: &Range<u64>) -> Range<u64> {
        if chunks.is_empty() {
            return HEADER_LEN_U64..HEADER_LEN_U64;
        }
        let sealed = self.header.chunk_size.sealed();
        let start = HEADER_LEN_U64 + chunks.start * sealed;
        let end = (HEADER_LEN_U64 + chunks.end * sealed).min(self.file_len);
        start..end
    }

    /// Checks the data key against the header and prepares to decrypt.
    ///
    /// # Errors
    /// [`CryptoError::WrongDataKey`] when `data_key` is not the key the file names.
    pub fn open(&self, data_key: &DataKey) -> Result<FileDecryptor, CryptoError> {
        let got = data_key.key_id();
        if got != self.header.data_key_id {
            return Err(CryptoError::WrongDataKey {
                expected: self.header.data_key_id,
                got,
            });
        }
        Ok(FileDecryptor {
            cipher: file_cipher(data_key, &self.header.file_id),
            layout: self.clone(),
        })
    }

    fn check_range(&self, plain: &Range<u64>) -> Result<(), CryptoError> {
        if plain.start > plain.end || plain.end > self.plain_len {
            return Err(CryptoError::OutOfRange {
                start: plain.start,
                end: plain.end,
                len: self.plain_len,
            });
        }
        Ok(())
    }
}

/// Decrypts ranges of one file with its data key. Every chunk touched is authenticated, against
/// its index, the header and whether it is the final chunk, before any of its bytes are returned.
pub struct FileDecryptor {
    cipher: Sm4Gcm,
    layout: FileLayout,
}

impl FileDecryptor {
    /// The file's layout.
    #[must_use]
    pub const fn layout(&self) -> &FileLayout {
        &self.layout
    }

    /// Decrypts `plain` from `fetched`, the bytes of
    /// [`layout.ciphertext_range(plain)`](FileLayout::ciphertext_range).
    ///
    /// # Errors
    /// [`CryptoError::OutOfRange`], [`CryptoError::FetchMismatch`] when `fetched` is not that range,
    /// [`CryptoError::Corrupt`] naming the first chunk that fails authentication, or
    /// [`CryptoError::Truncated`] when the file ends with a chunk that was not written as final.
    pub fn decrypt_range(
        &self,
        fetched: &[u8],
        plain: &Range<u64>,
    ) -> Result<Vec<u8>, CryptoError> {
        let chunks = self.layout.chunks_for(plain)?;
        let mut out = self.decrypt_chunks(&chunks, fetched)?;
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        let skip = usize_of(plain.start - chunks.start * self.layout.header.chunk_size.plain())?;
        let end = skip + usize_of(plain.end - plain.start)?;
        if end > out.len() {
            return Err(CryptoError::Internal);
        }
        out.truncate(end);
        out.drain(..skip);
        Ok(out)
    }

    /// Decrypts whole chunks from `fetched`, the bytes of
    /// [`layout.sealed_range(chunks)`](FileLayout::sealed_range).
    ///
    /// # Errors
    /// As [`FileDecryptor::decrypt_range`].
    pub fn decrypt_chunks(
        &self,
        chunks: &Range<u64>,
        fetched: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if chunks.start > chunks.end || chunks.end > self.layout.chunk_count {
            return Err(CryptoError::OutOfRange {
                start: chunks.start,
                end: chunks.end,
                len: self.layout.chunk_count,
            });
        }
        let expected = self.layout.sealed_range(chunks);
        let expected_len = expected.end - expected.start;
        if fetched.len() as u64 != expected_len {
            return Err(CryptoError::FetchMismatch {
                expected: expected_len,
                got: fetched.len() as u64,
            });
        }
        let sealed_size = usize_of(self.layout.header.chunk_size.sealed())?;
        let plain_len = fetched.len() - usize_of(chunks.end - chunks.start)? * TAG_LEN;
        let mut out = vec![0; plain_len];
        let mut out_rest = out.as_mut_slice();
        for (index, sealed) in chunks.clone().zip(fetched.chunks(sealed_size)) {
            let (ciphertext, tag) = sealed
                .split_at_checked(sealed.len().saturating_sub(TAG_LEN))
                .ok_or(CryptoError::Truncated)?;
            let (dst, rest) = out_rest.split_at_mut(ciphertext.len());
            out_rest = rest;
            self.open_chunk(index, ciphertext, tag, dst)?;
        }
        Ok(out)
    }

    fn open_chunk(
        &self,
        index: u64,
        ciphertext: &[u8],
        tag: &[u8],
        dst: &mut [u8],
    ) -> Result<(), CryptoError> {
        let last = index + 1 == self.layout.chunk_count;
        let tag = aes_gcm::Tag::try_from(tag).map_err(|_| CryptoError::Truncated)?;
        let header = &self.layout.header_bytes;
        let attempt = |final_flag: bool, dst: &mut [u8]| {
            let buf = InOutBuf::new(ciphertext, dst).map_err(|_| aes_gcm::Error)?;
            self.cipher.decrypt_inout_detached(
                &nonce(header, index),
                &aad(header, index, final_flag),
                buf,
                &tag,
            )
        };
        if attempt(last, dst).is_ok() {
            return Ok(());
        }
        // Tell a clean cut at a chunk boundary from tampering: the chunk now at the end is genuine
        // but was not written as the final one. (A failed attempt writes nothing to `dst`.)
        if last && attempt(false, &mut vec![0; ciphertext.len()]).is_ok() {
            return Err(CryptoError::Truncated);
        }
        Err(CryptoError::Corrupt { chunk: index })
    }
}

/// Decrypts a whole file held in memory.
///
/// # Errors
/// As [`FileLayout::from_header`], [`FileLayout::open`] and [`FileDecryptor::decrypt_chunks`].
pub fn decrypt_all(data_key: &DataKey, file: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let layout = FileLayout::from_header(file, file.len() as u64)?;
    let decryptor = layout.open(data_key)?;
    let body = file.get(HEADER_LEN..).ok_or(CryptoError::Truncated)?;
    decryptor.decrypt_chunks(&(0..layout.chunk_count), body)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    chunk_size: ChunkSize,
    file_id: [u8; FILE_ID_LEN],
    data_key_id: KeyId,
}

impl Header {
    fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        let parts: [&[u8]; 6] = [
            &MAGIC,
            &[FORMAT_VERSION, ALGORITHM_SM4_GCM, 0],
            &self.chunk_size.get().to_be_bytes(),
            &self.file_id,
            &self.data_key_id.to_bytes(),
            &[],
        ];
        for (dst, src) in bytes
            .iter_mut()
            .zip(parts.iter().flat_map(|part| part.iter()))
        {
            *dst = *src;
        }
        bytes
    }

    fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, CryptoError> {
        let (magic, rest) = bytes.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(CryptoError::NotEncrypted);
        }
        let [version, algorithm, reserved, rest @ ..] = rest else {
            return Err(CryptoError::Truncated);
        };
        if *version != FORMAT_VERSION {
            return Err(CryptoError::UnsupportedVersion(*version));
        }
        if *algorithm != ALGORITHM_SM4_GCM {
            return Err(CryptoError::BadHeader("unknown algorithm"));
        }
        if *reserved != 0 {
            return Err(CryptoError::BadHeader("reserved byte is not zero"));
        }
        let (chunk, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(CryptoError::Truncated)?;
        let (file_id, rest) = rest
            .split_first_chunk::<FILE_ID_LEN>()
            .ok_or(CryptoError::Truncated)?;
        let (key_id, _) = rest
            .split_first_chunk::<KEY_ID_LEN>()
            .ok_or(CryptoError::Truncated)?;
        let chunk_size = ChunkSize::new(u32::from_be_bytes(*chunk))
            .map_err(|_| CryptoError::BadHeader("chunk size out of range"))?;
        Ok(Self {
            chunk_size,
            file_id: *file_id,
            data_key_id: KeyId::from_bytes(*key_id),
        })
    }
}

/// The per-file key: HMAC-SM3(data key, label ‖ file id), first 16 bytes. A fresh key per file
/// keeps the 96-bit nonces (4-byte file prefix ‖ chunk index) unique however many files share a
/// data key.
fn file_cipher(data_key: &DataKey, file_id: &[u8; FILE_ID_LEN]) -> Sm4Gcm {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if let Ok(mut mac) = <Hmac<Sm3> as KeyInit>::new_from_slice(data_key.secret()) {
        mac.update(FILE_KEY_LABEL);
        mac.update(file_id);
        let digest = Zeroizing::new(mac.finalize().into_bytes());
        for (dst, src) in key.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
    }
    Sm4Gcm::new(&(*key).into())
}

fn nonce(header: &[u8; HEADER_LEN], index: u64) -> aes_gcm::Nonce<U12> {
    let mut nonce = aes_gcm::Nonce::<U12>::default();
    let prefix = header.get(12..16).unwrap_or_default();
    for (dst, src) in nonce
        .iter_mut()
        .zip(prefix.iter().chain(&index.to_be_bytes()))
    {
        *dst = *src;
    }
    nonce
}

fn aad(header: &[u8; HEADER_LEN], index: u64, last: bool) -> [u8; AAD_LEN] {
    let mut aad = [0; AAD_LEN];
    let tail = index.to_be_bytes();
    let flag = [u8::from(last)];
    for (dst, src) in aad.iter_mut().zip(header.iter().chain(&tail).chain(&flag)) {
        *dst = *src;
    }
    aad
}

fn usize_of(n: u64) -> Result<usize, CryptoError> {
    usize::try_from(n).map_err(|_| CryptoError::OutOfRange {
        start: 0,
        end: n,
        len: usize::MAX as u64,
    })
}
