//! Character encoding of CSV input: UTF-8 (with or without a byte order mark) or, when the text is
//! not valid UTF-8, GB18030 — decoded to UTF-8 as a stream, a buffer at a time.
//!
//! Detection looks at [`SNIFF_LEN`] bytes from the **first non-ASCII byte** (ASCII reads the same in
//! both encodings, so a file whose first megabytes are digits and Latin letters is decided where
//! its first Chinese character appears); the file is never read twice. Invalid bytes after that
//! are an error naming their byte offset, never replaced.

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
    /// `None` while everything read so far is ASCII.
    encoding: Option<SourceEncoding>,
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
        let eof = sample.len() < SNIFF_LEN;
        let (encoding, skip) = if sample.starts_with(UTF8_BOM) {
            (Some(SourceEncoding::Utf8), UTF8_BOM.len())
        } else {
            (classify(&sample, !eof), 0)
        };
        let mut reader = Self {
            inner,
            encoding: None,
            decoder: None,
            input: sample,
            input_pos: skip,
            output: Vec::new(),
            output_pos: 0,
            source_offset: skip as u64,
            eof: false,
        };
        reader.set_encoding(encoding);
        Ok(reader)
    }

    /// The detected encoding: UTF-8 for a file that is all ASCII (so far).
    pub fn encoding(&self) -> SourceEncoding {
        self.encoding.unwrap_or(SourceEncoding::Utf8)
    }

    fn set_encoding(&mut self, encoding: Option<SourceEncoding>) {
        self.encoding = encoding;
        self.decoder = match encoding {
            Some(SourceEncoding::Gb18030) => Some(GB18030.new_decoder_without_bom_handling()),
            _ => None,
        };
    }

    /// At the first non-ASCII byte (at `input_pos`): reads up to [`SNIFF_LEN`] bytes from there
    /// and decides.
    fn decide_here(&mut self) -> io::Result<()> {
        self.input.drain(..self.input_pos);
        self.input_pos = 0;
        let have = self.input.len();
        if have < SNIFF_LEN && !self.eof {
            let want = (SNIFF_LEN - have) as u64;
            let got = (&mut self.inner).take(want).read_to_end(&mut self.input)?;
            if (got as u64) < want {
                self.eof = true;
            }
        }
        let more = !self.eof;
        let decided = classify(&self.input, more).unwrap_or(SourceEncoding::Utf8);
        self.set_encoding(Some(decided));
        Ok(())
    }

    /// Hands out up to `n` undecoded bytes of the input (ASCII, or UTF-8 passed through).
    fn pass_through(&mut self, buf: &mut [u8], n: usize) -> usize {
        let input = self.input.get(self.input_pos..).unwrap_or_default();
        let n = n.min(input.len()).min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), input.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.input_pos += n;
        self.source_offset += n as u64;
        n
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

/// The encoding of `sample` (`more`: the file goes on after it), or `None` when it is all ASCII.
fn classify(sample: &[u8], more: bool) -> Option<SourceEncoding> {
    if sample.is_ascii() {
        return None;
    }
    Some(match std::str::from_utf8(sample) {
        Ok(_) => SourceEncoding::Utf8,
        // Cut inside a character at the end of a sample the file goes on after: still UTF-8.
        Err(e) if more && e.error_len().is_none() => SourceEncoding::Utf8,
        Err(_) => SourceEncoding::Gb18030,
    })
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
            if self.encoding.is_none() {
                // ASCII so far: hand it out up to the first non-ASCII byte, and decide there.
                let window = input.get(..buf.len()).unwrap_or(input);
                match window.iter().position(|b| !b.is_ascii()) {
                    Some(0) => {
                        self.decide_here()?;
                        continue;
                    }
                    Some(ascii) => return Ok(self.pass_through(buf, ascii)),
                    None => return Ok(self.pass_through(buf, usize::MAX)),
                }
            }
            let Some(decoder) = self.decoder.as_mut() else {
                // UTF-8 passes through; the CSV reader checks each field.
                return Ok(self.pass_through(buf, usize::MAX));
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
                DecoderResult::InputEmpty if last && self.input_pos >= self.input.len() => {
                    // The last input is decoded: the decoder is done; what it wrote is handed
                    // out above, then the (empty) input ends the stream.
                    self.decoder = None;
                }
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn decode(bytes: &[u8]) -> (SourceEncoding, io::Result<String>) {
        let mut reader = Utf8Reader::new(io::Cursor::new(bytes.to_vec())).unwrap();
        let mut out = String::new();
        // Small reads, so that buffer edges fall everywhere.
        let mut buf = [0_u8; 777];
        let result = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(out),
                Ok(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
                Err(e) => break Err(e),
            }
        };
        (reader.encoding(), result)
    }

    /// Digits for well past the sniffing window, then Chinese text.
    fn late_chinese() -> String {
        let mut text = String::from("id,amount,name\n");
        let mut i = 0;
        while text.len() < 3 * SNIFF_LEN + 17 {
            text.push_str(&format!("{i},{},x\n", i * 7));
            i += 1;
        }
        text.push_str("99,1,张三丰\n100,2,李四\n");
        text
    }

    #[test]
    fn gb18030_after_a_long_ascii_start_is_detected_where_it_begins() {
        let text = late_chinese();
        let (gbk, _, bad) = GB18030.encode(&text);
        assert!(!bad);
        assert!(std::str::from_utf8(&gbk).is_err());
        let (encoding, decoded) = decode(&gbk);
        assert_eq!(decoded.unwrap(), text);
        assert_eq!(encoding, SourceEncoding::Gb18030);
    }

    #[test]
    fn utf8_after_a_long_ascii_start_stays_utf8() {
        let text = late_chinese();
        let (encoding, decoded) = decode(text.as_bytes());
        assert_eq!(decoded.unwrap(), text);
        assert_eq!(encoding, SourceEncoding::Utf8);
    }

    #[test]
    fn ascii_only_and_bom_files_are_utf8() {
        let (encoding, decoded) = decode(b"a,b\n1,2\n");
        assert_eq!(
            (encoding, decoded.unwrap().as_str()),
            (SourceEncoding::Utf8, "a,b\n1,2\n")
        );
        let (encoding, decoded) = decode("\u{feff}名称\n甲\n".as_bytes());
        assert_eq!(
            (encoding, decoded.unwrap().as_str()),
            (SourceEncoding::Utf8, "名称\n甲\n")
        );
    }

    #[test]
    fn bytes_invalid_in_both_encodings_are_an_error_with_their_offset() {
        let text = late_chinese();
        let (gbk, _, _) = GB18030.encode(&text);
        let mut bytes = gbk.into_owned();
        let at = bytes.len();
        // 0xFF is never valid in GB18030.
        bytes.extend_from_slice(b"\xFF\xFF\n");
        let (encoding, decoded) = decode(&bytes);
        assert_eq!(encoding, SourceEncoding::Gb18030);
        let message = decoded.unwrap_err().to_string();
        assert!(message.contains(&format!("byte {at}")), "{at}: {message}");
    }
}
