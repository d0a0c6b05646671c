//! Exact integer arithmetic on minor units: rounding divisions with a named mode, rates as
//! scaled integers, and largest-remainder allocation.
//!
//! Amounts inside the engine are `i128` counts of minor units, so `unit price × quantity`
//! summed over 250 lines cannot overflow; results are range-checked when they become `Money`.

use crate::domain::market::RoundingMode;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Percent rates are carried as integers scaled by 10^4 (`20` -> 200_000, `8.875` -> 88_750),
/// so tax and percentage maths are exact integer ratios.
pub const RATE_SCALE: i128 = 10_000;
/// 100 % as a scaled rate.
pub const HUNDRED_PERCENT: i128 = 100 * RATE_SCALE;

/// A percentage (at most 4 decimals, as markets and discounts accept) as a scaled integer.
/// `None` for more decimals or a negative value.
pub fn scaled_rate(percent: Decimal) -> Option<i128> {
    if percent.is_sign_negative() && !percent.is_zero() {
        return None;
    }
    let scaled = percent.checked_mul(Decimal::from(RATE_SCALE as i64))?;
    if !scaled.fract().is_zero() {
        return None;
    }
    scaled.to_i128()
}

/// `n / d` rounded to an integer with `mode`; `n >= 0`, `d > 0`.
pub fn div_round(n: i128, d: i128, mode: RoundingMode) -> i128 {
    debug_assert!(n >= 0 && d > 0);
    let q = n / d;
    let r = n % d;
    let twice = 2 * r;
    let up = match twice.cmp(&d) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => match mode {
            RoundingMode::HalfUp => true,
            RoundingMode::HalfDown => false,
            RoundingMode::HalfEven => q % 2 == 1,
        },
    };
    q + i128::from(up)
}

/// `amount × rate / 100 %`, rounded: a percentage of an amount (tax on a net amount, a
/// percentage discount).
pub fn percent_of(amount: i128, rate: i128, mode: RoundingMode) -> i128 {
    div_round(amount * rate, HUNDRED_PERCENT, mode)
}

/// The tax inside a tax-inclusive amount: `gross × rate / (100 % + rate)`, rounded.
pub fn tax_in_gross(gross: i128, rate: i128, mode: RoundingMode) -> i128 {
    div_round(gross * rate, HUNDRED_PERCENT + rate, mode)
}

/// Splits `total` into parts proportional to `weights` that sum exactly to `total`: each part
/// gets the floor of its exact share, and the cents left go one each to the largest remainders,
/// ties to the earlier weight. No part exceeds its weight when `total <= Σ weights`.
pub fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    if sum <= 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let left = total - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Remainders compared exactly: (total × w) mod sum.
    order.sort_by(|&a, &b| {
        let ra = total * weights[a] % sum;
        let rb = total * weights[b] % sum;
        rb.cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_modes_differ_only_on_exact_halves() {
        use RoundingMode::*;
        assert_eq!(div_round(25, 10, HalfUp), 3);
        assert_eq!(div_round(25, 10, HalfDown), 2);
        assert_eq!(div_round(25, 10, HalfEven), 2);
        assert_eq!(div_round(35, 10, HalfEven), 4);
        for mode in [HalfUp, HalfDown, HalfEven] {
            assert_eq!(div_round(24, 10, mode), 2);
            assert_eq!(div_round(26, 10, mode), 3);
        }
    }

    #[test]
    fn rates_are_scaled_exactly_and_refuse_extra_precision() {
        assert_eq!(scaled_rate(Decimal::new(20, 0)), Some(200_000));
        assert_eq!(scaled_rate(Decimal::new(8875, 3)), Some(88_750));
        assert_eq!(scaled_rate(Decimal::new(55, 1)), Some(55_000));
        assert_eq!(scaled_rate(Decimal::new(123_456, 5)), None);
        assert_eq!(scaled_rate(Decimal::new(-1, 0)), None);
    }

    #[test]
    fn tax_inside_a_gross_amount_splits_it_exactly() {
        // 120.00 gross at 20 %: 20.00 tax, 100.00 net.
        assert_eq!(tax_in_gross(12_000, 200_000, RoundingMode::HalfUp), 2_000);
        // 9.99 gross at 5.5 %: 0.52 tax (0.5208…).
        assert_eq!(tax_in_gross(999, 55_000, RoundingMode::HalfUp), 52);
    }

    #[test]
    fn allocation_gives_leftover_cents_to_the_largest_remainders_then_earlier_lines() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(10, &[300, 200, 500]), vec![3, 2, 5]);
        assert_eq!(allocate(7, &[1, 2]), vec![2, 5]);
        assert_eq!(allocate(0, &[1, 2]), vec![0, 0]);
        assert_eq!(allocate(5, &[0, 0]), vec![0, 0]);
    }

    proptest! {
        #[test]
        fn allocated_parts_sum_to_the_whole_and_never_exceed_their_weight(
            weights in proptest::collection::vec(0i128..1_000_000, 1..40),
            share in 0u32..=100,
        ) {
            let sum: i128 = weights.iter().sum();
            let total = sum * i128::from(share) / 100;
            let parts = allocate(total, &weights);
            if sum > 0 {
                prop_assert_eq!(parts.iter().sum::<i128>(), total);
            }
            for (p, w) in parts.iter().zip(&weights) {
                prop_assert!(*p >= 0 && p <= w);
            }
        }

        #[test]
        fn a_gross_amount_always_splits_into_net_plus_tax(gross in 0i128..10_000_000_000, rate in 0i128..=HUNDRED_PERCENT) {
            let tax = tax_in_gross(gross, rate, RoundingMode::HalfUp);
            prop_assert!(tax >= 0 && tax <= gross);
            let net = gross - tax;
            // The tax is the rate applied to the net, to within rounding.
            let exact_num = net * rate;
            prop_assert!((tax * HUNDRED_PERCENT - exact_num).abs() <= HUNDRED_PERCENT + rate);
        }
    }
}
