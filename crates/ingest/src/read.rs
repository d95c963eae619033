//! Reading records into a [`Batcher`], for imports and pulls alike: a byte stream parsed on a
//! second thread while this one writes ([`in_parallel`]), and a TAXII collection polled page
//! by page ([`poll_collection`]).

use std::io::BufRead;
use std::sync::{Arc, mpsc};

use feeds::taxii::{Client, CollectionUrl};
use feeds::{Defaults, Format, Options, Record};

use crate::batch::{Batcher, Sink};
use crate::{Error, Problems};

/// Parses the feed on a second thread while this one writes, so parsing and the library's
/// writes overlap. Adds the records read to the batcher's counts.
pub(crate) fn in_parallel<S: Sink>(
    format: Format,
    name: &str,
    reader: impl BufRead + Send,
    options: Options,
    batcher: &mut Batcher<S>,
    problems: &mut dyn Problems,
) -> Result<(), Error> {
    /// Records handed over at once, and batches in flight: enough to keep both threads busy,
    /// few enough that memory stays flat.
    const BATCH: usize = 2048;
    const IN_FLIGHT: usize = 8;
    let read = std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Vec<Record>>(IN_FLIGHT);
        let parser = scope.spawn(move || {
            let mut feed = feeds::open(format, name, reader, options);
            let mut batch = Vec::with_capacity(BATCH);
            for record in feed.by_ref() {
                batch.push(record);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // The receiver is gone only when writing failed: stop reading.
                    if sender.send(full).is_err() {
                        return feed.records();
                    }
                }
            }
            let _ = sender.send(batch);
            feed.records()
        });
        for record in receiver.into_iter().flatten() {
            batcher.record(record, problems)?;
        }
        parser.join().map_err(|_| Error::ReaderStopped)
    })?;
    batcher.counts.read += read;
    Ok(())
}

/// A runtime for the TAXII client on this thread.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// One TAXII poll of a collection.
pub(crate) struct Poll<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub client: &'a Client,
    pub collection: &'a CollectionUrl,
    pub added_after: Option<String>,
    pub page_size: Option<u32>,
    pub defaults: &'a Defaults,
}

/// Polls a collection page by page into `batcher`; returns the cursor the server gave.
/// What was read before an error is in the batcher (not yet flushed).
pub(crate) fn poll_collection<S: Sink>(
    poll: Poll<'_>,
    batcher: &mut Batcher<S>,
    problems: &mut dyn Problems,
) -> Result<Option<String>, Error> {
    let origin: Arc<str> = Arc::from(poll.collection.to_string());
    problems.polling(&origin);
    let cursor = poll.runtime.block_on(async {
        let mut taxii = poll
            .client
            .poll(poll.collection, poll.added_after, poll.page_size);
        let mut objects = 0usize;
        while let Some(page) = taxii.next_page().await? {
            objects += page.objects.len();
            problems.polled(&origin, objects);
            let (records, read) = page.records(&origin, poll.defaults);
            batcher.counts.read += read;
            for record in records {
                batcher.record(record, problems)?;
            }
        }
        Ok::<_, Error>(taxii.cursor().map(str::to_owned))
    });
    problems.done();
    cursor
}
