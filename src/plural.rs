//! Counted nouns for people to read: "1 message", "2 messages", "0 links".

use std::fmt::Display;

/// `n` and the noun, in the plural unless `n` is one. For regular nouns
/// (every noun labctl counts): `-s`, or `-es` after s, x, ch and sh.
pub fn count(n: impl Display, noun: &str) -> String {
    let n = n.to_string();
    let ending = if n == "1" {
        ""
    } else if ["s", "x", "ch", "sh"].iter().any(|e| noun.ends_with(e)) {
        "es"
    } else {
        "s"
    };
    format!("{n} {noun}{ending}")
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(count(1usize, "message"), "1 message");
        assert_eq!(count(0u32, "message"), "0 messages");
        assert_eq!(count(2u64, "link"), "2 links");
        assert_eq!(count(11usize, "node"), "11 nodes");
        assert_eq!(count(3usize, "address"), "3 addresses");
        assert_eq!(count(1usize, "address"), "1 address");
    }
}
