//! Compact, exact formatting of an `f64` for targets where code size
//! matters more than speed: bare metal (`target_os = "none"`), where the
//! JSON writer uses it instead of ryu.
//!
//! ryu writes the shortest decimal that parses back to the same value, and
//! is fast, but costs about 3.3 KB of `.text` and 1 KB of tables on a
//! Cortex-M4 (its 128-bit products are emulated there). This writes the
//! value rounded to 17 significant digits, computed exactly with a small
//! big integer, in about 1 KB and no tables. Seventeen correctly rounded
//! digits always parse back to the same `f64`; the text is not always the
//! shortest (`0.1` is written `0.10000000000000001`), which the server does
//! not see: it parses the same number. It is slow (microseconds for a large
//! exponent), which a flush every few seconds does not notice.

/// Bytes [`write_exact`] needs at most: sign, 17 digits, point, `e-324`.
pub(crate) const MAX_LEN: usize = 32;

/// Significant digits written: enough for any `f64` to round-trip.
const DIGITS: i32 = 17;

/// An unsigned integer of up to 1,280 bits, least significant limb first:
/// room for `2^1024` (the largest `f64`) and for the smallest subnormal
/// (`2^-1074`) scaled by `10^341`.
struct Big {
    limbs: [u32; 40],
}

impl Big {
    fn from_u64(v: u64) -> Self {
        let mut limbs = [0; 40];
        limbs[0] = v as u32;
        limbs[1] = (v >> 32) as u32;
        Self { limbs }
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
    }

    /// Divides by `divisor`, returning the remainder.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let mut rest = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let current = (rest << 32) | u64::from(*limb);
            *limb = (current / u64::from(divisor)) as u32;
            rest = current % u64::from(divisor);
        }
        rest as u32
    }

    fn shl(&mut self, bits: u32) {
        let (whole, bits) = ((bits / 32) as usize, bits % 32);
        self.limbs.copy_within(..40 - whole, whole);
        self.limbs[..whole].fill(0);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.limbs {
                let next = *limb >> (32 - bits);
                *limb = (*limb << bits) | carry;
                carry = next;
            }
        }
    }

    fn bit(&self, i: u32) -> bool {
        self.limbs
            .get((i / 32) as usize)
            .is_some_and(|limb| limb >> (i % 32) & 1 == 1)
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u32) -> bool {
        (0..i).any(|b| self.bit(b))
    }

    /// The bits from `i` up, as a u64 (the caller knows they fit).
    fn bits_from(&self, i: u32) -> u64 {
        (0..64).fold(0, |q, b| q | (u64::from(self.bit(i + b)) << b))
    }
}

/// `value`'s 17 significant digits, correctly rounded (half to even), as
/// `(digits, exponent)` with `digits` in `10^16..10^17` and `value` ≈
/// `digits * 10^(exponent - 16)`; `mantissa * 2^exp2` is the exact value.
fn seventeen_digits(mantissa: u64, exp2: i32) -> (u64, i32) {
    // A first guess of floor(log10(value)), from the binary exponent: one
    // too high or too low at most, corrected below.
    let bits = 64 - mantissa.leading_zeros() as i32;
    let mut exp10 = ((exp2 + bits - 1) * 78_913) >> 18;
    loop {
        let digits = scaled(mantissa, exp2, DIGITS - 1 - exp10);
        if digits >= 100_000_000_000_000_000 {
            exp10 += 1;
            if digits == 100_000_000_000_000_000 {
                // Rounded up to the next power of ten: exact already.
                return (digits / 10, exp10);
            }
        } else if digits < 10_000_000_000_000_000 {
            exp10 -= 1;
        } else {
            return (digits, exp10);
        }
    }
}

/// `mantissa * 2^exp2 * 10^scale`, rounded half to even to an integer.
/// (`scale < 0` only for values of at least `10^17`, where `exp2 > 0`.)
fn scaled(mantissa: u64, exp2: i32, scale: i32) -> u64 {
    let mut n = Big::from_u64(mantissa);
    for _ in 0..scale.max(0) {
        n.mul_small(10);
    }
    if exp2 > 0 {
        n.shl(exp2 as u32);
    }
    if exp2 < 0 {
        // Divide by 2^shift: the bit below the quotient is the half, the
        // bits under it break a tie.
        let shift = exp2.unsigned_abs();
        let q = n.bits_from(shift);
        let round_up = n.bit(shift - 1) && (n.any_below(shift - 1) || q & 1 == 1);
        return q + u64::from(round_up);
    }
    // Divide by 10^-scale a digit at a time: the last digit dropped is the
    // most significant one, any other non-zero one breaks a tie.
    let (mut last, mut others) = (0, false);
    for _ in 0..(-scale).max(0) {
        others |= last != 0;
        last = n.div_small(10);
    }
    let q = n.bits_from(0);
    let round_up = last > 5 || (last == 5 && (others || q & 1 == 1));
    q + u64::from(round_up)
}

/// Writes finite `value` as a JSON number that parses back to it exactly;
/// returns the length. Whole numbers keep a `.0`, as serde_json writes
/// them; exponents are used outside `1e-5..1e17`.
pub(crate) fn write_exact(value: f64, out: &mut [u8; MAX_LEN]) -> usize {
    let bits = value.to_bits();
    let mut len = 0;
    let mut put = |out: &mut [u8; MAX_LEN], b: u8| {
        out[len] = b;
        len += 1;
    };
    if bits >> 63 == 1 {
        put(out, b'-');
    }
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0 && fraction == 0 {
        for &b in b"0.0" {
            put(out, b);
        }
        return len;
    }
    let (mantissa, exp2) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    let (digits, exp10) = seventeen_digits(mantissa, exp2);
    let mut text = [0u8; DIGITS as usize];
    let mut rest = digits;
    for slot in text.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let significant = DIGITS as usize - text.iter().rev().take_while(|&&d| d == b'0').count();
    let text = &text[..significant];
    if (-5..DIGITS).contains(&exp10) {
        // Positional: 0.000ddd, ddd.ddd or ddd00.0
        if exp10 < 0 {
            for &b in b"0." {
                put(out, b);
            }
            for _ in 1..-exp10 {
                put(out, b'0');
            }
            for &d in text {
                put(out, d);
            }
        } else {
            let whole = exp10 as usize + 1;
            for i in 0..whole {
                put(out, text.get(i).copied().unwrap_or(b'0'));
            }
            put(out, b'.');
            match text.get(whole..) {
                Some(fraction) if !fraction.is_empty() => {
                    for &d in fraction {
                        put(out, d);
                    }
                }
                _ => put(out, b'0'),
            }
        }
    } else {
        // d.ddde±x
        put(out, text[0]);
        if text.len() > 1 {
            put(out, b'.');
            for &d in &text[1..] {
                put(out, d);
            }
        }
        put(out, b'e');
        if exp10 < 0 {
            put(out, b'-');
        }
        let e = exp10.unsigned_abs();
        for divisor in [100, 10, 1] {
            if e >= divisor || divisor == 1 {
                put(out, b'0' + (e / divisor % 10) as u8);
            }
        }
    }
    len
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn text(value: f64) -> String {
        let mut out = [0u8; MAX_LEN];
        let len = write_exact(value, &mut out);
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    #[test]
    fn familiar_values() {
        assert_eq!(text(0.0), "0.0");
        assert_eq!(text(-0.0), "-0.0");
        assert_eq!(text(1.0), "1.0");
        assert_eq!(text(-3.0), "-3.0");
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(1234.5), "1234.5");
        assert_eq!(text(0.1), "0.10000000000000001");
        assert_eq!(text(1e-5), "0.000010000000000000001");
        assert_eq!(text(1e16), "10000000000000000.0");
        assert_eq!(text(1e17), "1e17");
        assert_eq!(text(1e300), "1.0000000000000001e300");
        assert_eq!(text(f64::MAX), "1.7976931348623157e308");
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(text(5e-324), "4.9406564584124654e-324");
    }

    #[test]
    fn every_value_parses_back_exactly() {
        // Powers of two and ten, their neighbours, and a spread of bit
        // patterns (the property tests add random ones).
        let mut values = std::vec::Vec::new();
        for e in -1074..=1023 {
            let v = 2f64.powi(e);
            values.extend([
                v,
                f64::from_bits(v.to_bits() + 1),
                f64::from_bits(v.to_bits().saturating_sub(1)),
            ]);
        }
        for e in -323..=308 {
            let v: f64 = std::format!("1e{e}").parse().unwrap();
            values.extend([
                v,
                f64::from_bits(v.to_bits() + 1),
                f64::from_bits(v.to_bits().saturating_sub(1)),
            ]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            // The same mantissa between 2^-30 and 2^30, where readings are.
            let exponent = 1023 - 30 + x % 61;
            values.push(f64::from_bits((x & ((1 << 52) - 1)) | exponent << 52));
        }
        for v in values.into_iter().filter(|v| v.is_finite()) {
            let t = text(v);
            let back: f64 = t.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} written {t}");
            let json: f64 = serde_json::from_str(&t).unwrap();
            assert_eq!(json.to_bits(), v.to_bits(), "{t} as JSON");
        }
    }
}
