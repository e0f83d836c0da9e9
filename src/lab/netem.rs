//! A cable's impairments as the lab file and `labctl link` write them
//! (`delay: 200ms`, `loss: 5%`, `rate: 1mbit`) and as numbers for netem.
//! Pure: parsed here with student-facing messages, applied by `net::netem`.

use serde::{Deserialize, Serialize};

/// What a cable does to the packets crossing it, in each direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Netem {
    /// One-way delay, nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ns: u64,
    /// Random variation of the delay (±), nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jitter_ns: u64,
    /// Packets lost, percent.
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub loss: f64,
    /// Packets sent twice, percent.
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub duplicate: f64,
    /// Packets with a bit flipped, percent.
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub corrupt: f64,
    /// Bandwidth, bytes per second (0: unlimited).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rate_bytes: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f(v: &f64) -> bool {
    *v == 0.0
}

impl Netem {
    /// No impairment at all (the cable as built).
    pub fn is_clear(&self) -> bool {
        *self == Netem::default()
    }

    /// `delay 200ms, loss 5%`, as the lab file writes it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.delay_ns > 0 {
            parts.push(format!("delay {}", duration_text(self.delay_ns)));
        }
        if self.jitter_ns > 0 {
            parts.push(format!("jitter {}", duration_text(self.jitter_ns)));
        }
        for (name, value) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
        ] {
            if value > 0.0 {
                parts.push(format!("{name} {value}%"));
            }
        }
        if self.rate_bytes > 0 {
            parts.push(format!("rate {}kbit", self.rate_bytes * 8 / 1000));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn duration_text(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{}us", ns / 1_000)
    }
}

/// `200ms`, `1.5s`, `500us`: a delay of at most 60 s.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = split_unit(t);
    let scale = match unit {
        "ms" => 1e6,
        "s" => 1e9,
        "us" => 1e3,
        _ => {
            return Err(format!(
                "`{t}` is not a duration: write e.g. 200ms, 1.5s or 500us"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{t}` is not a duration: write e.g. 200ms, 1.5s or 500us"))?;
    if !(0.0..=60.0e9).contains(&(value * scale)) {
        return Err(format!("`{t}` is out of range: 0 to 60s"));
    }
    Ok((value * scale).round() as u64)
}

/// `5%`, `0.1%`: a percentage from 0 to 100.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value: f64 = t
        .strip_suffix('%')
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("`{t}` is not a percentage: write e.g. 5% or 0.1%"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("`{t}` is out of range: 0% to 100%"));
    }
    Ok(value)
}

/// `1mbit`, `512kbit`, `10mbit`, `1gbit` (bits per second, as `tc`
/// writes them): bytes per second, at least 8 kbit and at most 32 gbit.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = split_unit(t);
    let bits = match unit.to_ascii_lowercase().as_str() {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        _ => {
            return Err(format!(
                "`{t}` is not a rate: write e.g. 512kbit, 10mbit or 1gbit"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{t}` is not a rate: write e.g. 512kbit, 10mbit or 1gbit"))?;
    let bytes = value * bits / 8.0;
    if !(1000.0..=4.0e9).contains(&bytes) {
        return Err(format!("`{t}` is out of range: 8kbit to 32gbit"));
    }
    Ok(bytes.round() as u64)
}

fn split_unit(text: &str) -> (&str, &str) {
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    (text[..at].trim(), text[at..].trim())
}

/// The impairment settings as written (lab file or command line), parsed;
/// every value that is wrong is named.
pub struct Written<'a> {
    pub delay: Option<&'a str>,
    pub jitter: Option<&'a str>,
    pub loss: Option<&'a str>,
    pub rate: Option<&'a str>,
    pub duplicate: Option<&'a str>,
    pub corrupt: Option<&'a str>,
}

impl Written<'_> {
    /// The netem settings, or (field, message) for each value that is wrong.
    pub fn parse(&self) -> Result<Netem, Vec<(&'static str, String)>> {
        let mut netem = Netem::default();
        let mut errors = Vec::new();
        let mut take = |field: &'static str, result: Result<(), String>| {
            if let Err(e) = result {
                errors.push((field, e));
            }
        };
        if let Some(t) = self.delay {
            take("delay", parse_duration(t).map(|v| netem.delay_ns = v));
        }
        if let Some(t) = self.jitter {
            take("jitter", parse_duration(t).map(|v| netem.jitter_ns = v));
        }
        if let Some(t) = self.loss {
            take("loss", parse_percent(t).map(|v| netem.loss = v));
        }
        if let Some(t) = self.duplicate {
            take("duplicate", parse_percent(t).map(|v| netem.duplicate = v));
        }
        if let Some(t) = self.corrupt {
            take("corrupt", parse_percent(t).map(|v| netem.corrupt = v));
        }
        if let Some(t) = self.rate {
            take("rate", parse_rate(t).map(|v| netem.rate_bytes = v));
        }
        if netem.jitter_ns > netem.delay_ns && errors.is_empty() {
            errors.push((
                "jitter",
                "jitter is larger than the delay: a packet cannot arrive before it was sent; give a delay at least as large".to_string(),
            ));
        }
        if errors.is_empty() {
            Ok(netem)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_tc_writes_them() {
        assert_eq!(parse_duration("200ms"), Ok(200_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("500us"), Ok(500_000));
        assert!(parse_duration("200").unwrap_err().contains("200ms"));
        assert!(parse_duration("2h").is_err());
        assert_eq!(parse_percent("5%"), Ok(5.0));
        assert!(parse_percent("5").unwrap_err().contains("percentage"));
        assert!(parse_percent("150%").unwrap_err().contains("out of range"));
        assert_eq!(parse_rate("1mbit"), Ok(125_000));
        assert_eq!(parse_rate("512kbit"), Ok(64_000));
        assert!(parse_rate("1mb").is_err());
    }

    #[test]
    fn jitter_needs_a_delay_and_every_wrong_value_is_named() {
        let written = Written {
            delay: Some("10ms"),
            jitter: Some("20ms"),
            loss: None,
            rate: None,
            duplicate: None,
            corrupt: None,
        };
        assert_eq!(written.parse().unwrap_err()[0].0, "jitter");
        let written = Written {
            delay: Some("x"),
            jitter: None,
            loss: Some("7"),
            rate: None,
            duplicate: None,
            corrupt: None,
        };
        let fields: Vec<_> = written
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(fields, ["delay", "loss"]);
    }
}
