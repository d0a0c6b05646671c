//! Exact money: a `rust_decimal` amount tied to an ISO 4217 currency.
//!
//! Amounts never pass through a float. On the wire a `Money` is
//! `{"amount": "12.30", "currency": "EUR"}` with exactly the currency's minor digits; in D1 it is
//! an integer count of minor units, exact in SQLite and in JavaScript numbers below 2^53.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An ISO 4217 currency we can price in. The set is closed on purpose: an unknown code is
/// rejected where it enters the system instead of being guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_digits: u32,
}

/// Currencies and their minor-unit digits (ISO 4217 table A.1).
const CURRENCIES: &[(&str, u32)] = &[
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TND", 3),
    ("USD", 2),
    ("ZAR", 2),
];

impl Currency {
    /// Looks a currency up by its ISO 4217 code (upper-case, as ISO writes it).
    pub fn from_code(code: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, minor_digits)| Currency { code, minor_digits })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point of the smallest unit (EUR 2, JPY 0, KWD 3).
    pub fn minor_digits(&self) -> u32 {
        self.minor_digits
    }
}

/// `minor` units of `currency` as people read them in a message (`12.30 EUR`); the bare number
/// when out of range.
pub fn describe(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).map_or(minor.to_string(), |m| {
        format!("{} {}", m.amount_string(), currency.code())
    })
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown currency `{code}`")))
    }
}

/// Why a money value could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    UnknownCurrency(String),
    /// Not a plain decimal string (no exponent, no sign other than `-`, no spaces).
    NotADecimal(String),
    /// More fractional digits than the currency has.
    TooPrecise {
        amount: String,
        minor_digits: u32,
    },
    /// Beyond what minor units can count exactly in D1 and JavaScript (2^53).
    OutOfRange,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::UnknownCurrency(c) => write!(f, "unknown currency `{c}`"),
            MoneyError::NotADecimal(a) => write!(f, "`{a}` is not a decimal amount"),
            MoneyError::TooPrecise {
                amount,
                minor_digits,
            } => write!(f, "`{amount}` has more than {minor_digits} decimal places"),
            MoneyError::OutOfRange => f.write_str("amount out of range"),
        }
    }
}

/// Largest count of minor units we store: exact in an f64 and so in D1 and in JavaScript.
pub const MAX_MINOR_UNITS: i64 = (1 << 53) - 1;

/// The largest line subtotal (minor units) priced outside the catalog (an imported line, a
/// draft's price set by hand): 250 such lines, their taxes and shipping stay far within
/// [`MAX_MINOR_UNITS`], so the order can always be priced.
pub const MAX_LINE_SUBTOTAL: i64 = 1_000_000_000_000;

/// An exact amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Builds money from a count of minor units (cents for EUR, yen for JPY).
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if minor.abs() > MAX_MINOR_UNITS {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Money {
            amount: Decimal::new(minor, currency.minor_digits),
            currency,
        })
    }

    /// Parses the wire form: a decimal string with at most the currency's minor digits.
    pub fn parse(amount: &str, currency_code: &str) -> Result<Money, MoneyError> {
        let currency = Currency::from_code(currency_code)
            .ok_or_else(|| MoneyError::UnknownCurrency(currency_code.to_string()))?;
        let well_formed = {
            let digits = amount.strip_prefix('-').unwrap_or(amount);
            let mut parts = digits.splitn(2, '.');
            let int = parts.next().unwrap_or("");
            let frac = parts.next();
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
                && digits.len() <= 24
        };
        if !well_formed {
            return Err(MoneyError::NotADecimal(amount.to_string()));
        }
        let decimal: Decimal = amount
            .parse()
            .map_err(|_| MoneyError::NotADecimal(amount.to_string()))?;
        if decimal.scale() > currency.minor_digits {
            return Err(MoneyError::TooPrecise {
                amount: amount.to_string(),
                minor_digits: currency.minor_digits,
            });
        }
        let money = Money {
            amount: decimal,
            currency,
        };
        money.minor_units()?;
        Ok(money)
    }

    pub fn zero(currency: Currency) -> Money {
        Money {
            amount: Decimal::new(0, currency.minor_digits),
            currency,
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The amount as a count of minor units, the form D1 stores.
    pub fn minor_units(&self) -> Result<i64, MoneyError> {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_digits);
        let minor = scaled.mantissa();
        if minor.abs() > MAX_MINOR_UNITS as i128 {
            return Err(MoneyError::OutOfRange);
        }
        Ok(minor as i64)
    }

    /// The wire form of the amount: exactly the currency's minor digits ("12.30", "1200", "1.500").
    pub fn amount_string(&self) -> String {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_digits);
        scaled.to_string()
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("amount", &self.amount_string())?;
        st.serialize_field("currency", self.currency.code())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            amount: String,
            currency: String,
        }
        let w = Wire::deserialize(d)?;
        Money::parse(&w.amount, &w.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    #[test]
    fn amounts_are_written_with_exactly_the_currencys_minor_digits() {
        let cases = [
            ("EUR", 1230, "12.30"),
            ("JPY", 1200, "1200"),
            ("KWD", 1500, "1.500"),
        ];
        for (code, minor, wire) in cases {
            let m = Money::from_minor(minor, Currency::from_code(code).unwrap()).unwrap();
            assert_eq!(m.amount_string(), wire, "{code}");
        }
    }

    #[test]
    fn money_serializes_as_a_decimal_string_and_currency_never_a_number() {
        let m = Money::from_minor(5, eur()).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":"0.05","currency":"EUR"}"#
        );
    }

    #[test]
    fn parsing_accepts_fewer_digits_and_normalises_on_output() {
        let m = Money::parse("12.3", "EUR").unwrap();
        assert_eq!(m.minor_units().unwrap(), 1230);
        assert_eq!(m.amount_string(), "12.30");
    }

    #[test]
    fn parsing_rejects_more_digits_than_the_currency_has() {
        assert!(matches!(
            Money::parse("12.345", "EUR"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::parse("1.5", "JPY"),
            Err(MoneyError::TooPrecise { .. })
        ));
    }

    #[test]
    fn parsing_rejects_exponents_spaces_signs_and_empty_parts() {
        for bad in [
            "1e3", " 1.00", "+1.00", "1.", ".5", "", "-", "1,00", "NaN", "0x10",
        ] {
            assert!(
                matches!(Money::parse(bad, "EUR"), Err(MoneyError::NotADecimal(_))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn parsing_rejects_unknown_currencies_and_lower_case_codes() {
        assert!(matches!(
            Money::parse("1.00", "XXX"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Money::parse("1.00", "eur"),
            Err(MoneyError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn amounts_beyond_exact_javascript_integers_are_refused() {
        assert_eq!(
            Money::from_minor(MAX_MINOR_UNITS + 1, eur()),
            Err(MoneyError::OutOfRange)
        );
        assert!(matches!(
            Money::parse("900719925474099.92", "EUR"),
            Err(MoneyError::OutOfRange)
        ));
        assert!(Money::parse("90071992547409.91", "EUR").is_ok());
    }

    #[test]
    fn minor_units_round_trip_for_every_known_currency() {
        for (code, _) in CURRENCIES {
            let c = Currency::from_code(code).unwrap();
            for minor in [0, 1, 99, 100, 123_456_789, -42] {
                let m = Money::from_minor(minor, c).unwrap();
                let back = Money::parse(&m.amount_string(), code).unwrap();
                assert_eq!(back.minor_units().unwrap(), minor, "{code} {minor}");
            }
        }
    }
}
