//! Packet sockets (`AF_PACKET`), as the capture taps and the daemon's
//! userspace wires open them: an interface's index by its name, and binding
//! a socket to one interface for one protocol.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::RawFd;

use anyhow::{Context, Result};

/// The index of interface `name` in the calling thread's namespace.
pub fn interface_index(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)
        .with_context(|| format!("`{name}` is not an interface name"))?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error())
            .with_context(|| format!("there is no interface {name}"));
    }
    Ok(index)
}

/// Binds packet socket `fd` to interface `index`, receiving `protocol`
/// (an `ETH_P_*` value in host order; 0 receives nothing).
pub fn bind(fd: RawFd, index: u32, protocol: u16) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
    let mut address: libc::sockaddr_ll = unsafe { zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = protocol.to_be();
    address.sll_ifindex = index as i32;
    // SAFETY: `address` is a valid sockaddr_ll of the size given.
    let ret = unsafe {
        libc::bind(
            fd,
            (&address as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
