//! `labctl restart LAB|FILE`: start a lab's daemon again after it crashed or
//! was killed, keeping its mail, relay queue and DHCP leases
//! (`ops::restart`); prints the leases the clients have.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;

use crate::daemon::state::ClientReport;
use crate::ops::restart::restart;
use crate::ops::target::lab_name;
use crate::printable::line;
use crate::progress::Progress;

pub fn run(target: &str) -> Result<ExitCode> {
    let name = lab_name(target)?;
    let restarted = restart(&name, &Progress::new())?;
    let pid = restarted
        .pid
        .map(|pid| format!(" (pid {pid})"))
        .unwrap_or_default();
    println!(
        "lab {name}: daemon restarted{pid} in {:.2} s; mailboxes, the relay queue and DHCP leases were kept",
        restarted.took.as_secs_f64()
    );
    print_leases(&restarted.leases);
    Ok(ExitCode::SUCCESS)
}

fn print_leases(leases: &BTreeMap<String, ClientReport>) {
    for (interface, client) in leases {
        match (&client.address, &client.reason) {
            (Some(address), _) => println!(
                "  {interface} {} (dhcp from {})",
                line(address),
                line(client.server.as_deref().unwrap_or("?"))
            ),
            (None, Some(reason)) => println!("  {interface} NO LEASE: {}", line(reason)),
            (None, None) => println!("  {interface} {}", client.state),
        }
    }
}
