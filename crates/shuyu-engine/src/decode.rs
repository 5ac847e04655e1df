//! Character encoding of CSV input: UTF-8 (with or without a byte order mark) or, when the start
//! of the file is not valid UTF-8, GB18030 — decoded to UTF-8 as a stream, a buffer at a time.
//!
//! Detection looks at the first [`SNIFF_LEN`] bytes only (the file is never read twice); invalid
//! bytes later in the file are an error naming their byte offset, never replaced.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, GB18030};

/// Bytes looked at to tell UTF-8 from GB18030.
pub const SNIFF_LEN: usize = 64 * 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding a CSV file was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceEncoding {
    Utf8,
    Gb18030,
}

/// A reader yielding UTF-8, whatever the source's encoding.
pub struct Utf8Reader<R> {
    inner: R,
    encoding: SourceEncoding,
    decoder: Option<Decoder>,
    /// Undecoded source bytes, and how many of them are consumed.
    input: Vec<u8>,
    input_pos: usize,
    /// Decoded bytes not yet handed out.
    output: Vec<u8>,
    output_pos: usize,
    source_offset: u64,
    eof: bool,
}

impl<R: Read> Utf8Reader<R> {
    /// Reads the start of `inner` to detect its encoding.
    ///
    /// # Errors
    /// Those of `inner`.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut sample = Vec::with_capacity(SNIFF_LEN);
        (&mut inner)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut sample)?;
        let full = sample.len() == SNIFF_LEN;
        let (encoding, skip) = if sample.starts_with(UTF8_BOM) {
            (SourceEncoding::Utf8, UTF8_BOM.len())
        } else {
            match std::str::from_utf8(&sample) {
                Ok(_) => (SourceEncoding::Utf8, 0),
                // Cut inside a character at the end of a full sample: still UTF-8.
                Err(e) if full && e.error_len().is_none() => (SourceEncoding::Utf8, 0),
                Err(_) => (SourceEncoding::Gb18030, 0),
            }
        };
        let decoder = match encoding {
            SourceEncoding::Utf8 => None,
            SourceEncoding::Gb18030 => Some(GB18030.new_decoder_without_bom_handling()),
        };
        Ok(Self {
            inner,
            encoding,
            decoder,
            input: sample,
            input_pos: skip,
            output: Vec::new(),
            output_pos: 0,
            source_offset: skip as u64,
            eof: false,
        })
    }

    /// The detected encoding.
    pub const fn encoding(&self) -> SourceEncoding {
        self.encoding
    }

    fn refill_input(&mut self) -> io::Result<()> {
        if self.input_pos < self.input.len() || self.eof {
            return Ok(());
        }
        self.input.clear();
        self.input_pos = 0;
        self.input.resize(SNIFF_LEN, 0);
        let n = loop {
            match self.inner.read(&mut self.input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.input.truncate(n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.output_pos < self.output.len() {
                let pending = self.output.get(self.output_pos..).unwrap_or_default();
                let n = pending.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.output_pos += n;
                return Ok(n);
            }
            self.refill_input()?;
            let input = self.input.get(self.input_pos..).unwrap_or_default();
            let Some(decoder) = self.decoder.as_mut() else {
                // UTF-8 passes through; the CSV reader checks each field.
                let n = input.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), input.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.input_pos += n;
                return Ok(n);
            };
            let last = self.eof;
            self.output.clear();
            self.output_pos = 0;
            let cap = decoder
                .max_utf8_buffer_length_without_replacement(input.len())
                .unwrap_or(input.len() * 4 + 16);
            self.output.resize(cap.max(16), 0);
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(input, &mut self.output, last);
            self.output.truncate(written);
            self.input_pos += read;
            self.source_offset += read as u64;
            match result {
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {
                    if last && written == 0 && self.input_pos >= self.input.len() {
                        self.decoder = None;
                        return Ok(0);
                    }
                }
                DecoderResult::Malformed(bad, after) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the file is neither UTF-8 nor GB18030: invalid byte sequence at byte {}",
                            self.source_offset
                                .saturating_sub(u64::from(bad) + u64::from(after))
                        ),
                    ));
                }
            }
        }
    }
}
