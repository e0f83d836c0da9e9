//! A capture's application dialogue as a Mermaid `sequenceDiagram`: one
//! participant per node, one arrow per DHCP, DNS, SMTP, POP3, IMAP or HTTP
//! message, answers dashed — the lecture's "sample SMTP interaction" drawn
//! from a real run. Text that came from packets cannot break out of its
//! arrow: Mermaid's own characters are written as entity codes.

use std::fmt::Write;

use super::decode::Event;

/// The diagram of `events` (in time order); events that are not part of
/// an application dialogue (ARP, ICMP, TCP's handshake) are left out.
pub fn mermaid(events: &[Event]) -> String {
    let arrows: Vec<(&str, &str, &Event)> = events
        .iter()
        .filter(|e| e.is_dialogue())
        .filter_map(|e| Some((e.from.as_deref()?, e.to.as_deref()?, e)))
        .collect();
    let mut participants: Vec<&str> = Vec::new();
    for (from, to, _) in &arrows {
        for node in [from, to] {
            if !participants.contains(node) {
                participants.push(node);
            }
        }
    }
    let id = |node: &str| participants.iter().position(|p| *p == node).unwrap_or(0) + 1;
    let mut out = String::from("sequenceDiagram\n");
    for (index, node) in participants.iter().enumerate() {
        let _ = writeln!(out, "    participant p{} as {}", index + 1, escape(node));
    }
    for (from, to, event) in arrows {
        let arrow = if event.reply { "-->>" } else { "->>" };
        let _ = writeln!(
            out,
            "    p{}{arrow}p{}: {}",
            id(from),
            id(to),
            escape(&event.text)
        );
    }
    out
}

/// Text safe inside one Mermaid statement: control characters and line
/// breaks escaped as on a terminal, then the characters Mermaid reads
/// (`;` ends a statement, `#` starts an entity, quotes and angle brackets
/// are markup) as entity codes.
pub fn escape(text: &str) -> String {
    let line = crate::printable::line(text);
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_a_packet_breaks_out_of_its_arrow() {
        let hostile = "S: 250 ok;\nparticipant x\r#quot; <b>%%{init}\u{1b}[2J";
        let escaped = escape(hostile);
        assert_eq!(
            escaped,
            "S: 250 ok#59;\\nparticipant x\\r#35;quot#59; #lt;b#gt;#37;#37;{init}\\x1b[2J"
        );
        let bare = ["#35;", "#59;", "#quot;", "#lt;", "#gt;", "#37;"]
            .iter()
            .fold(escaped.clone(), |text, code| text.replace(code, ""));
        for c in [';', '#', '\n', '\r', '"', '<', '>', '%', '\u{1b}'] {
            assert!(!bare.contains(c), "{c:?} left in {escaped}");
        }
    }
}
