//! IMAP sequence sets (RFC 3501 §9 `sequence-set`): `1:4,7,9:*`. The same
//! type serves message sequence numbers and UIDs; `*` means the largest
//! number in use, resolved when the set is matched.

/// One end of a range: a number or `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Number(u32),
    Largest,
}

/// A parsed sequence set: ranges as written (ends in either order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceSet {
    pub ranges: Vec<(Bound, Bound)>,
}

/// At most this many ranges in one set: bounds the work per command.
pub const MAX_RANGES: usize = 10_000;

impl SequenceSet {
    /// Parses `text` strictly; None when it is not a sequence set.
    pub fn parse(text: &str) -> Option<SequenceSet> {
        let mut ranges = Vec::new();
        for item in text.split(',') {
            if ranges.len() == MAX_RANGES {
                return None;
            }
            let range = match item.split_once(':') {
                Some((a, b)) => (parse_bound(a)?, parse_bound(b)?),
                None => {
                    let bound = parse_bound(item)?;
                    (bound, bound)
                }
            };
            ranges.push(range);
        }
        Some(SequenceSet { ranges })
    }

    /// Whether `number` is in the set, with `*` standing for `largest`.
    pub fn contains(&self, number: u32, largest: u32) -> bool {
        self.ranges
            .iter()
            .any(|&range| ordered(range, largest).contains(&number))
    }

    /// The set's one range as `low..=high` (`*` standing for `largest`),
    /// when it has exactly one: most commands name one message or `1:*`.
    pub fn single_range(&self, largest: u32) -> Option<(u32, u32)> {
        match self.ranges.as_slice() {
            [range] => {
                let numbers = ordered(*range, largest);
                Some((*numbers.start(), *numbers.end()))
            }
            _ => None,
        }
    }
}

/// A range's numbers, low to high, with `*` standing for `largest`.
fn ordered((a, b): (Bound, Bound), largest: u32) -> std::ops::RangeInclusive<u32> {
    let (a, b) = (resolve(a, largest), resolve(b, largest));
    if a <= b { a..=b } else { b..=a }
}

fn resolve(bound: Bound, largest: u32) -> u32 {
    match bound {
        Bound::Number(n) => n,
        Bound::Largest => largest,
    }
}

fn parse_bound(text: &str) -> Option<Bound> {
    if text == "*" {
        return Some(Bound::Largest);
    }
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match text.parse::<u32>() {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(Bound::Number(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_either_order_and_star() {
        let set = SequenceSet::parse("1:3,7,9:*").unwrap();
        let hits: Vec<u32> = (1..=12).filter(|&n| set.contains(n, 10)).collect();
        assert_eq!(hits, vec![1, 2, 3, 7, 9, 10]);
        let reversed = SequenceSet::parse("*:4").unwrap();
        assert!(reversed.contains(5, 6) && !reversed.contains(3, 6));
        // `*` on an empty mailbox is 0: nothing matches.
        assert!(!SequenceSet::parse("*").unwrap().contains(1, 0));
    }

    #[test]
    fn rejects_malformed_sets() {
        for bad in [
            "",
            "0",
            "1:",
            ":2",
            "1,,2",
            "a",
            "1:2:3",
            "99999999999",
            "-1",
            "1 2",
        ] {
            assert!(SequenceSet::parse(bad).is_none(), "{bad:?}");
        }
    }
}
