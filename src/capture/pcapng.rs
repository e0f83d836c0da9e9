//! pcapng files (the format Wireshark and tshark save): a writer that is a
//! capture `Sink`, and a reader for files we (or Wireshark) wrote.
//!
//! What is written: a section header naming labctl; one interface block
//! per tap with `if_name` `node:iface`, Ethernet link type and
//! `if_tsresol` 9 (nanoseconds); an enhanced packet block per frame with
//! its direction in the flags word; and at the end one statistics block per
//! tap with the kernel's counts (`isb_ifrecv`, `isb_ifdrop`) and what
//! was written (`isb_usrdeliv`). Blocks are flushed after every batch, so
//! `labctl capture LAB -w - | wireshark -k -i -` shows frames live.

use std::borrow::Cow;
use std::io::{BufWriter, Read, Write};

use anyhow::{Context, Result, anyhow, bail};
use pcap_file::DataLink;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::interface_statistics::{
    InterfaceStatisticsBlock, InterfaceStatisticsOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::{Endianness, PcapError};

use super::bpf::SNAPLEN;
use super::frame::{Direction, Frame, Tap};
use super::session::{Flow, Sink, Stats};

/// `epb_flags` bits 0-1: the direction (pcapng spec, §4.3.1).
const FLAG_INBOUND: u32 = 1;
const FLAG_OUTBOUND: u32 = 2;

/// pcap-file 2 writes a 64-bit statistics timestamp as one number in the
/// file's byte order, but pcapng stores it as its upper 32 bits then its
/// lower 32 bits; in a little-endian file the halves are swapped to match.
fn isb_time(ns: u64) -> u64 {
    ns.rotate_left(32)
}

/// Writes a capture as pcapng to `W` (a file, or standard output).
pub struct PcapngSink<W: Write + Send> {
    writer: Option<PcapNgWriter<BufWriter<W>>>,
    out: Option<W>,
}

impl<W: Write + Send> PcapngSink<W> {
    pub fn new(out: W) -> Self {
        PcapngSink {
            writer: None,
            out: Some(out),
        }
    }

    fn writer(&mut self) -> Result<&mut PcapNgWriter<BufWriter<W>>> {
        self.writer
            .as_mut()
            .ok_or_else(|| anyhow!("the pcapng writer was not started"))
    }

    fn write(&mut self, block: Block<'_>) -> Result<()> {
        self.writer()?.write_block(&block).map_err(pcap_error)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.writer()?
            .get_mut()
            .flush()
            .context("cannot write the capture")
    }
}

fn pcap_error(error: PcapError) -> anyhow::Error {
    match error {
        PcapError::IoError(e) => anyhow::Error::new(e).context("cannot write the capture"),
        other => anyhow!("cannot write the capture: {other}"),
    }
}

impl<W: Write + Send> Sink for PcapngSink<W> {
    fn start(&mut self, taps: &[Tap], _started_ns: u64) -> Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| anyhow!("the pcapng writer was started twice"))?;
        let section = SectionHeaderBlock {
            endianness: Endianness::Little,
            options: vec![SectionHeaderOption::UserApplication(Cow::Owned(format!(
                "labctl {}",
                env!("CARGO_PKG_VERSION")
            )))],
            ..Default::default()
        };
        let writer =
            PcapNgWriter::with_section_header(BufWriter::with_capacity(1 << 20, out), section)
                .map_err(pcap_error)?;
        self.writer = Some(writer);
        for tap in taps {
            self.write(Block::InterfaceDescription(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: SNAPLEN,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Owned(tap.to_string())),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            }))?;
        }
        self.flush()
    }

    fn frames(&mut self, frames: &mut Vec<Frame>) -> Result<Flow> {
        let out = self.writer()?.get_mut();
        for frame in frames.iter() {
            write_packet(out, frame).context("cannot write the capture")?;
        }
        self.flush()?;
        Ok(Flow::Continue)
    }

    fn finish(&mut self, stats: &Stats) -> Result<()> {
        for (i, tap) in stats.taps.iter().enumerate() {
            self.write(Block::InterfaceStatistics(InterfaceStatisticsBlock {
                interface_id: i as u32,
                timestamp: isb_time(stats.ended_ns),
                options: vec![
                    InterfaceStatisticsOption::IsbStartTime(isb_time(stats.started_ns)),
                    InterfaceStatisticsOption::IsbEndTime(isb_time(stats.ended_ns)),
                    InterfaceStatisticsOption::IsbIfRecv(tap.seen),
                    InterfaceStatisticsOption::IsbIfDrop(tap.dropped),
                    InterfaceStatisticsOption::IsbUsrDeliv(tap.captured),
                ],
            }))?;
        }
        self.flush()
    }
}

/// An enhanced packet block, encoded once, straight into `out` (the
/// section is little-endian; times are in ns, as `if_tsresol` 9 says):
/// pcap-file's writer encodes every block twice, once to measure it, which
/// a busy capture cannot afford. The reader below reads it back.
fn write_packet(out: &mut impl Write, frame: &Frame) -> std::io::Result<()> {
    const EPB: u32 = 6;
    const OPT_FLAGS: u16 = 2;
    let captured = frame.data.len();
    let padding = (4 - captured % 4) % 4;
    // Type, length, interface, time high and low, lengths; the data and
    // its padding; the flags option, the end of options, the length again.
    let total = (28 + captured + padding + 8 + 4 + 4) as u32;
    let flags = match frame.direction {
        Direction::In => FLAG_INBOUND,
        Direction::Out => FLAG_OUTBOUND,
    };
    let mut head = [0u8; 28];
    for (i, word) in [
        EPB,
        total,
        frame.tap as u32,
        (frame.at_ns >> 32) as u32,
        frame.at_ns as u32,
        captured as u32,
        frame.wire_len,
    ]
    .iter()
    .enumerate()
    {
        head[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    let mut tail = [0u8; 3 + 16];
    let tail_len = padding + 16;
    let options = &mut tail[padding..tail_len];
    options[0..2].copy_from_slice(&OPT_FLAGS.to_le_bytes());
    options[2..4].copy_from_slice(&4u16.to_le_bytes());
    options[4..8].copy_from_slice(&flags.to_le_bytes());
    // options[8..12] stays zero: opt_endofopt.
    options[12..16].copy_from_slice(&total.to_le_bytes());
    out.write_all(&head)?;
    out.write_all(&frame.data)?;
    out.write_all(&tail[..tail_len])
}

/// The counts a statistics block recorded for one interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordedCounts {
    pub received: Option<u64>,
    pub dropped: Option<u64>,
    pub delivered: Option<u64>,
}

/// A whole pcapng file read back.
#[derive(Debug, Default)]
pub struct Recording {
    /// One per interface block: `node:iface` split, or the whole name as
    /// `iface` with an empty node when a file from elsewhere has no colon.
    pub taps: Vec<Tap>,
    pub frames: Vec<Frame>,
    /// The last statistics block of each interface, if any.
    pub counts: Vec<RecordedCounts>,
}

/// A tap from an interface block's name.
fn tap_of(name: &str) -> Tap {
    match name.split_once(':') {
        Some((node, iface)) => Tap {
            node: node.to_string(),
            iface: iface.to_string(),
        },
        None => Tap {
            node: String::new(),
            iface: name.to_string(),
        },
    }
}

/// Nanoseconds from a raw timestamp in `if_tsresol` units (default 10^-6).
fn to_ns(raw: u64, resolution: u8) -> Result<u64> {
    let exponent = if resolution & 0x80 != 0 {
        bail!("binary timestamp resolutions (if_tsresol {resolution:#x}) are not supported");
    } else {
        u32::from(resolution)
    };
    Ok(match exponent {
        0..=9 => raw.saturating_mul(10u64.pow(9 - exponent)),
        _ => raw / 10u64.saturating_pow(exponent - 9),
    })
}

/// Reads a pcapng stream: every interface, every packet, the statistics.
/// Only Ethernet interfaces are kept as frames (others are an error).
pub fn read(input: impl Read) -> Result<Recording> {
    let mut reader = PcapNgReader::new(input).map_err(|e| anyhow!("not a pcapng file: {e}"))?;
    let mut recording = Recording::default();
    let mut resolutions = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = block.map_err(|e| anyhow!("malformed pcapng block: {e}"))?;
        match block {
            Block::InterfaceDescription(idb) => {
                if idb.linktype != DataLink::ETHERNET {
                    bail!(
                        "interface {} is {:?}, not Ethernet",
                        recording.taps.len(),
                        idb.linktype
                    );
                }
                let mut name = format!("if{}", recording.taps.len());
                let mut resolution = 6;
                for option in &idb.options {
                    match option {
                        InterfaceDescriptionOption::IfName(n) => name = n.to_string(),
                        InterfaceDescriptionOption::IfTsResol(r) => resolution = *r,
                        _ => {}
                    }
                }
                recording.taps.push(tap_of(&name));
                recording.counts.push(RecordedCounts::default());
                resolutions.push(resolution);
            }
            Block::EnhancedPacket(epb) => {
                let tap = epb.interface_id as usize;
                let Some(&resolution) = resolutions.get(tap) else {
                    bail!("a packet names interface {tap}, which was never described");
                };
                // pcap-file hands the raw 64-bit timestamp over as nanoseconds.
                let raw = epb.timestamp.as_nanos() as u64;
                let flags = epb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        EnhancedPacketOption::Flags(f) => Some(*f),
                        _ => None,
                    })
                    .unwrap_or(0);
                recording.frames.push(Frame {
                    tap,
                    at_ns: to_ns(raw, resolution)?,
                    direction: if flags & 3 == FLAG_OUTBOUND {
                        Direction::Out
                    } else {
                        Direction::In
                    },
                    wire_len: epb.original_len,
                    data: epb.data.into_owned(),
                });
            }
            Block::InterfaceStatistics(isb) => {
                let Some(counts) = recording.counts.get_mut(isb.interface_id as usize) else {
                    bail!(
                        "statistics for interface {}, which was never described",
                        isb.interface_id
                    );
                };
                for option in &isb.options {
                    match option {
                        InterfaceStatisticsOption::IsbIfRecv(n) => counts.received = Some(*n),
                        InterfaceStatisticsOption::IsbIfDrop(n) => counts.dropped = Some(*n),
                        InterfaceStatisticsOption::IsbUsrDeliv(n) => counts.delivered = Some(*n),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(recording)
}

/// Reads a pcapng file (`-` for standard input).
pub fn read_file(path: &std::path::Path) -> Result<Recording> {
    if path.as_os_str() == "-" {
        return read(std::io::stdin().lock()).context("reading a capture from standard input");
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    read(std::io::BufReader::new(file)).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
#[path = "pcapng_tests.rs"]
mod tests;
