//! Combining CRC32C checksums: the checksum of `a ++ b` from those of `a` and `b` and the length of `b`.
//!
//! A record's checksum covers its LSN and then its payload. The payload's checksum is computed in the
//! request's task; the writer thread, which assigns LSNs one group at a time, only combines. The `crc32c`
//! crate's combine is zlib's original one (a 32×32 matrix squared for every bit of the length: tens of
//! microseconds for a record of a few hundred kilobytes, ≈ 2 % of the daemon's CPU under a metrics load,
//! all of it on the one writer thread). This is zlib's current one: multiply by x^(8·len) modulo the
//! polynomial, from a table of x^(2^k), in a few hundred steps.

/// CRC-32C (Castagnoli), bit-reflected.
const POLYNOMIAL: u32 = 0x82F6_3B78;

/// `a · b` modulo the polynomial, both bit-reflected (x^0 is the top bit).
const fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLYNOMIAL } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// `X_POW_2_POW[k]` = x^(2^k) modulo the polynomial.
const X_POW_2_POW: [u32; 64] = {
    let mut table = [0u32; 64];
    let mut power = 1u32 << 30; // x^1
    let mut k = 0;
    while k < 64 {
        table[k] = power;
        power = multiply(power, power);
        k += 1;
    }
    table
};

/// x^(8 · bytes) modulo the polynomial: what appending `bytes` zero bytes multiplies a CRC's state by.
fn x_pow_8n(bytes: u64) -> u32 {
    let mut power = 1u32 << 31; // x^0
    let mut remaining = bytes;
    let mut k = 3; // 8 · bytes = bytes · 2^3
    while remaining != 0 {
        if remaining & 1 != 0 {
            power = multiply(X_POW_2_POW[k % 64], power);
        }
        remaining >>= 1;
        k += 1;
    }
    power
}

/// The CRC32C of `a ++ b`, given `crc32c(a)`, `crc32c(b)` and `b.len()`.
pub(crate) fn combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    multiply(x_pow_8n(len_b as u64), crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_two_checksums_gives_the_checksum_of_the_concatenation() {
        let data: Vec<u8> =
            (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 7, 8, 9, 255, 4096, 65_537, data.len()] {
            for end in [split, split + 1, split + 1000, data.len()] {
                let end = end.min(data.len());
                let (a, b) = (&data[..split], &data[split..end]);
                let expected = crc32c::crc32c(&data[..end]);
                assert_eq!(
                    combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len()),
                    expected,
                    "{split}..{end}"
                );
                assert_eq!(
                    crc32c::crc32c_combine(crc32c::crc32c(a), crc32c::crc32c(b), b.len()),
                    expected
                );
            }
        }
    }
}
