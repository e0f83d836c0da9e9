//! `wire` checks: what crossed the lab's links, graded. The runner captures
//! every interface while the other checks run (`probes::wire`) and hands
//! the decoded traffic here once they are done; a wire check with `run`
//! looks only at what its own command sent. Four assertions: a protocol
//! seen (or not) crossing given nodes or interfaces, text that must not be
//! readable anywhere (in a frame's bytes or a decoded dialogue, base64
//! AUTH PLAIN/LOGIN credentials included), and a DHCP exchange answered
//! through a relay. A failure names where and when: `"hunter2" crossed
//! r1:eth1 at 0.42 s in AUTH PLAIN (base64 is not encryption)`.

use crate::capture::decode::{self, Event, Hop, Layer, Proto, path_text};
use crate::capture::frame::Tap;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::wire::{Observed, Window};
use crate::checks::resolver::Resolver;
use crate::lab::model_checks::{ExecCheck, OneOrMany, WireCheck, WireSeen};

use super::exec::{self, Exec};

#[derive(Clone, Debug)]
pub struct Wire {
    pub during: During,
    pub assertion: Assertion,
}

/// Whose traffic a wire check looks at.
#[derive(Clone, Debug)]
pub enum During {
    /// Every other check of the run.
    All,
    /// The checks with these names.
    Named(Vec<String>),
    /// Its own command, run once the other checks are done.
    Run(Exec),
}

/// What must (not) have crossed the wire.
#[derive(Clone, Debug)]
pub enum Assertion {
    Seen {
        proto: Proto,
        on: Vec<Place>,
        from: Option<String>,
        to: Option<String>,
        /// `seen` (true) or `not-seen`.
        wanted: bool,
    },
    Absent {
        text: String,
        on: Vec<Place>,
    },
    Relay {
        relay: String,
        /// The relay's addresses, one of which a relayed answer's giaddr is.
        giaddrs: Vec<String>,
        /// The client, and its MACs as the decoder writes them.
        client: Option<(String, Vec<String>)>,
    },
}

/// A node (all its interfaces) or one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub node: String,
    pub iface: Option<String>,
}

impl Place {
    fn matches(&self, tap: &Tap) -> bool {
        tap.node == self.node && self.iface.as_ref().is_none_or(|i| *i == tap.iface)
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.iface {
            Some(iface) => write!(f, "{}:{iface}", self.node),
            None => f.write_str(&self.node),
        }
    }
}

pub fn resolve(r: &mut Resolver, c: &WireCheck) -> Option<Wire> {
    let given: Vec<&str> = [
        c.seen.as_ref().map(|_| "seen"),
        c.not_seen.as_ref().map(|_| "not-seen"),
        c.absent.as_ref().map(|_| "absent"),
        c.relay.as_ref().map(|_| "relay"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        let field = given.get(1).copied().unwrap_or("seen");
        r.error(
            field,
            if given.is_empty() {
                "a wire check says what to look for with none of `seen`, `not-seen`, `absent`, `relay`".to_string()
            } else {
                format!("a wire check has both `{}` and `{}`", given[0], given[1])
            },
            "one wire check asserts one thing: split it into two checks",
        );
        return None;
    }
    let during = match (&c.during, &c.run) {
        (Some(_), Some(_)) => {
            r.error(
                "during",
                "a wire check looks at the other checks (`during`) or at its own command (`run`), not both",
                "drop one of them",
            );
            return None;
        }
        (_, Some(run)) => During::Run(exec::resolve(
            r,
            &ExecCheck {
                node: run.node.clone(),
                command: run.command.clone(),
                exit: None,
                output: None,
                timeout: run.timeout.clone(),
            },
        )?),
        (Some(during), None) => {
            let names = during.to_vec();
            if names.iter().any(|n| n.eq_ignore_ascii_case("all")) {
                During::All
            } else {
                During::Named(names)
            }
        }
        (None, None) => During::All,
    };
    let assertion = if let Some(seen) = &c.seen {
        seen_assertion(r, "seen", seen, true)?
    } else if let Some(seen) = &c.not_seen {
        seen_assertion(r, "not-seen", seen, false)?
    } else if let Some(absent) = &c.absent {
        if absent.text.is_empty() {
            r.error(
                "absent",
                "the text to look for is empty",
                "e.g. {text: secret}",
            );
            return None;
        }
        Assertion::Absent {
            text: absent.text.clone(),
            on: places(r, "absent", absent.at.as_ref())?,
        }
    } else {
        let relay = c.relay.as_ref()?;
        let node = r.node("relay", &relay.relay)?;
        let giaddrs = node
            .interfaces
            .iter()
            .filter_map(|i| i.address.map(|a| a.addr().to_string()))
            .collect();
        let relay_name = node.name.clone();
        let client = match &relay.client {
            Some(name) => {
                let client = r.node("relay", name)?;
                let macs = client
                    .interfaces
                    .iter()
                    .map(|i| decode::layers::mac_text(i.mac.0))
                    .collect();
                Some((client.name.clone(), macs))
            }
            None => None,
        };
        Assertion::Relay {
            relay: relay_name,
            giaddrs,
            client,
        }
    };
    Some(Wire { during, assertion })
}

fn seen_assertion(
    r: &mut Resolver,
    field: &str,
    seen: &WireSeen,
    wanted: bool,
) -> Option<Assertion> {
    let proto = match decode::Filter::parse_protos(&seen.proto) {
        Ok(protos) if protos.len() == 1 => protos[0],
        _ => {
            let known: Vec<&str> = Proto::ALL.iter().map(|p| p.name()).collect();
            r.error(
                field,
                format!("`{}` is not one protocol the capture decodes", seen.proto),
                format!("use one of {}", known.join(", ")),
            );
            return None;
        }
    };
    let mut node = |name: &Option<String>| -> Option<Option<String>> {
        match name {
            Some(name) => Some(Some(r.node(field, name)?.name.clone())),
            None => Some(None),
        }
    };
    let from = node(&seen.from)?;
    let to = node(&seen.to)?;
    Some(Assertion::Seen {
        proto,
        on: places(r, field, seen.at.as_ref())?,
        from,
        to,
        wanted,
    })
}

/// `r1`, `r1:eth0`, or `any` (no places: everywhere).
fn places(r: &mut Resolver, field: &str, on: Option<&OneOrMany>) -> Option<Vec<Place>> {
    let mut places = Vec::new();
    for spec in on.map(OneOrMany::to_vec).unwrap_or_default() {
        if spec.eq_ignore_ascii_case("any") {
            continue;
        }
        let (name, iface) = match spec.split_once(':') {
            Some((node, iface)) => (node, Some(iface.to_string())),
            None => (spec.as_str(), None),
        };
        let node = r.node(field, name)?;
        if let Some(iface) = &iface
            && !node.interfaces.iter().any(|i| i.name == *iface)
        {
            let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
            let node_name = node.name.clone();
            r.missing(
                field,
                format!("node {node_name} has no interface `{iface}`"),
                format!("its interfaces: {}", names.join(", ")),
            );
            return None;
        }
        places.push(Place {
            node: node.name.clone(),
            iface,
        });
    }
    Some(places)
}

/// Traffic a packet's first sighting may trail its check's end by (the
/// reply to a check's last request).
const SLACK_NS: u64 = 100_000_000;

impl Wire {
    /// The node the check starts from: its command's, else none in
    /// particular.
    pub fn source(&self) -> &str {
        match &self.during {
            During::Run(exec) => &exec.node,
            _ => "the wire",
        }
    }

    pub fn describe(&self) -> String {
        let what = match &self.assertion {
            Assertion::Seen {
                proto,
                on,
                from,
                to,
                wanted,
            } => {
                let ends = ends_text(from.as_deref(), to.as_deref());
                let place = if on.is_empty() {
                    "the wire".to_string()
                } else {
                    and_list(on)
                };
                if *wanted {
                    format!("{}{ends} crosses {place}", proto.name())
                } else {
                    format!("no {}{ends} crosses {place}", proto.name())
                }
            }
            Assertion::Absent { text, on } => format!(
                "{text:?} is not readable on {}",
                if on.is_empty() {
                    "any link".to_string()
                } else {
                    and_list(on)
                }
            ),
            Assertion::Relay { relay, client, .. } => format!(
                "a DHCP exchange{} is answered through {relay}",
                client
                    .as_ref()
                    .map(|(c, _)| format!(" of {c}"))
                    .unwrap_or_default()
            ),
        };
        format!("wire: {what} {}", self.during_text())
    }

    /// `during the other checks`, `while \`udhcpc …\` ran on pc-bob`.
    fn during_text(&self) -> String {
        match &self.during {
            During::All => "during the other checks".to_string(),
            During::Named(names) => format!(
                "during {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            During::Run(exec) => {
                format!("while `{}` ran on {}", exec.command.join(" "), exec.node)
            }
        }
    }

    /// Runs its command, if it has one (its traffic is what it grades).
    pub fn run_command(&self, ctx: &LabContext) -> Step<()> {
        match &self.during {
            During::Run(exec) => exec.run(ctx).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Grades what `observed` saw within `windows`.
    pub fn evaluate(&self, observed: &Observed, windows: &[Window]) -> Step<Outcome> {
        let inside = |at: u64| {
            windows
                .iter()
                .any(|w| at >= w.start_ns && at <= w.end_ns + SLACK_NS)
        };
        let events: Vec<&Event> = observed.events.iter().filter(|e| inside(e.at_ns)).collect();
        let during = self.during_text();
        let outcome = match &self.assertion {
            Assertion::Seen {
                proto,
                on,
                from,
                to,
                wanted,
            } => seen(
                observed,
                &events,
                (*proto, on, from.as_deref(), to.as_deref(), *wanted),
                &during,
            ),
            Assertion::Absent { text, on } => absent(observed, &events, text, on, &inside, &during),
            Assertion::Relay {
                relay,
                giaddrs,
                client,
            } => relayed(observed, &events, relay, giaddrs, client.as_ref(), &during),
        }?;
        if observed.dropped > 0 || observed.missed > 0 {
            return Ok(Outcome::pass(format!(
                "{} (the capture lost {} frames: the kernel dropped {}, {} did not fit in memory)",
                outcome.detail,
                observed.dropped + observed.missed,
                observed.dropped,
                observed.missed
            )));
        }
        Ok(outcome)
    }
}

type SeenWanted<'a> = (Proto, &'a [Place], Option<&'a str>, Option<&'a str>, bool);

fn seen(
    observed: &Observed,
    events: &[&Event],
    (proto, on, from, to, wanted): SeenWanted<'_>,
    during: &str,
) -> Step<Outcome> {
    let taps = &observed.taps;
    let filter = decode::Filter {
        protos: vec![proto],
        nodes: Vec::new(),
    };
    let of_proto: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| filter.matches(e, taps))
        .filter(|e| from.is_none_or(|f| e.from.as_deref() == Some(f)))
        .filter(|e| to.is_none_or(|t| e.to.as_deref() == Some(t)))
        .collect();
    let crosses = |e: &&&Event| {
        on.iter().all(|place| {
            e.path
                .iter()
                .any(|h| taps.get(h.tap).is_some_and(|t| place.matches(t)))
        })
    };
    // The dialogue itself is better evidence than its TCP handshake.
    let crossing = of_proto
        .iter()
        .filter(crosses)
        .find(|e| e.is_dialogue())
        .or_else(|| of_proto.iter().find(crosses));
    let what = format!("{}{}", proto.name(), ends_text(from, to));
    let place = if on.is_empty() {
        "the wire".to_string()
    } else {
        and_list(on)
    };
    match (crossing, wanted) {
        (Some(event), true) => Ok(Outcome::pass(format!(
            "{what} crossed {} at {}: {}",
            path_text(&event.path, taps),
            observed.offset(event.at_ns),
            event.text
        ))),
        (None, false) => Ok(Outcome::pass(format!(
            "no {what} crossed {place} {during} ({} events looked at)",
            events.len()
        ))),
        (Some(event), false) => Err(Diagnosis::new(
            "wire",
            format!(
                "{what} crossed {} at {} {during}: {} → {}: {}",
                first_place(event, on, taps),
                observed.offset(event.at_ns),
                event.from.as_deref().unwrap_or("?"),
                event.to.as_deref().unwrap_or("?"),
                event.text
            ),
            format!(
                "nothing of {} should pass {place}: check the routes and filters",
                proto.name()
            ),
        )),
        (None, true) => Err(match of_proto.first() {
            None => Diagnosis::new(
                "wire",
                format!("no {what} was seen on any link {during}"),
                format!(
                    "did anything send {}? `labctl capture LAB --proto {}` shows what crosses the wire",
                    proto.name(),
                    proto.name()
                ),
            ),
            Some(event) => Diagnosis::new(
                "wire",
                format!(
                    "{what} was seen {during}, but never crossing {place}: at {} it went {}",
                    observed.offset(event.at_ns),
                    path_text(&event.path, taps)
                ),
                format!("does the route between its ends go through {place}?"),
            ),
        }),
    }
}

fn absent(
    observed: &Observed,
    events: &[&Event],
    text: &str,
    on: &[Place],
    inside: &dyn Fn(u64) -> bool,
    during: &str,
) -> Step<Outcome> {
    let taps = &observed.taps;
    let anywhere = on.is_empty();
    let at_place = |tap: usize| {
        taps.get(tap)
            .is_some_and(|t| anywhere || on.iter().any(|p| p.matches(t)))
    };
    // Decoded first: a dialogue line is reassembled across segments, and
    // it decodes base64 credentials the raw bytes hide.
    let escaped = crate::printable::line(text);
    let in_dialogue = events.iter().find_map(|event| {
        let found = event.text.find(escaped.as_ref())?;
        let hops: Vec<Hop> = event
            .path
            .iter()
            .filter(|h| at_place(h.tap))
            .cloned()
            .collect();
        // What a connection still held when the capture ended has no
        // path of its own: it counts where any place counts.
        let at_ns = match hops.first() {
            Some(hop) => hop.at_ns,
            None if anywhere && event.path.is_empty() => event.at_ns,
            None => return None,
        };
        Some((
            event,
            hops,
            at_ns,
            how_readable(&event.text, found, event.proto),
        ))
    });
    let in_frame = || {
        let needle = text.as_bytes();
        observed.frames.iter().find(|frame| {
            inside(frame.at_ns)
                && at_place(frame.tap)
                && frame.data.windows(needle.len()).any(|w| w == needle)
        })
    };
    let hint =
        "send it only inside TLS (STARTTLS, or SMTPS/IMAPS/POP3S/HTTPS): then no link can read it";
    if let Some((event, hops, at_ns, how)) = in_dialogue {
        return Err(Diagnosis::new(
            "wire",
            format!(
                "{text:?} crossed {} at {} {how}: {} {} → {}: {}",
                if hops.is_empty() {
                    "the wire".to_string()
                } else {
                    path_text(&hops, taps)
                },
                observed.offset(at_ns),
                event.proto.name(),
                event.from.as_deref().unwrap_or("?"),
                event.to.as_deref().unwrap_or("?"),
                event.text
            ),
            hint,
        ));
    }
    if let Some(frame) = in_frame() {
        return Err(Diagnosis::new(
            "wire",
            format!(
                "{text:?} crossed {} at {} in clear text (in a frame's bytes) {during}",
                taps[frame.tap],
                observed.offset(frame.at_ns)
            ),
            hint,
        ));
    }
    let frames = observed.frames.iter().filter(|f| inside(f.at_ns)).count();
    Ok(Outcome::pass(format!(
        "{text:?} was in none of {frames} frames {during}, nor in their decoded dialogue"
    )))
}

/// How text found at byte `found` of an event's line was readable.
fn how_readable(line: &str, found: usize, proto: Proto) -> String {
    match line[..found].rfind("[AUTH ") {
        Some(start) => {
            let mechanism: String = line[start + 1..]
                .split([' ', ':'])
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            format!("in {mechanism} (base64 is not encryption)")
        }
        None => format!("in clear text ({})", proto.name()),
    }
}

fn relayed(
    observed: &Observed,
    events: &[&Event],
    relay: &str,
    giaddrs: &[String],
    client: Option<&(String, Vec<String>)>,
    during: &str,
) -> Step<Outcome> {
    let answers: Vec<(&Event, &[(String, String)])> = events
        .iter()
        .filter(|e| e.proto == Proto::Dhcp && e.reply)
        .filter_map(|e| Some((*e, dhcp_fields(e)?)))
        .filter(|(_, fields)| {
            client.is_none_or(|(_, macs)| {
                field(fields, "chaddr").is_some_and(|m| macs.iter().any(|x| x == m))
            })
        })
        .collect();
    let whose = client
        .map(|(name, _)| format!(" for {name}"))
        .unwrap_or_default();
    let relayed: Vec<&(&Event, &[(String, String)])> = answers
        .iter()
        .filter(|(_, fields)| {
            field(fields, "giaddr").is_some_and(|g| giaddrs.iter().any(|a| a == g))
        })
        .collect();
    // The ACK closes the exchange: the best evidence.
    let through = relayed
        .iter()
        .find(|(_, fields)| field(fields, "type") == Some("ACK"))
        .or(relayed.first());
    if let Some((event, fields)) = through {
        return Ok(Outcome::pass(format!(
            "DHCP {}{whose} answered through {relay} (giaddr {}) at {}: {}",
            field(fields, "type").unwrap_or("answer"),
            field(fields, "giaddr").unwrap_or("?"),
            observed.offset(event.at_ns),
            path_text(&event.path, &observed.taps)
        )));
    }
    Err(match answers.first() {
        None => Diagnosis::new(
            "wire",
            format!("no DHCP answer{whose} was seen {during}"),
            "did a client ask for a lease then? e.g. `run: {node: pc-bob, command: \"udhcpc -i eth0 -n -q\"}`",
        ),
        Some((event, fields)) => Diagnosis::new(
            "wire",
            format!(
                "DHCP {}{whose} at {} came {}, not through {relay}",
                field(fields, "type").unwrap_or("answer"),
                observed.offset(event.at_ns),
                match field(fields, "giaddr") {
                    Some(g) => format!("through the relay at {g}"),
                    None => "straight from the server (no giaddr: no relay)".to_string(),
                }
            ),
            format!(
                "set `dhcp_relay:` on {relay}'s interface toward the clients, and keep the server off their network"
            ),
        ),
    })
}

fn dhcp_fields(event: &Event) -> Option<&[(String, String)]> {
    event.layers.iter().find_map(|l| match l {
        Layer::App { proto, fields } if proto == "dhcp" => Some(fields.as_slice()),
        _ => None,
    })
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The first tap of the event's path at one of `on` (else its first).
fn first_place(event: &Event, on: &[Place], taps: &[Tap]) -> String {
    event
        .path
        .iter()
        .filter_map(|h| taps.get(h.tap))
        .find(|t| on.is_empty() || on.iter().any(|p| p.matches(t)))
        .map_or_else(|| "the wire".to_string(), Tap::to_string)
}

fn ends_text(from: Option<&str>, to: Option<&str>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!(" from {f} to {t}"),
        (Some(f), None) => format!(" from {f}"),
        (None, Some(t)) => format!(" to {t}"),
        (None, None) => String::new(),
    }
}

/// `r1`, `r1 and r2`, `r1, r2 and r3`.
fn and_list(places: &[Place]) -> String {
    let names: Vec<String> = places.iter().map(Place::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
