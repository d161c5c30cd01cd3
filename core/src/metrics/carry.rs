//! [`Carry`]: the bytes of an unfinished piece of a body (a field, an item), kept until the
//! next chunk completes it — what lets the list decoders read a body as it arrives.

use crate::error::Result;

/// The bytes a streaming decoder could not use yet.
#[derive(Debug, Default)]
pub(crate) struct Carry(Vec<u8>);

impl Carry {
    /// Hands `consume` the carried bytes followed by `chunk` (`chunk` alone, not copied, when
    /// nothing is carried); `consume` returns how many bytes it used, and the rest is carried.
    pub(crate) fn feed(&mut self, chunk: &[u8], consume: impl FnOnce(&[u8]) -> Result<usize>) -> Result<()> {
        if self.0.is_empty() {
            let used = consume(chunk)?;
            self.0.extend_from_slice(&chunk[used..]);
        } else {
            self.0.extend_from_slice(chunk);
            let used = consume(&self.0)?;
            self.0.drain(..used);
        }
        Ok(())
    }

    /// How many bytes are carried.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
