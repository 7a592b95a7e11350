//! A reader that refuses to go on once one record (a CSV line, a JSON feature) has grown past a
//! limit. Parsers grow their buffers to whatever a record holds and copy it on the way (a
//! 200 MiB CSV line once cost 1.6 GB), so the length is bounded where the bytes come in, before
//! any parser has seen them.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Longest CSV record (line), in bytes: a WKT polygon of a county boundary fits many times.
pub const MAX_CSV_RECORD_BYTES: u64 = 32 << 20;

/// Longest JSON (or FlatGeobuf) feature, in bytes: a Land's boundary with a million vertices
/// fits; parsing one costs about four times its size.
pub const MAX_JSON_FEATURE_BYTES: u64 = 64 << 20;

/// Where the current record began; the parser's caller moves it after each record.
#[derive(Debug, Clone, Default)]
pub struct RecordMark(Rc<(Cell<u64>, Cell<u64>)>);

impl RecordMark {
    /// A new record starts with the next bytes (parsers read ahead a little; that little counts
    /// against the next record).
    pub fn next_record(&self) {
        self.0 .0.set(self.0 .1.get());
    }
}

pub struct Bounded<R> {
    inner: R,
    mark: RecordMark,
    max: u64,
    what: String,
}

impl<R: Read> Bounded<R> {
    /// `inner` read with records of at most `max` bytes; `what` names one in the error.
    pub fn new(inner: R, max: u64, what: impl Into<String>) -> (Self, RecordMark) {
        let mark = RecordMark::default();
        (
            Self {
                inner,
                mark: mark.clone(),
                max,
                what: what.into(),
            },
            mark,
        )
    }
}

/// Whether `e` is this reader's refusal, and its message.
pub fn refusal(e: &io::Error) -> Option<String> {
    (e.kind() == io::ErrorKind::FileTooLarge).then(|| e.to_string())
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (start, read) = (&self.mark.0 .0, &self.mark.0 .1);
        let grown = read.get().saturating_sub(start.get());
        if grown > self.max {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "a {} longer than {} MiB; no {} may be larger",
                    self.what,
                    self.max >> 20,
                    self.what
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        read.set(read.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_past_the_limit_is_refused_the_next_is_not() {
        let data = [b'x'; 100];
        let (mut reader, mark) = Bounded::new(&data[..], 10, "line");
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).unwrap(), 8);
        mark.next_record();
        assert_eq!(reader.read(&mut buf).unwrap(), 8);
        assert_eq!(reader.read(&mut buf).unwrap(), 8);
        let e = reader.read(&mut buf).unwrap_err();
        assert!(refusal(&e).unwrap().contains("line longer than"), "{e}");
        mark.next_record();
        assert_eq!(reader.read(&mut buf).unwrap(), 8);
    }
}
