//! Money: the one rounding of every output amount and the one way amounts are written in
//! messages. Computation keeps full precision; amounts are rounded once, when the analysis is
//! finished (a millionth of a dollar: exact enough to reconcile to the cent, and it hides the
//! last-bit noise of sums taken in different orders).

/// Rounds to a millionth of a dollar; never returns negative zero.
pub fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6 + 0.0
}

/// [`round`] in place.
pub fn round_in_place(x: &mut f64) {
    *x = round(*x);
}

/// Dollars with cents and thousands separators, for messages.
pub fn usd(x: f64) -> String {
    // Rounded to the millionth first (as every output amount is), then half a cent up: a sum
    // that lands on half a cent prints the same whatever order its rows were added in.
    let micros = (x.abs() * 1e6).round() as u64;
    let cents = (micros + 5_000) / 10_000;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_cents_round_up_whatever_the_summation_order() {
        // The same half-cent sum, a few ulps either side, as different row orders give it.
        assert_eq!(usd(11_656.925 - 1e-9), "$11,656.93");
        assert_eq!(usd(11_656.925 + 1e-9), "$11,656.93");
        assert_eq!(usd(-0.004_999), "$0.00");
        assert_eq!(usd(-1_234_567.891), "-$1,234,567.89");
    }

    #[test]
    fn money_text() {
        assert_eq!(usd(1234567.891), "$1,234,567.89");
        assert_eq!(usd(-5.0), "-$5.00");
        assert_eq!(usd(0.004), "$0.00");
    }

    #[test]
    fn rounding_keeps_a_millionth_and_drops_negative_zero() {
        assert_eq!(round(1.000_000_4), 1.0);
        assert_eq!(round(1.000_000_6), 1.000_001);
        assert!(round(-0.000_000_1).is_sign_positive());
    }
}
