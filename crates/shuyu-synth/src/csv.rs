//! Streaming CSV output: a header, then one line per row, written as it is generated.

use std::io::{BufWriter, Write};

use chrono::NaiveDateTime;

use crate::SynthError;
use crate::schema::{Dataset, Value};

/// The character encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// UTF-8 without a byte order mark.
    #[default]
    Utf8,
    /// GB18030, as many departments' systems still export.
    Gb18030,
}

/// Writes up to `rows` rows of `dataset` (fewer if it ends) as CSV with a header line, and returns the
/// number of data rows written. Memory does not depend on `rows`: each line is built, encoded and
/// written before the next is generated (through a buffer of 64 KiB).
pub fn write_csv<D: Dataset, W: Write>(
    dataset: D,
    rows: u64,
    out: &mut W,
    encoding: CsvEncoding,
) -> Result<u64, SynthError> {
    let schema = dataset.schema();
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut line = String::with_capacity(256);
    for (i, column) in schema.columns.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        push_field(&mut line, column.name);
    }
    line.push_str("\r\n");
    write_line(&mut out, &line, encoding)?;
    let mut written = 0;
    for row in dataset.take(usize::try_from(rows).unwrap_or(usize::MAX)) {
        line.clear();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_value(&mut line, value);
        }
        line.push_str("\r\n");
        write_line(&mut out, &line, encoding)?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

fn write_line<W: Write>(out: &mut W, line: &str, encoding: CsvEncoding) -> Result<(), SynthError> {
    match encoding {
        CsvEncoding::Utf8 => out.write_all(line.as_bytes())?,
        CsvEncoding::Gb18030 => {
            // GB18030 encodes every Unicode scalar value, so nothing is replaced.
            let (bytes, _, _) = encoding_rs::GB18030.encode(line);
            out.write_all(&bytes)?;
        }
    }
    Ok(())
}

fn push_value(line: &mut String, value: &Value) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = match value {
        Value::Null => Ok(()),
        Value::Text(text) => {
            push_field(line, text);
            Ok(())
        }
        Value::Integer(n) => write!(line, "{n}"),
        Value::Money(fen) => {
            let sign = if *fen < 0 { "-" } else { "" };
            let fen = fen.unsigned_abs();
            write!(line, "{sign}{}.{:02}", fen / 100, fen % 100)
        }
        Value::Date(date) => write!(line, "{}", date.format("%Y-%m-%d")),
        Value::Timestamp(at) => push_timestamp(line, at),
        Value::Boolean(b) => write!(line, "{b}"),
    };
}

fn push_timestamp(line: &mut String, at: &NaiveDateTime) -> std::fmt::Result {
    use std::fmt::Write as _;
    write!(line, "{}", at.format("%Y-%m-%d %H:%M:%S"))
}

/// Appends `text`, quoted (RFC 4180) if it holds a comma, quote or line break.
fn push_field(line: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted_and_money_has_two_decimals() {
        let mut line = String::new();
        push_field(&mut line, "a,\"b\"");
        line.push(',');
        push_value(&mut line, &Value::Money(-1_205));
        line.push(',');
        push_value(&mut line, &Value::Money(7));
        line.push(',');
        push_value(&mut line, &Value::Null);
        assert_eq!(line, "\"a,\"\"b\"\"\",-12.05,0.07,");
    }
}
