//! ASN.1 times (UTCTime, GeneralizedTime) as Unix seconds.

use crate::der::{GENERALIZED_TIME, Tlv, UTC_TIME};

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSS[.f]Z`)
/// in Unix seconds; `None` for other forms or impossible dates.
pub fn unix(t: &Tlv<'_>) -> Option<i64> {
    let c = t.content;
    let (year, rest) = match t.tag {
        UTC_TIME => {
            let yy = digits(c.get(..2)?)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, c.get(2..)?)
        }
        GENERALIZED_TIME => (digits(c.get(..4)?)?, c.get(4..)?),
        _ => return None,
    };
    let month = digits(rest.get(..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    let hour = digits(rest.get(4..6)?)?;
    let min = digits(rest.get(6..8)?)?;
    let mut tail = rest.get(8..)?;
    let sec = match tail.first() {
        Some(b) if b.is_ascii_digit() => {
            let s = digits(tail.get(..2)?)?;
            tail = &tail[2..];
            s
        }
        _ => 0,
    };
    // Fractions of a second (GeneralizedTime) do not change the second.
    if let Some(rest) = tail.strip_prefix(b".") {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        tail = &rest[n..];
    }
    if tail != b"Z" {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let day = u8::try_from(day).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()?;
    // A leap second (60) reads as the first second of the next minute.
    Some(date.midnight().assume_utc().unix_timestamp() + hour * 3600 + min * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::Der;

    fn t(tag: u8, s: &str) -> Option<i64> {
        let mut v = vec![tag, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        unix(&Der::new(&v).read().unwrap())
    }

    #[test]
    fn times() {
        assert_eq!(t(UTC_TIME, "210115064053Z"), Some(1_610_692_853));
        assert_eq!(t(GENERALIZED_TIME, "20210115064053Z"), Some(1_610_692_853));
        assert_eq!(
            t(GENERALIZED_TIME, "20210115064053.123Z"),
            Some(1_610_692_853)
        );
        assert_eq!(t(UTC_TIME, "490101000000Z"), Some(2_493_072_000));
        assert_eq!(t(UTC_TIME, "500101000000Z"), Some(-631_152_000));
        assert_eq!(t(UTC_TIME, "211315064053Z"), None);
        assert_eq!(t(UTC_TIME, "2101150640Z"), Some(1_610_692_800));
    }
}
