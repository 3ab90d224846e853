//! The set of HTTP status codes that count as healthy: `200-299,403`.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// The lowest and highest codes HTTP defines classes for (1xx to 5xx).
const VALID_CODES: RangeInclusive<u16> = 100..=599;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    #[error("the list is empty")]
    Empty,
    #[error("`{0}` is not a status code or a range of status codes")]
    NotACode(String),
    #[error("{0} is not an HTTP status code (100-599)")]
    OutOfRange(u16),
    #[error("the range {0}-{1} is reversed")]
    Reversed(u16, u16),
}

/// Status codes and inclusive ranges of them, in the order they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedStatus {
    ranges: Vec<RangeInclusive<u16>>,
}

impl ExpectedStatus {
    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|range| range.contains(&code))
    }
}

impl Default for ExpectedStatus {
    fn default() -> Self {
        Self {
            ranges: vec![200..=200],
        }
    }
}

impl FromStr for ExpectedStatus {
    type Err = StatusListError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        if list.trim().is_empty() {
            return Err(StatusListError::Empty);
        }
        let ranges = list
            .split(',')
            .map(parse_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { ranges })
    }
}

fn parse_item(item: &str) -> Result<RangeInclusive<u16>, StatusListError> {
    let item = item.trim();
    let (low, high) = match item.split_once('-') {
        Some((low, high)) => (parse_code(low, item)?, parse_code(high, item)?),
        None => {
            let code = parse_code(item, item)?;
            (code, code)
        }
    };
    if low > high {
        return Err(StatusListError::Reversed(low, high));
    }
    Ok(low..=high)
}

fn parse_code(text: &str, item: &str) -> Result<u16, StatusListError> {
    let text = text.trim();
    // `u16::from_str` accepts a leading `+`, which has no place in a status list.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StatusListError::NotACode(item.to_owned()));
    }
    let code = text
        .parse::<u16>()
        .map_err(|_| StatusListError::NotACode(item.to_owned()))?;
    if VALID_CODES.contains(&code) {
        Ok(code)
    } else {
        Err(StatusListError::OutOfRange(code))
    }
}

impl fmt::Display for ExpectedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, range) in self.ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if range.start() == range.end() {
                write!(f, "{}", range.start())?;
            } else {
                write!(f, "{}-{}", range.start(), range.end())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(list: &str) -> Result<ExpectedStatus, StatusListError> {
        list.parse()
    }

    #[test]
    fn default_is_200_only() {
        let expected = ExpectedStatus::default();
        assert!(expected.contains(200));
        assert!(!expected.contains(201));
        assert!(!expected.contains(204));
        assert_eq!(expected.to_string(), "200");
    }

    #[test]
    fn codes_and_ranges_mix() {
        let expected = parse(" 200-299 , 403,503").expect("valid list");
        for code in [200, 250, 299, 403, 503] {
            assert!(expected.contains(code), "{code}");
        }
        for code in [199, 300, 404, 502, 504] {
            assert!(!expected.contains(code), "{code}");
        }
        assert_eq!(expected.to_string(), "200-299,403,503");
    }

    #[test]
    fn rejects_malformed_lists() {
        assert_eq!(parse(""), Err(StatusListError::Empty));
        assert_eq!(parse("  "), Err(StatusListError::Empty));
        assert_eq!(parse("200,"), Err(StatusListError::NotACode(String::new())));
        assert_eq!(parse("ok"), Err(StatusListError::NotACode("ok".into())));
        assert_eq!(parse("+200"), Err(StatusListError::NotACode("+200".into())));
        assert_eq!(parse("200-"), Err(StatusListError::NotACode("200-".into())));
        assert_eq!(
            parse("200-300-400"),
            Err(StatusListError::NotACode("200-300-400".into()))
        );
        assert_eq!(parse("99"), Err(StatusListError::OutOfRange(99)));
        assert_eq!(parse("200-600"), Err(StatusListError::OutOfRange(600)));
        assert_eq!(
            parse("70000"),
            Err(StatusListError::NotACode("70000".into()))
        );
        assert_eq!(parse("299-200"), Err(StatusListError::Reversed(299, 200)));
    }

    proptest! {
        #[test]
        fn a_range_holds_exactly_its_codes(low in 100u16..=599, width in 0u16..=100, code in 0u16..=999) {
            let high = (low + width).min(599);
            let expected = parse(&format!("{low}-{high}")).expect("valid range");
            prop_assert_eq!(expected.contains(code), (low..=high).contains(&code));
        }

        #[test]
        fn display_parses_back_to_the_same_set(
            items in prop::collection::vec((100u16..=599, 0u16..=50), 1..6),
        ) {
            let list = items
                .iter()
                .map(|&(low, width)| format!("{low}-{}", (low + width).min(599)))
                .collect::<Vec<_>>()
                .join(",");
            let expected = parse(&list).expect("valid list");
            prop_assert_eq!(parse(&expected.to_string()), Ok(expected));
        }

        #[test]
        fn never_panics_on_any_text(list in ".{0,40}") {
            let _ = parse(&list);
        }
    }
}
