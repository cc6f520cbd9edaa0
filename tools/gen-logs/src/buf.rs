//! A reusable line buffer with allocation-free number formatting.

pub struct Buf {
    pub v: Vec<u8>,
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

impl Buf {
    pub fn with_capacity(n: usize) -> Self {
        Buf { v: Vec::with_capacity(n) }
    }

    #[inline]
    pub fn clear(&mut self) {
        self.v.clear();
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// Append a string.
    #[inline]
    pub fn s(&mut self, s: &str) -> &mut Self {
        self.v.extend_from_slice(s.as_bytes());
        self
    }

    /// Append one byte.
    #[inline]
    pub fn c(&mut self, c: u8) -> &mut Self {
        self.v.push(c);
        self
    }

    /// Append an unsigned decimal number.
    #[inline]
    pub fn u(&mut self, mut n: u64) -> &mut Self {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.v.extend_from_slice(&tmp[i..]);
        self
    }

    /// Append `n` zero-padded to at least `width` digits.
    #[inline]
    pub fn z(&mut self, n: u64, width: usize) -> &mut Self {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut n = n;
        loop {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 && tmp.len() - i >= width.min(20) {
                break;
            }
        }
        self.v.extend_from_slice(&tmp[i..]);
        self
    }

    /// Append a fixed-point number `n / 10^frac` with exactly `frac` decimals,
    /// e.g. `fixed(1234, 3)` gives `1.234`.
    #[inline]
    pub fn fixed(&mut self, n: u64, frac: u32) -> &mut Self {
        let p = 10u64.pow(frac);
        self.u(n / p).c(b'.').z(n % p, frac as usize)
    }

    /// Append the low `digits` hex digits of `n`.
    #[inline]
    pub fn hex(&mut self, n: u64, digits: u32, upper: bool) -> &mut Self {
        let table = if upper { HEX_UPPER } else { HEX_LOWER };
        for k in (0..digits).rev() {
            self.v.push(table[((n >> (4 * k)) & 0xF) as usize]);
        }
        self
    }

    /// Terminate the current line.
    #[inline]
    pub fn nl(&mut self) -> &mut Self {
        self.v.push(b'\n');
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &Buf) -> String {
        String::from_utf8_lossy(&b.v).into_owned()
    }

    #[test]
    fn numbers() {
        let mut b = Buf::with_capacity(64);
        b.u(0).c(b' ').u(7).c(b' ').u(1234567890).c(b' ').u(u64::MAX);
        assert_eq!(text(&b), format!("0 7 1234567890 {}", u64::MAX));
        b.clear();
        b.z(5, 2).c(b' ').z(0, 3).c(b' ').z(123, 2).c(b' ').fixed(1234, 3);
        b.c(b' ').fixed(5, 2);
        assert_eq!(text(&b), "05 000 123 1.234 0.05");
        b.clear();
        b.hex(0xdead_beef, 8, false).c(b' ').hex(0xab, 4, true);
        assert_eq!(text(&b), "deadbeef 00AB");
    }
}
