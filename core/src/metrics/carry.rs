//! [`Carry`]: the bytes of an unfinished piece of a body (a field, an item), kept until the
//! next chunk completes it — what lets the list decoders read a body as it arrives.

use crate::error::Result;

/// The bytes a streaming decoder could not use yet.
#[derive(Debug, Default)]
pub(crate) struct Carry(Vec<u8>);

/// How much of the next chunk is first added to the carried bytes to complete them (doubled
/// until it does).
const FIRST_TAKE: usize = 4096;

impl Carry {
    /// Hands `consume` the carried bytes followed by `chunk`; `consume` returns how many bytes
    /// of what it was given it used, and the rest is carried.
    ///
    /// The carried bytes are completed with only as much of `chunk` as they need (4 KiB, then
    /// twice as much each time that is not enough); once `consume` has used them, the rest of
    /// `chunk` is read where it lies, not copied. `consume` must use the same bytes whether it
    /// gets them in one slice or in several (it does not read past the last whole piece).
    pub(crate) fn feed(&mut self, mut chunk: &[u8], mut consume: impl FnMut(&[u8]) -> Result<usize>) -> Result<()> {
        let mut take = FIRST_TAKE;
        while !self.0.is_empty() {
            let carried = self.0.len();
            let added = take.min(chunk.len());
            self.0.extend_from_slice(&chunk[..added]);
            let used = consume(&self.0)?;
            if used >= carried {
                // The carried bytes are used up: what is left of the chunk is read in place.
                self.0.clear();
                chunk = &chunk[used - carried..];
                break;
            }
            self.0.drain(..used);
            chunk = &chunk[added..];
            if chunk.is_empty() {
                return Ok(());
            }
            take = take.saturating_mul(2);
        }
        let used = consume(chunk)?;
        self.0.extend_from_slice(&chunk[used..]);
        Ok(())
    }

    /// How many bytes are carried.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Carry;

    /// A consumer of whole lines, to see what the carry hands out.
    fn lines(out: &mut Vec<String>) -> impl FnMut(&[u8]) -> crate::error::Result<usize> + '_ {
        |buf: &[u8]| {
            let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            out.extend(buf[..end].split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| String::from_utf8_lossy(l).into_owned()));
            Ok(end)
        }
    }

    #[test]
    fn pieces_of_every_size_give_the_same_lines() {
        let text: String = (0..3000).map(|i| format!("{}\n", "x".repeat(i % 9000 / 3 + (i * 7919) % 20_000 / 1000))).collect();
        let want: Vec<String> = text.lines().filter(|l| !l.is_empty()).map(String::from).collect();
        for piece in [1, 2, 3, 100, 4095, 4096, 4097, 10_000, 65_536, text.len()] {
            let mut got = Vec::new();
            let mut carry = Carry::default();
            for chunk in text.as_bytes().chunks(piece) {
                carry.feed(chunk, lines(&mut got)).expect("lines");
            }
            assert_eq!(carry.len(), 0, "pieces of {piece}");
            assert_eq!(got, want, "pieces of {piece}");
        }
    }

    #[test]
    fn a_piece_longer_than_many_chunks_is_carried_whole() {
        let long = format!("{}\nend\n", "y".repeat(100_000));
        let mut got = Vec::new();
        let mut carry = Carry::default();
        for chunk in long.as_bytes().chunks(3000) {
            carry.feed(chunk, lines(&mut got)).expect("lines");
        }
        assert_eq!(got, vec!["y".repeat(100_000), "end".to_string()]);
        let mut unfinished = Carry::default();
        unfinished.feed(b"abc\nde", lines(&mut got)).expect("lines");
        unfinished.feed(b"f", lines(&mut got)).expect("lines");
        assert_eq!(unfinished.len(), 3);
    }
}
