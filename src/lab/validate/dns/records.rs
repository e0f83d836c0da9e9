//! DNS record text as the lab file writes it: owner names (`@`, relative,
//! absolute, wildcards), target names, and MX, SRV and TXT values, each
//! parsed into record data or a problem (message, hint). No positions here:
//! the DNS pass says where.

use std::net::IpAddr;

use crate::lab::model_dns::{DnsRecords, DnsValues};
use crate::lab::zones::RecordValue;

/// A TXT value longer than this is surely a mistake (and would not fit a
/// UDP answer).
const MAX_TXT: usize = 4000;

/// The record types a name sets, in a fixed order.
pub(super) fn typed_values(set: &DnsRecords) -> Vec<(&'static str, &DnsValues)> {
    [
        ("A", &set.a),
        ("AAAA", &set.aaaa),
        ("CNAME", &set.cname),
        ("MX", &set.mx),
        ("TXT", &set.txt),
        ("NS", &set.ns),
        ("PTR", &set.ptr),
        ("SRV", &set.srv),
    ]
    .into_iter()
    .filter_map(|(t, v)| v.as_ref().map(|v| (t, v)))
    .collect()
}

pub(super) type Problem = (String, String);

/// A record's owner: `@`, relative to the origin, or absolute with a final
/// dot (then it must be inside the zone). `*` may lead (a wildcard).
pub(super) fn owner_name(origin: &str, written: &str) -> Result<String, Problem> {
    let name = if written == "@" {
        origin.to_string()
    } else if let Some(absolute) = written.strip_suffix('.') {
        format!("{}.", absolute.to_ascii_lowercase())
    } else {
        join(&written.to_ascii_lowercase(), origin)
    };
    if name != "." {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        for (i, label) in labels.iter().enumerate() {
            if !(valid_label(label) || (i == 0 && *label == "*")) {
                return Err((
                    format!("`{written}` is not a valid record name"),
                    "names are labels of letters, digits, `-` and `_` (at most 63 each) joined by dots; `@` is the zone itself".into(),
                ));
            }
        }
        if name.len() > 254 {
            return Err((
                format!("`{written}` is longer than 253 characters"),
                "use a shorter name".into(),
            ));
        }
    }
    if !in_zone(&name, origin) {
        return Err((
            format!("{name} is outside zone {origin}"),
            format!(
                "a zone holds only names ending in {origin}: write the name relative to it (`mail` for mail.{origin}) or put it in its own zone"
            ),
        ));
    }
    Ok(name)
}

/// A name a record points at: absolute with a final dot, `@`, a single
/// label (relative to the origin), or a dotted name (taken as absolute, so
/// `web.cbrc.com` never becomes web.cbrc.com.cbrc.com).
pub(super) fn target(origin: &str, text: &str, rtype: &str) -> Result<String, Problem> {
    if text.parse::<IpAddr>().is_ok() {
        return Err((
            format!("{rtype} points to an address ({text}), but it must name a host"),
            format!(
                "write the host's name (e.g. mail.{}) and give that name an A record",
                origin.trim_start_matches('.')
            ),
        ));
    }
    let name = if text == "@" {
        origin.to_string()
    } else if let Some(absolute) = text.strip_suffix('.') {
        format!("{}.", absolute.to_ascii_lowercase())
    } else if text.contains('.') {
        format!("{}.", text.to_ascii_lowercase())
    } else {
        join(&text.to_ascii_lowercase(), origin)
    };
    let bare = name.trim_end_matches('.');
    let ok = name == "." || (bare.split('.').all(valid_label) && bare.len() <= 253);
    if !ok {
        return Err((
            format!("`{text}` is not a valid host name for {rtype}"),
            "a host name is labels of letters, digits and `-` joined by dots, e.g. mail.cbrc.com."
                .into(),
        ));
    }
    Ok(name)
}

pub(super) fn mx_value(origin: &str, text: &str) -> Result<RecordValue, Problem> {
    let hint =
        || "write `PREFERENCE HOST`, e.g. `10 mail.cbrc.com.` (lower is preferred)".to_string();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [preference, exchange] = parts[..] else {
        if parts.len() == 1 {
            let is_address = text.parse::<IpAddr>().is_ok();
            let message = if is_address {
                format!("MX points to an address ({text}), but it must name a host")
            } else {
                format!("MX `{text}` has no preference")
            };
            return Err((message, hint()));
        }
        return Err((format!("`{text}` is not an MX value"), hint()));
    };
    let preference = preference.parse::<u16>().map_err(|_| {
        (
            format!("MX preference `{preference}` is not a number from 0 to 65535"),
            hint(),
        )
    })?;
    let exchange = target(origin, exchange, "MX")?;
    Ok(RecordValue::Mx {
        preference,
        exchange,
    })
}

pub(super) fn srv_value(origin: &str, text: &str) -> Result<RecordValue, Problem> {
    let hint = || "write `PRIORITY WEIGHT PORT TARGET`, e.g. `0 5 25 mail.cbrc.com.`".to_string();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [priority, weight, port, host] = parts[..] else {
        return Err((format!("`{text}` is not an SRV value"), hint()));
    };
    let number = |t: &str| {
        t.parse::<u16>().map_err(|_| {
            (
                format!("`{t}` in SRV `{text}` is not a number from 0 to 65535"),
                hint(),
            )
        })
    };
    Ok(RecordValue::Srv {
        priority: number(priority)?,
        weight: number(weight)?,
        port: number(port)?,
        target: target(origin, host, "SRV")?,
    })
}

pub(super) fn txt_value(text: &str) -> Result<RecordValue, Problem> {
    if text.len() > MAX_TXT {
        return Err((
            format!("this TXT value is {} bytes long", text.len()),
            format!("keep TXT values under {MAX_TXT} bytes"),
        ));
    }
    Ok(RecordValue::Txt(text.to_string()))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn join(relative: &str, origin: &str) -> String {
    if origin == "." {
        format!("{relative}.")
    } else {
        format!("{relative}.{origin}")
    }
}

/// `name` relative to `origin`, as a lab file would write it.
pub(super) fn relative(name: &str, origin: &str) -> String {
    if origin == "." {
        return name.trim_end_matches('.').to_string();
    }
    name.strip_suffix(&format!(".{origin}"))
        .unwrap_or(name)
        .to_string()
}

pub(super) use crate::lab::zones::in_zone;
