//! Capture filters: a tcpdump-style expression (`udp port 67 or arp`)
//! compiled by libpcap's own compiler into classic BPF, attached in the
//! kernel to every packet socket of a capture so frames that do not match
//! never leave the kernel.

use anyhow::{Result, anyhow};

/// How many bytes of a matching frame the kernel keeps: libpcap's compiler
/// returns the snapshot length of its handle (65,535) for "accept", but a
/// veth with offloads hands over frames up to 64 KiB plus headers, so every
/// accepting return is raised to this (as tcpdump's default snaplen).
pub const SNAPLEN: u32 = 262_144;

/// A compiled filter, ready for `SO_ATTACH_FILTER`.
#[derive(Clone, Debug)]
pub struct Filter {
    pub expression: String,
    program: Vec<libc::sock_filter>,
}

/// Classic BPF's "return constant" opcode (`BPF_RET | BPF_K`).
const RET_K: u16 = 0x06;

impl Filter {
    /// Compiles `expression` for Ethernet frames; a mistake is an error
    /// naming the expression and what libpcap found wrong.
    pub fn compile(expression: &str) -> Result<Filter> {
        let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET)
            .map_err(|e| anyhow!("cannot start libpcap's filter compiler: {e}"))?;
        let compiled = dead.compile(expression, true).map_err(|e| {
            anyhow!(
                "invalid capture filter `{expression}`: {e}\n  \
                 hint: the syntax is tcpdump's (man 7 pcap-filter), e.g. `udp port 67 or arp`"
            )
        })?;
        let program = compiled
            .get_instructions()
            .iter()
            .map(|instruction| {
                // SAFETY: pcap's BpfInstruction is a transparent wrapper of
                // libpcap's `struct bpf_insn`, which has the layout of the
                // kernel's `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k).
                let mut insn: libc::sock_filter = unsafe {
                    std::ptr::read(instruction as *const pcap::BpfInstruction as *const _)
                };
                if insn.code == RET_K && insn.k != 0 {
                    insn.k = SNAPLEN;
                }
                insn
            })
            .collect();
        Ok(Filter {
            expression: expression.to_string(),
            program,
        })
    }

    /// The number of instructions (for tests and messages).
    pub fn len(&self) -> usize {
        self.program.len()
    }

    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }

    /// The program as the kernel takes it (`struct sock_fprog` points into it).
    pub(super) fn instructions(&self) -> &[libc::sock_filter] {
        &self.program
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_expression_compiles_and_accepts_whole_frames() {
        let filter = Filter::compile("udp port 67 or arp").expect("compiles");
        assert!(!filter.is_empty());
        let accepts: Vec<u32> = filter
            .instructions()
            .iter()
            .filter(|i| i.code == RET_K && i.k != 0)
            .map(|i| i.k)
            .collect();
        assert!(!accepts.is_empty());
        assert!(accepts.iter().all(|&k| k == SNAPLEN), "{accepts:?}");
    }

    #[test]
    fn an_invalid_expression_is_a_clear_error() {
        let error = Filter::compile("udp prot 67").unwrap_err().to_string();
        assert!(
            error.contains("invalid capture filter `udp prot 67`"),
            "{error}"
        );
        assert!(error.contains("pcap-filter"), "{error}");
    }
}
