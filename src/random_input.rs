//! Reproducible random and mutated input for the tests that push many
//! thousand inputs through a parser on stable Rust (what the fuzz targets
//! in `fuzz/` do at length).

/// xorshift64: the same inputs on every run, no crate needed.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One of `seeds` with up to seven bytes replaced, removed or inserted,
    /// half of the new bytes taken from `special` (those the parser cares
    /// about).
    pub fn mutate(&mut self, seeds: &[&[u8]], special: &[u8]) -> Vec<u8> {
        let mut bytes = seeds[self.next() as usize % seeds.len()].to_vec();
        for _ in 0..self.next() % 8 {
            let at = self.next() as usize % (bytes.len() + 1);
            let byte = if self.next().is_multiple_of(2) {
                special[self.next() as usize % special.len()]
            } else {
                self.next() as u8
            };
            match self.next() % 3 {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        bytes
    }
}
