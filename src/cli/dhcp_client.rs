//! `labctl dhcp-client IFACE`: labctl's own DHCP client, once, in the
//! current network namespace (`ops::dhcp_client`); prints the lease it put
//! on the interface as JSON.

use std::process::ExitCode;

use anyhow::Result;

use crate::ops::dhcp_client::acquire;

pub fn run(iface: &str) -> Result<ExitCode> {
    let granted = acquire(iface)?;
    println!("{}", serde_json::to_string_pretty(&granted)?);
    Ok(ExitCode::SUCCESS)
}
