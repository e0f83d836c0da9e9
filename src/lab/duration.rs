//! Durations as lab and checks files write them: a number (decimals
//! allowed) and a unit — `ms`, `s`, `m`, `h` or `d` — or plain seconds:
//! `500ms`, `10s`, `1.5h`, `30`. One parser for every field; each caller
//! says which range it accepts (a check's `within`, a DHCP lease time).

use std::time::Duration;

/// The duration `text` writes, or None when it is not one (negative, an
/// unknown unit, too large to hold).
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        "d" => number * 86_400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_plain_seconds() {
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
    }

    #[test]
    fn what_is_not_a_duration() {
        for text in ["ten", "5y", "", "s", "-1s", "1e400", "1..2s", "10 sec"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
