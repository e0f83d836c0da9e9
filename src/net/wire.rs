//! The kernel side of a userspace wire: how the lab daemon carries a
//! cable's delay, jitter, loss, duplication and corruption on a kernel
//! built without netem. For one end of the cable (interface `eth0` of a
//! node, index N), in the node's namespace:
//!
//! ```text
//!   eth0 ──(clsact egress: 1. marked: pass; 2. all: mirred redirect)──▶ lcwNa
//!   lcwNa ══ veth ══ lcwNb ── port of bridge lcwNs (kept down: drops all)
//! ```
//!
//! Every frame the node sends on eth0 is stolen before eth0's queue and
//! sent on lcwNa instead, where a packet socket of the daemon reads it
//! (`daemon::wire`); the copy reaching lcwNb is dropped by its bridge,
//! which is never up, so the node's own stack never sees it again. The
//! daemon sends the frame on eth0 itself, later, marked (`MARK`): a first
//! filter lets marked frames pass to eth0's queue (where a rate's tbf
//! is) and to captures on eth0. lcwNa has no checksum or segmentation
//! offload, so the frames read there are whole, checksummed and at most
//! one MTU long. All of it is made and removed through rtnetlink (the
//! offload through the ethtool ioctl, from a thread inside the namespace).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{Context, Result, anyhow};
use futures::TryStreamExt;
use rtnetlink::packet_core::{DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth};

/// clsact's place in the tree (`TC_H_CLSACT`) and its handle (`ffff:`).
const CLSACT_PARENT: u32 = 0xFFFF_FFF1;
const CLSACT_HANDLE: u32 = 0xFFFF_0000;
/// clsact's egress hook (`TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)`).
const EGRESS: u32 = 0xFFFF_FFF3;
/// Every protocol (in network order where the filter header takes it).
const ETH_P_ALL: u16 = 0x0003;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_OPS_LEN: u16 = 4;
const TCA_BPF_OPS: u16 = 5;
/// The mark on the frames the daemon sends out again (`SO_MARK`): the
/// interface's filter lets them pass instead of stealing them. The mark is
/// cleared when a frame crosses into the peer's namespace.
pub const MARK: u32 = 0x6c63_7701;

/// TCA_OPTIONS of a classic-BPF filter that matches frames carrying
/// `MARK` (and has no action: a match lets the frame pass):
/// `ld mark; jeq MARK; ret -1 (match); ret 0 (no match)`.
fn pass_marked() -> Vec<u8> {
    const SKF_AD_MARK: u32 = 0xFFFF_F000 + 20;
    // (code, jt, jf, k) as `struct sock_filter`.
    let program: [(u16, u8, u8, u32); 4] = [
        (0x20, 0, 0, SKF_AD_MARK),
        (0x15, 0, 1, MARK),
        (0x06, 0, 0, u32::MAX),
        (0x06, 0, 0, 0),
    ];
    let mut ops = Vec::new();
    for (code, jt, jf, k) in program {
        ops.extend_from_slice(&code.to_ne_bytes());
        ops.extend_from_slice(&[jt, jf]);
        ops.extend_from_slice(&k.to_ne_bytes());
    }
    let mut out = Vec::new();
    super::netem::attribute(
        &mut out,
        TCA_BPF_OPS_LEN,
        &(program.len() as u16).to_ne_bytes(),
    );
    super::netem::attribute(&mut out, TCA_BPF_OPS, &ops);
    out
}

/// The devices of the wire at interface index `index` of a node.
pub struct WireNames {
    /// Where the daemon reads the node's frames.
    pub tap: String,
    /// The tap's peer, a port of the bridge below.
    pub sink: String,
    /// The bridge that is never up.
    pub bridge: String,
}

impl WireNames {
    pub fn of(index: u32) -> WireNames {
        WireNames {
            tap: format!("lcw{index}a"),
            sink: format!("lcw{index}b"),
            bridge: format!("lcw{index}s"),
        }
    }
}

async fn index_of(netlink: &Handle, name: &str) -> Result<Option<u32>> {
    let mut links = netlink.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(Some(link.header.index)),
        Ok(None) => Ok(None),
        Err(rtnetlink::Error::NetlinkError(e))
            if e.code.map(|c| c.get()) == Some(-libc::ENODEV) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow!("cannot look up {name}: {e}")),
    }
}

/// Builds the wire at interface `index` (whose peer end is elsewhere) and
/// steals its outgoing frames (but the marked ones); returns the tap's
/// name and index. A wire
/// already there is taken down first.
pub async fn attach(netlink: &Handle, index: u32) -> Result<(String, u32)> {
    detach(netlink, index).await?;
    let names = WireNames::of(index);
    netlink
        .link()
        .add(LinkVeth::new(&names.tap, &names.sink).build())
        .execute()
        .await
        .with_context(|| format!("cannot add the wire's veth pair {}", names.tap))?;
    netlink
        .link()
        .add(LinkBridge::new(&names.bridge).down().build())
        .execute()
        .await
        .with_context(|| format!("cannot add the wire's bridge {}", names.bridge))?;
    let tap = index_of(netlink, &names.tap)
        .await?
        .ok_or_else(|| anyhow!("{} vanished", names.tap))?;
    let sink = index_of(netlink, &names.sink)
        .await?
        .ok_or_else(|| anyhow!("{} vanished", names.sink))?;
    let bridge = index_of(netlink, &names.bridge)
        .await?
        .ok_or_else(|| anyhow!("{} vanished", names.bridge))?;
    netlink
        .link()
        .set(
            LinkUnspec::new_with_index(sink)
                .controller(bridge)
                .up()
                .build(),
        )
        .execute()
        .await
        .context("cannot put the wire's sink on its bridge")?;
    netlink
        .link()
        .set(LinkUnspec::new_with_index(tap).up().build())
        .execute()
        .await
        .context("cannot set the wire's tap up")?;
    let mut clsact = TcMessage::with_index(index as i32);
    clsact.header.parent = CLSACT_PARENT.into();
    clsact.header.handle = CLSACT_HANDLE.into();
    clsact
        .attributes
        .push(TcAttribute::Kind("clsact".to_string()));
    super::netem::send(
        netlink,
        RouteNetlinkMessage::NewQueueDiscipline(clsact),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        false,
    )
    .await
    .context("cannot add a clsact qdisc")?;
    // First: frames the daemon sends (its mark) pass on to the queue.
    let mut passed = TcMessage::with_index(index as i32);
    passed.header.parent = EGRESS.into();
    passed.header.info = (1 << 16) | u32::from(ETH_P_ALL.to_be());
    passed.attributes.push(TcAttribute::Kind("bpf".to_string()));
    passed.attributes.push(TcAttribute::Other(DefaultNla::new(
        TCA_OPTIONS,
        pass_marked(),
    )));
    super::netem::send(
        netlink,
        RouteNetlinkMessage::NewTrafficFilter(passed),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        false,
    )
    .await
    .context("cannot let the wire's frames pass")?;
    // Then: every other frame goes to the tap.
    netlink
        .traffic_filter(index as i32)
        .add()
        .parent(EGRESS)
        .priority(2)
        .protocol(ETH_P_ALL.to_be())
        .redirect(tap)
        .map_err(|e| anyhow!("{e}"))?
        .execute()
        .await
        .context("cannot redirect the interface's frames to the wire")?;
    Ok((names.tap, tap))
}

/// Takes the wire at interface `index` away (absent is fine): its frames
/// go straight out again.
pub async fn detach(netlink: &Handle, index: u32) -> Result<()> {
    let mut clsact = TcMessage::with_index(index as i32);
    clsact.header.parent = CLSACT_PARENT.into();
    clsact.header.handle = TcHandle::from(CLSACT_HANDLE);
    super::netem::send(
        netlink,
        RouteNetlinkMessage::DelQueueDiscipline(clsact),
        NLM_F_REQUEST | NLM_F_ACK,
        true,
    )
    .await?;
    let names = WireNames::of(index);
    for name in [&names.tap, &names.bridge] {
        if let Some(device) = index_of(netlink, name).await? {
            netlink
                .link()
                .del(device)
                .execute()
                .await
                .with_context(|| format!("cannot remove {name}"))?;
        }
    }
    Ok(())
}

/// `struct ethtool_value` (linux/ethtool.h).
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// `ETHTOOL_STXCSUM`: transmit checksum offload on or off (off also turns
/// scatter-gather and segmentation offload off).
const ETHTOOL_STXCSUM: u32 = 0x0000_0017;

/// An interface request for interface `name` (the rest all zero).
fn interface_request(name: &str) -> libc::ifreq {
    // SAFETY: an all-zero ifreq is valid; the name is set below.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes().take(15)) {
        *slot = byte as libc::c_char;
    }
    request
}

/// Sends interface ioctl `command` with `request` on a socket of the
/// calling thread's namespace.
fn interface_ioctl(command: libc::Ioctl, request: &mut libc::ifreq, what: &str) -> Result<()> {
    // SAFETY: plain socket(2); owned at once.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot open a socket for an ioctl");
    }
    // SAFETY: `raw` is a fresh fd nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: `request` is a valid ifreq; what it points at outlives the call.
    let ret = unsafe { libc::ioctl(socket.as_raw_fd(), command, request as *mut libc::ifreq) };
    if ret < 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_string());
    }
    Ok(())
}

/// Turns transmit checksum offload off on interface `name` of the calling
/// thread's namespace, so frames sent there are complete on the wire.
pub fn whole_frames(name: &str) -> Result<()> {
    let mut value = EthtoolValue {
        cmd: ETHTOOL_STXCSUM,
        data: 0,
    };
    let mut request = interface_request(name);
    request.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    interface_ioctl(
        libc::SIOCETHTOOL,
        &mut request,
        &format!("cannot turn checksum offload off on {name}"),
    )
}

/// The hardware address of interface `name` of the calling thread's
/// namespace (SIOCGIFHWADDR).
pub fn hardware_address(name: &str) -> Result<[u8; 6]> {
    let mut request = interface_request(name);
    interface_ioctl(
        libc::SIOCGIFHWADDR,
        &mut request,
        &format!("cannot read the address of {name}"),
    )?;
    // SAFETY: SIOCGIFHWADDR filled `ifru_hwaddr`.
    let data = unsafe { request.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (m, d) in mac.iter_mut().zip(data.iter()) {
        *m = *d as u8;
    }
    Ok(mac)
}
