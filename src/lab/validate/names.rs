//! What names and domain-like text may look like: lab and node names (they
//! become namespace names and hostnames), interface names (Linux's rules),
//! domain names and mail addresses. Pure predicates; the passes say where.

use crate::lab::model::NodeKind;

/// Longest lab or node name: namespaces are named `LAB.NODE`, and a node name
/// is also its hostname.
pub const MAX_NAME: usize = 32;
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

/// Why `name` cannot name a lab or a node (it becomes part of namespace
/// names and a hostname), if it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        Some("it is empty".into())
    } else if name.len() > MAX_NAME {
        Some(format!("it is {} characters long", name.len()))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some(format!("`{c}` is not allowed"))
    } else if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        Some("it starts or ends with `-`".into())
    } else {
        None
    }
}

pub(super) fn name_rule(what: &str) -> String {
    format!(
        "{what} use letters, digits and `-` (not first or last), at most {MAX_NAME} characters, e.g. pc-ada"
    )
}

/// Labels of letters, digits and `-`, at most 63 each, joined by dots.
pub fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A name a DNS query can ask for: like `valid_domain`, but a label may
/// also hold `_` (`_dmarc.cbrc.com`, `s1._domainkey.cbrc.com`): RFC 2181
/// §11 allows any label in DNS, only host names are restricted (RFC 1123),
/// and the lab's zones take `_` in record names too. At most 253 bytes.
pub fn valid_query_name(name: &str) -> bool {
    name.len() <= 253
        && !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `local@domain` with a plausible local part and a domain name.
pub fn valid_address(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
                && valid_domain(domain)
        }
        None => false,
    }
}

/// Why `name` cannot be an interface of a node of `kind`, if it cannot.
pub(super) fn ifname_problem(name: &str, kind: NodeKind) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > MAX_IFNAME {
        return Err(format!(
            "it is {} bytes long and Linux allows {MAX_IFNAME}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err("it is reserved".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name == "lo" {
        return Err("`lo` is the loopback interface every node already has".into());
    }
    if kind == NodeKind::Switch && name == crate::lab::plan::BRIDGE_NAME {
        return Err(format!("`{name}` is the switch's own bridge"));
    }
    Ok(())
}
