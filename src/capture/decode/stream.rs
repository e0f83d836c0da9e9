//! One direction of a TCP connection put back in order: segments are
//! delivered by sequence number, retransmitted and overlapping bytes once,
//! segments that arrive early wait (within a bound), and bytes the capture
//! never saw become a gap instead of a stall — when the peer acknowledges
//! past them, when the buffer is full, or at the end.

/// Bytes held for segments that arrived before the ones they follow.
const MAX_BUFFERED: usize = 256 * 1024;

/// What the stream delivers, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    Data(Vec<u8>),
    /// This many bytes were sent but not captured.
    Gap(u32),
}

#[derive(Default)]
pub struct Reassembly {
    /// The sequence number of the next byte to deliver, once known.
    next: Option<u32>,
    /// Segments waiting for the bytes before them.
    early: Vec<(u32, Vec<u8>)>,
    buffered: usize,
}

/// How far `seq` lies past `next` (negative: already delivered).
fn offset(seq: u32, next: u32) -> i64 {
    i64::from(seq.wrapping_sub(next) as i32)
}

impl Reassembly {
    /// The SYN: data starts at `isn + 1`.
    pub fn syn(&mut self, isn: u32) {
        if self.next.is_none() {
            self.next = Some(isn.wrapping_add(1));
        }
    }

    /// A segment with `data` at `seq`; returns what is now in order.
    pub fn segment(&mut self, seq: u32, data: &[u8]) -> Vec<Chunk> {
        let mut out = Vec::new();
        if data.is_empty() {
            return out;
        }
        let next = *self.next.get_or_insert(seq);
        if offset(seq, next) > 0 {
            if self.buffered + data.len() > MAX_BUFFERED {
                // The bytes before never came: give up waiting for them.
                self.early.push((seq, data.to_vec()));
                self.buffered += data.len();
                self.skip_to_earliest(&mut out);
                self.drain(&mut out);
            } else {
                self.early.push((seq, data.to_vec()));
                self.buffered += data.len();
            }
            return out;
        }
        self.deliver(seq, data, &mut out);
        self.drain(&mut out);
        out
    }

    /// The peer acknowledged everything before `ack`: bytes before it that
    /// were not captured are a gap, not something to wait for.
    pub fn acknowledged(&mut self, ack: u32) -> Vec<Chunk> {
        let mut out = Vec::new();
        loop {
            self.drain(&mut out);
            let Some(next) = self.next else {
                return out;
            };
            let ahead = offset(ack, next);
            if ahead <= 0 {
                return out;
            }
            // A waiting segment before `ack` is delivered after its gap.
            let earliest = self
                .early
                .iter()
                .map(|(seq, _)| offset(*seq, next))
                .filter(|at| *at > 0 && *at < ahead)
                .min();
            let to = earliest.unwrap_or(ahead);
            out.push(Chunk::Gap(to as u32));
            self.next = Some(next.wrapping_add(to as u32));
        }
    }

    /// The sender's FIN after the bytes ending at `end`: it takes one
    /// sequence number, which the peer acknowledges and is not a gap.
    pub fn fin(&mut self, end: u32) -> Vec<Chunk> {
        let out = self.finish();
        if self.next == Some(end) {
            self.next = Some(end.wrapping_add(1));
        }
        out
    }

    /// The end: whatever waits is delivered, with the gaps before it.
    pub fn finish(&mut self) -> Vec<Chunk> {
        let mut out = Vec::new();
        while !self.early.is_empty() {
            self.skip_to_earliest(&mut out);
            self.drain(&mut out);
        }
        out
    }

    fn deliver(&mut self, seq: u32, data: &[u8], out: &mut Vec<Chunk>) {
        let Some(next) = self.next else {
            return;
        };
        let behind = -offset(seq, next);
        let Ok(behind) = usize::try_from(behind) else {
            return;
        };
        if behind >= data.len() {
            return; // all of it was delivered already
        }
        let fresh = &data[behind..];
        self.next = Some(next.wrapping_add(fresh.len() as u32));
        match out.last_mut() {
            Some(Chunk::Data(bytes)) => bytes.extend_from_slice(fresh),
            _ => out.push(Chunk::Data(fresh.to_vec())),
        }
    }

    /// Delivers every waiting segment that now starts at or before `next`.
    fn drain(&mut self, out: &mut Vec<Chunk>) {
        loop {
            let Some(next) = self.next else {
                return;
            };
            let Some(at) = self
                .early
                .iter()
                .position(|(seq, _)| offset(*seq, next) <= 0)
            else {
                return;
            };
            let (seq, data) = self.early.swap_remove(at);
            self.buffered -= data.len();
            self.deliver(seq, &data, out);
        }
    }

    /// Jumps over the missing bytes to the earliest waiting segment.
    fn skip_to_earliest(&mut self, out: &mut Vec<Chunk>) {
        let Some(next) = self.next else {
            return;
        };
        if let Some(seq) = self
            .early
            .iter()
            .map(|(seq, _)| *seq)
            .min_by_key(|seq| offset(*seq, next))
        {
            let missing = offset(seq, next);
            if missing > 0 {
                out.push(Chunk::Gap(missing as u32));
                self.next = Some(seq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> Chunk {
        Chunk::Data(text.as_bytes().to_vec())
    }

    #[test]
    fn in_order_segments_follow_the_syn() {
        let mut stream = Reassembly::default();
        stream.syn(999);
        assert_eq!(stream.segment(1000, b"HELO "), vec![data("HELO ")]);
        assert_eq!(stream.segment(1005, b"pc\r\n"), vec![data("pc\r\n")]);
    }

    #[test]
    fn an_early_segment_waits_for_the_one_before() {
        let mut stream = Reassembly::default();
        stream.syn(0);
        assert_eq!(stream.segment(6, b"world"), vec![]);
        assert_eq!(stream.segment(1, b"hello"), vec![data("helloworld")]);
    }

    #[test]
    fn a_retransmission_is_delivered_once_and_an_overlap_only_its_new_bytes() {
        let mut stream = Reassembly::default();
        stream.syn(0);
        assert_eq!(stream.segment(1, b"abc"), vec![data("abc")]);
        assert_eq!(stream.segment(1, b"abc"), vec![]);
        assert_eq!(stream.segment(2, b"bcdef"), vec![data("def")]);
    }

    #[test]
    fn a_missing_segment_becomes_a_gap_once_the_peer_acknowledges_past_it() {
        let mut stream = Reassembly::default();
        stream.syn(0);
        assert_eq!(stream.segment(1, b"ab"), vec![data("ab")]);
        assert_eq!(stream.segment(6, b"fg"), vec![]);
        assert_eq!(stream.acknowledged(8), vec![Chunk::Gap(3), data("fg")]);
        assert_eq!(stream.segment(8, b"h"), vec![data("h")]);
    }

    #[test]
    fn a_missing_segment_becomes_a_gap_at_the_end() {
        let mut stream = Reassembly::default();
        stream.syn(0);
        stream.segment(1, b"ab");
        stream.segment(10, b"z");
        stream.segment(6, b"fg");
        assert_eq!(
            stream.finish(),
            vec![Chunk::Gap(3), data("fg"), Chunk::Gap(2), data("z")]
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut stream = Reassembly::default();
        stream.syn(u32::MAX - 2);
        assert_eq!(stream.segment(u32::MAX - 1, b"ab"), vec![data("ab")]);
        assert_eq!(stream.segment(1, b"d"), vec![]);
        assert_eq!(stream.segment(0, b"c"), vec![data("cd")]);
    }

    #[test]
    fn the_buffer_is_bounded() {
        let mut stream = Reassembly::default();
        stream.syn(0);
        let block = vec![b'x'; 64 * 1024];
        let mut delivered = Vec::new();
        for i in 0..5u32 {
            delivered.extend(stream.segment(100 + i * 64 * 1024, &block));
        }
        assert!(stream.buffered <= MAX_BUFFERED);
        assert_eq!(delivered.first(), Some(&Chunk::Gap(99)));
    }

    #[test]
    fn without_a_syn_the_first_segment_sets_the_start() {
        let mut stream = Reassembly::default();
        assert_eq!(stream.segment(5000, b"+OK"), vec![data("+OK")]);
        assert_eq!(stream.segment(4990, b"old"), vec![]);
    }
}
