//! Decimal digits without `core::fmt`: the integer machinery of `fmt`
//! costs ~700 bytes of `.text` on a device and ~100 instructions a number.

/// `value` as decimal text, on the stack.
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(crate) fn new(mut value: u64) -> Self {
        let mut digits = [0; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                return Self { digits, start };
            }
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

/// Writes `value` right-aligned into `out`, zero-padded (and cut to its
/// lowest digits if `out` is short).
pub(crate) fn write_padded(out: &mut [u8], mut value: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn digits_like_display() {
        for n in [0, 1, 9, 10, 99, 100, 4_294_967_295, u64::MAX] {
            assert_eq!(Decimal::new(n).as_bytes(), n.to_string().as_bytes());
        }
        let mut out = [0u8; 4];
        write_padded(&mut out, 7);
        assert_eq!(&out, b"0007");
    }
}
