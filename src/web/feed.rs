//! The web view's event stream: frames in (from a live capture or a
//! pcapng file), the course-level events of `capture::decode` out, each
//! numbered, with the nodes it crossed named, and serialised once for
//! every page. Bounded on purpose: at most `DISPLAY_PER_SECOND` events a
//! second go to the pages (a class cannot follow more) and the rest are
//! counted as dropped for display, never silently; the last `KEEP`
//! delivered events are kept for stepping and for a page opened late, and
//! the raw bytes of recent frames for the event panel.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::capture::decode::{AddressBook, Decoder, Event};
use crate::capture::frame::{Frame, Tap};

/// Delivered events kept for stepping back and for pages opened later.
pub const KEEP: usize = 5_000;
/// Events sent to the pages per second of a live capture, at most, in
/// the long run, for each of two shares: the applications' dialogue (DHCP,
/// DNS, SMTP, POP3, IMAP, HTTP) and everything else (ARP, ICMP, TCP's
/// handshakes, IPv6 chatter), so a flood of the one never hides the other.
pub const DISPLAY_PER_SECOND: u64 = 100;
/// A burst of up to this many events of a share goes through at once (a
/// run of the lab's checks makes a few hundred in half a second).
pub const DISPLAY_BURST: u64 = 1_000;
/// Frames whose bytes are held for the event panel.
const RAW_KEEP: usize = 20_000;

/// One event as the page receives it (docs/web.md, "The event stream").
#[derive(Clone, Debug, Serialize)]
pub struct WireEvent {
    /// 1, 2, … in the order the decoder gave them.
    pub id: u64,
    #[serde(flatten)]
    pub event: Event,
    /// The nodes the packet crossed, in order, each once per visit.
    pub nodes: Vec<String>,
    /// Each sighting as `node:iface`, in time order (`event.path`'s taps).
    pub hops: Vec<String>,
}

/// What the stream has seen and done so far (the page shows it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Frames read from the capture (or the file).
    pub frames: u64,
    /// Frames the capture could not hand over because the decoder was
    /// behind (the view stays bounded instead of queueing without end).
    pub frames_dropped: u64,
    /// Events the decoders made.
    pub events: u64,
    /// Events sent to the pages.
    pub delivered: u64,
    /// Events not sent because their share's bucket was empty (more than
    /// `DISPLAY_BURST` at once, or more than `DISPLAY_PER_SECOND` for long).
    pub dropped_for_display: u64,
}

/// A delivered event, kept.
struct Kept {
    id: u64,
    json: Arc<str>,
    raw: Option<Arc<[u8]>>,
}

/// The stream's state: the decoder, the kept events, the counts.
pub struct Feed {
    taps: Vec<Tap>,
    decoder: Decoder,
    /// Recent frames' bytes by (tap, time), oldest evicted first.
    raw: HashMap<(usize, u64), Arc<[u8]>>,
    raw_order: VecDeque<(usize, u64)>,
    kept: VecDeque<Kept>,
    next_id: u64,
    /// `None`: every event is delivered (a replayed file).
    per_second: Option<u64>,
    /// Token buckets (in thousandths of an event): dialogue, the rest.
    tokens: [u64; 2],
    refilled_ns: u64,
    counts: Counts,
}

impl Feed {
    /// A stream for frames seen on `taps`, naming nodes from `book`;
    /// `per_second` caps the events delivered (None: no cap).
    pub fn new(taps: &[Tap], book: AddressBook, per_second: Option<u64>) -> Feed {
        Feed {
            taps: taps.to_vec(),
            decoder: Decoder::new(taps, book),
            raw: HashMap::new(),
            raw_order: VecDeque::new(),
            kept: VecDeque::new(),
            next_id: 1,
            per_second,
            tokens: [DISPLAY_BURST * 1000; 2],
            refilled_ns: 0,
            counts: Counts::default(),
        }
    }

    /// Frames in time order, read at `now_ns`; returns the events to send.
    pub fn frames(&mut self, frames: &[Frame], now_ns: u64) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        for frame in frames {
            self.counts.frames += 1;
            self.hold_raw(frame);
            let events = self.decoder.feed(frame);
            self.publish(events, now_ns, &mut out);
        }
        out
    }

    /// Time passed with no frames: the events whose hop window is over.
    pub fn tick(&mut self, now_ns: u64) -> Vec<Arc<str>> {
        let events = self.decoder.tick(now_ns);
        let mut out = Vec::new();
        self.publish(events, now_ns, &mut out);
        out
    }

    /// The frames ended (a file read to its end): everything still held.
    pub fn finish(&mut self, now_ns: u64) -> Vec<Arc<str>> {
        let events = self.decoder.finish();
        let mut out = Vec::new();
        self.publish(events, now_ns, &mut out);
        out
    }

    /// Frames the capture dropped before they reached the stream.
    pub fn frames_dropped(&mut self, n: u64) {
        self.counts.frames_dropped += n;
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The kept events, oldest first, as sent.
    pub fn history(&self) -> Vec<Arc<str>> {
        self.kept.iter().map(|k| k.json.clone()).collect()
    }

    /// The bytes of kept event `id`'s first frame, if still held.
    pub fn raw(&self, id: u64) -> Option<Arc<[u8]>> {
        let first = self.kept.front()?.id;
        let kept = self.kept.get(id.checked_sub(first)? as usize)?;
        (kept.id == id).then(|| kept.raw.clone()).flatten()
    }

    fn hold_raw(&mut self, frame: &Frame) {
        let key = (frame.tap, frame.at_ns);
        if self
            .raw
            .insert(key, Arc::from(frame.data.as_slice()))
            .is_none()
        {
            self.raw_order.push_back(key);
        }
        while self.raw_order.len() > RAW_KEEP {
            if let Some(old) = self.raw_order.pop_front() {
                self.raw.remove(&old);
            }
        }
    }

    fn publish(&mut self, events: Vec<Event>, now_ns: u64, out: &mut Vec<Arc<str>>) {
        for event in events {
            self.counts.events += 1;
            if !self.admit(now_ns, usize::from(!event.is_dialogue())) {
                self.counts.dropped_for_display += 1;
                continue;
            }
            let raw = event
                .path
                .first()
                .and_then(|hop| self.raw.get(&(hop.tap, hop.at_ns)).cloned());
            let id = self.next_id;
            self.next_id += 1;
            let wire = WireEvent {
                id,
                nodes: event
                    .nodes(&self.taps)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                hops: event
                    .path
                    .iter()
                    .filter_map(|hop| self.taps.get(hop.tap).map(|t| t.to_string()))
                    .collect(),
                event,
            };
            let Ok(json) = serde_json::to_string(&wire) else {
                continue;
            };
            let json: Arc<str> = Arc::from(json);
            self.counts.delivered += 1;
            self.kept.push_back(Kept {
                id,
                json: json.clone(),
                raw,
            });
            if self.kept.len() > KEEP {
                self.kept.pop_front();
            }
            out.push(json);
        }
    }

    /// Whether one more event of share `share` may go to the pages: a
    /// token bucket of `DISPLAY_BURST` refilled at `DISPLAY_PER_SECOND`.
    fn admit(&mut self, now_ns: u64, share: usize) -> bool {
        let Some(rate) = self.per_second else {
            return true;
        };
        let elapsed_ns = now_ns.saturating_sub(self.refilled_ns);
        if elapsed_ns > 0 {
            let earned = u128::from(elapsed_ns) * u128::from(rate) / 1_000_000;
            for tokens in &mut self.tokens {
                let full = u128::from(DISPLAY_BURST * 1000);
                *tokens = (u128::from(*tokens) + earned).min(full) as u64;
            }
            self.refilled_ns = now_ns;
        }
        if self.tokens[share] >= 1000 {
            self.tokens[share] -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
