//! A cable's impairments in the kernel, set or removed through rtnetlink
//! (never by running `tc`): a tbf qdisc at the root of the interface for
//! `rate`, and a netem qdisc (under the tbf, or at the root) for delay,
//! jitter, loss, duplication and corruption. netlink-packet-route has
//! options for neither, and netem's TCA_OPTIONS is not a list of
//! attributes but `struct tc_netem_qopt` followed by them, so the bytes
//! are laid out here (linux/pkt_sched.h) and sent as one opaque
//! TCA_OPTIONS attribute. Delay and jitter go as 64-bit nanoseconds
//! (TCA_NETEM_LATENCY64/JITTER64), which the kernel prefers to the
//! tick-based fields of the struct. The rate is a tbf rather than netem's
//! own rate so that it works on kernels built without netem too.

use anyhow::{Result, anyhow};
use futures::StreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::tc::{TcAttribute, TcHandle, TcMessage};

use crate::lab::netem::Netem;

const TCA_OPTIONS: u16 = 2;
const TCA_NETEM_CORRUPT: u16 = 4;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_BURST: u16 = 6;
/// The queue netem keeps (its default, as `tc` sets it).
const LIMIT: u32 = 1000;

/// A probability as netem counts it: a fraction of u32::MAX.
fn probability(percent: f64) -> u32 {
    (percent / 100.0 * f64::from(u32::MAX)).round() as u32
}

/// Appends one netlink attribute (length, kind, value, padding to 4).
pub(super) fn attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// TCA_OPTIONS of a netem qdisc: `tc_netem_qopt`, then its attributes.
pub fn options(netem: &Netem) -> Vec<u8> {
    let mut out = Vec::new();
    // latency, limit, loss, gap, duplicate, jitter
    for field in [
        0,
        LIMIT,
        probability(netem.loss),
        0,
        probability(netem.duplicate),
        0,
    ] {
        out.extend_from_slice(&field.to_ne_bytes());
    }
    attribute(
        &mut out,
        TCA_NETEM_LATENCY64,
        &(netem.delay_ns as i64).to_ne_bytes(),
    );
    attribute(
        &mut out,
        TCA_NETEM_JITTER64,
        &(netem.jitter_ns as i64).to_ne_bytes(),
    );
    if netem.corrupt > 0.0 {
        // probability, correlation
        let mut corrupt = probability(netem.corrupt).to_ne_bytes().to_vec();
        corrupt.extend_from_slice(&0u32.to_ne_bytes());
        attribute(&mut out, TCA_NETEM_CORRUPT, &corrupt);
    }
    out
}

/// TCA_OPTIONS of a tbf qdisc limiting to `rate` bytes a second:
/// `tc_tbf_qopt` (rate spec for Ethernet so no rate table is needed,
/// a queue of 100 ms) and TCA_TBF_BURST in bytes.
pub fn tbf_options(rate: u64) -> Vec<u8> {
    let rate32 = u32::try_from(rate).unwrap_or(u32::MAX);
    let burst = u32::try_from((rate / 50).max(3200)).unwrap_or(u32::MAX);
    let limit = burst.saturating_add(rate32 / 10);
    let mut parms = Vec::new();
    // tc_ratespec: cell_log, linklayer (1: Ethernet), overhead, cell_align, mpu, rate
    parms.extend_from_slice(&[0u8, 1u8]);
    parms.extend_from_slice(&0u16.to_ne_bytes());
    parms.extend_from_slice(&0i16.to_ne_bytes());
    parms.extend_from_slice(&0u16.to_ne_bytes());
    parms.extend_from_slice(&rate32.to_ne_bytes());
    // peakrate: none
    parms.extend_from_slice(&[0u8; 12]);
    // limit, buffer (from TCA_TBF_BURST instead), mtu
    for field in [limit, 0, 0] {
        parms.extend_from_slice(&field.to_ne_bytes());
    }
    let mut out = Vec::new();
    attribute(&mut out, TCA_TBF_PARMS, &parms);
    attribute(&mut out, TCA_TBF_BURST, &burst.to_ne_bytes());
    out
}

/// Puts `netem` on interface `index`, replacing what it had: a tbf at
/// the root for the rate, netem (under the tbf, or at the root) for the
/// rest. A clear `netem` leaves the interface as built.
pub async fn set(netlink: &Handle, index: u32, netem: &Netem) -> Result<()> {
    // Whatever was there goes first (absent is fine).
    let mut root = TcMessage::with_index(index as i32);
    root.header.parent = TcHandle::ROOT;
    send(
        netlink,
        RouteNetlinkMessage::DelQueueDiscipline(root),
        NLM_F_REQUEST | NLM_F_ACK,
        true,
    )
    .await?;
    let create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut parent = TcHandle::ROOT;
    if netem.rate_bytes > 0 {
        let tbf = qdisc(
            index,
            parent,
            TcHandle { major: 1, minor: 0 },
            "tbf",
            tbf_options(netem.rate_bytes),
        );
        send(
            netlink,
            RouteNetlinkMessage::NewQueueDiscipline(tbf),
            create,
            false,
        )
        .await?;
        parent = TcHandle { major: 1, minor: 1 };
    }
    let rest = Netem {
        rate_bytes: 0,
        ..netem.clone()
    };
    if !rest.is_clear() {
        let handle = TcHandle {
            major: 10,
            minor: 0,
        };
        let netem = qdisc(index, parent, handle, "netem", options(&rest));
        send(
            netlink,
            RouteNetlinkMessage::NewQueueDiscipline(netem),
            create,
            false,
        )
        .await
        .map_err(|e| {
            if e.to_string().contains("No such file") {
                anyhow::Error::new(NoNetem)
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// The kernel has no netem (sch_netem): `set` left the interface with
/// its rate alone, and the daemon carries the rest (`net::wire`).
#[derive(Debug)]
pub struct NoNetem;

impl std::fmt::Display for NoNetem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("this kernel has no netem (sch_netem)")
    }
}

impl std::error::Error for NoNetem {}

fn qdisc(
    index: u32,
    parent: TcHandle,
    handle: TcHandle,
    kind: &str,
    options: Vec<u8>,
) -> TcMessage {
    let mut message = TcMessage::with_index(index as i32);
    message.header.parent = parent;
    message.header.handle = handle;
    message.attributes.push(TcAttribute::Kind(kind.to_string()));
    message
        .attributes
        .push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
    message
}

/// Sends one request and waits for its answer; with `absent_ok`, "there is
/// none" is no error.
pub(super) async fn send(
    netlink: &Handle,
    payload: RouteNetlinkMessage,
    flags: u16,
    absent_ok: bool,
) -> Result<()> {
    let kind = match &payload {
        RouteNetlinkMessage::NewQueueDiscipline(m) => m
            .attributes
            .iter()
            .find_map(|a| match a {
                TcAttribute::Kind(k) => Some(k.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        _ => "root".to_string(),
    };
    let mut request = NetlinkMessage::from(payload);
    request.header.flags = flags;
    let mut handle = netlink.clone();
    let mut replies = handle
        .request(request)
        .map_err(|e| anyhow!("netlink: {e}"))?;
    while let Some(reply) = replies.next().await {
        if let NetlinkPayload::Error(e) = reply.payload
            && let Some(code) = e.code
        {
            if absent_ok && (code.get() == -libc::ENOENT || code.get() == -libc::EINVAL) {
                return Ok(());
            }
            return Err(anyhow!(
                "the kernel refused the {kind} qdisc: {}",
                std::io::Error::from_raw_os_error(-code.get())
            ));
        }
    }
    Ok(())
}
