//! [`ListDecoder`]: a `PodMetricsList` body, JSON or protobuf, decoded as its pieces arrive into
//! any of the forms the readers keep (the `top` table, the whole table, columns). Only the bytes
//! of one unfinished item wait for the next piece: the body is never held whole.

use super::json_stream::{JsonListSink, JsonPodListDecoder};
use super::protobuf::{PodItemSink, PodListDecoder};
use crate::error::Result;

/// A form a pod list can be decoded into item by item, from either encoding.
pub(crate) trait ListSink: JsonListSink + PodItemSink {}
impl<S: JsonListSink + PodItemSink> ListSink for S {}

/// A pod list filled into `S` from a JSON or protobuf body, piece by piece.
pub(crate) struct ListDecoder<S> {
    sink: S,
    decoder: Decoder,
}

enum Decoder {
    Json(JsonPodListDecoder),
    Protobuf(PodListDecoder),
}

impl<S: ListSink> ListDecoder<S> {
    /// A decoder of a protobuf (`is_protobuf`) or JSON body into `sink`.
    pub(crate) fn new(is_protobuf: bool, sink: S) -> ListDecoder<S> {
        let decoder = if is_protobuf { Decoder::Protobuf(PodListDecoder::new()) } else { Decoder::Json(JsonPodListDecoder::new()) };
        ListDecoder { sink, decoder }
    }

    /// Decodes the items `chunk` completes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        match &mut self.decoder {
            Decoder::Json(d) => d.feed(chunk, &mut self.sink),
            Decoder::Protobuf(d) => d.feed(chunk, &mut self.sink),
        }
    }

    /// What all of `chunks`, the whole body, decodes to.
    pub(crate) fn decode<'a>(mut self, chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<S> {
        for chunk in chunks {
            self.feed(chunk)?;
        }
        self.finish()
    }

    /// The decoded list, once the body has ended (an error when it ended early or its parts
    /// outside the items are wrong).
    pub(crate) fn finish(mut self) -> Result<S> {
        match self.decoder {
            Decoder::Json(d) => d.finish(&mut self.sink)?,
            Decoder::Protobuf(d) => d.finish()?,
        }
        Ok(self.sink)
    }
}
