//! dns-floor — the machine's floor for bench/dns.sh: the least a UDP DNS
//! responder can do per query on one core. Built only for the benchmark:
//! `cargo build --release --example dns-floor`.
//!
//! One thread, one socket: `recvmmsg` takes up to 64 waiting queries, each
//! gets the same reply packet (built once at start: `NAME A ADDRESS`,
//! authoritative) with only the query's 2-byte ID copied in, and one
//! `sendmmsg` sends the batch back. No parsing, no lookup, no allocation
//! per query: what is left is the kernel's UDP path and the two system
//! calls per batch, which every server measured beside it pays as well.
//! Runs until it is killed (the benchmark sends SIGTERM).

use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use clap::Parser;
use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Queries taken per `recvmmsg`, as labctl's DNS server does.
const BATCH: usize = 64;
/// Room per query: more than any EDNS size a client may use.
const QUERY_ROOM: usize = 4096;
/// The shortest message with an ID and a header.
const HEADER: usize = 12;

#[derive(Parser)]
#[command(about = "Fixed-reply UDP DNS responder: the floor of bench/dns.sh")]
struct Args {
    /// Address and port to answer on.
    #[arg(long)]
    listen: SocketAddr,
    /// The name of the one answer every query gets.
    #[arg(long)]
    name: String,
    /// Its A record.
    #[arg(long)]
    address: Ipv4Addr,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let reply = fixed_reply(&args.name, args.address)?;
    let socket = UdpSocket::bind(args.listen).with_context(|| format!("bind {}", args.listen))?;
    serve(&socket, &reply)
}

/// The reply packet: the question `NAME A IN` and its answer, ID 0.
fn fixed_reply(name: &str, address: Ipv4Addr) -> Result<Vec<u8>> {
    let name = Name::from_ascii(name).with_context(|| format!("bad name {name}"))?;
    let mut message = Message::response(0, OpCode::Query);
    message.metadata.authoritative = true;
    message.add_query(Query::query(name.clone(), RecordType::A));
    message.add_answer(Record::from_rdata(name, 300, RData::A(A(address))));
    Ok(message.to_vec()?)
}

fn serve(socket: &UdpSocket, reply: &[u8]) -> Result<()> {
    let fd = socket.as_raw_fd();
    let mut queries = vec![[0u8; QUERY_ROOM]; BATCH];
    let mut replies = vec![reply.to_vec(); BATCH];
    // SAFETY: plain C structs, all-zero is a valid value for each.
    let mut peers: Vec<libc::sockaddr_storage> = vec![unsafe { zeroed() }; BATCH];
    let mut in_iov: Vec<libc::iovec> = vec![unsafe { zeroed() }; BATCH];
    let mut out_iov: Vec<libc::iovec> = vec![unsafe { zeroed() }; BATCH];
    let mut received: Vec<libc::mmsghdr> = vec![unsafe { zeroed() }; BATCH];
    let mut to_send: Vec<libc::mmsghdr> = vec![unsafe { zeroed() }; BATCH];
    loop {
        for i in 0..BATCH {
            in_iov[i] = libc::iovec {
                iov_base: queries[i].as_mut_ptr().cast(),
                iov_len: QUERY_ROOM,
            };
            let header = &mut received[i].msg_hdr;
            header.msg_name = (&mut peers[i] as *mut libc::sockaddr_storage).cast();
            header.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
            header.msg_iov = &mut in_iov[i];
            header.msg_iovlen = 1;
        }
        // SAFETY: every header points at live buffers of the stated sizes.
        let got = unsafe {
            libc::recvmmsg(
                fd,
                received.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            let error = std::io::Error::last_os_error();
            match error.kind() {
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionRefused => continue,
                _ => return Err(error).context("recvmmsg"),
            }
        }
        let mut count = 0;
        for i in 0..got as usize {
            if (received[i].msg_len as usize) < HEADER {
                continue;
            }
            replies[count][..2].copy_from_slice(&queries[i][..2]);
            out_iov[count] = libc::iovec {
                iov_base: replies[count].as_mut_ptr().cast(),
                iov_len: reply.len(),
            };
            let header = &mut to_send[count].msg_hdr;
            header.msg_name = (&mut peers[i] as *mut libc::sockaddr_storage).cast();
            header.msg_namelen = received[i].msg_hdr.msg_namelen;
            header.msg_iov = &mut out_iov[count];
            header.msg_iovlen = 1;
            count += 1;
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: the headers point at the replies and peers above, alive
            // until sendmmsg returns.
            let n = unsafe {
                libc::sendmmsg(fd, to_send[sent..].as_mut_ptr(), (count - sent) as u32, 0)
            };
            // A full buffer or an unreachable peer: that reply is lost, as a datagram may be.
            sent += if n <= 0 { 1 } else { n as usize };
        }
    }
}
