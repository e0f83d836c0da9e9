//! Dates and times of mail, from `SystemTime` without a date crate, in UTC,
//! on the proleptic Gregorian calendar with days counted from 1970-01-01:
//! RFC 5322 `Date:` values (written, and read for IMAP SEARCH SENTBEFORE/
//! ON/SINCE), IMAP `date-time` of INTERNALDATE and APPEND
//! (`"17-Jul-1996 02:44:25 -0700"`) and `date` of SEARCH (`1-Feb-1994`),
//! and clock times for the node log.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Tue, 01 Dec 2026 07:58:51 +0000`
pub fn rfc5322(time: SystemTime) -> String {
    let days = day_of(time);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year} {} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        clock_time(time)
    )
}

/// `07:58:51` (UTC)
pub fn clock_time(time: SystemTime) -> String {
    let of_day = seconds_since_epoch(time).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn month_number(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

fn seconds_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    }
}

/// The UTC day number of a point in time.
pub fn day_of(time: SystemTime) -> i64 {
    seconds_since_epoch(time).div_euclid(86_400)
}

/// INTERNALDATE as IMAP writes it, in UTC: `"01-Dec-2026 07:58:51 +0000"`
/// (without the quotes).
pub fn format_date_time(time: SystemTime) -> String {
    let seconds = seconds_since_epoch(time);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    // One allocation per FETCH of INTERNALDATE: no clock_time() here.
    format!(
        "{day:02}-{}-{year:04} {:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Parses a `date` (`1-Feb-1994` or `01-Feb-1994`) into a day number.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut fields = text.splitn(3, '-');
    let day = parse_number(fields.next()?, 1, 2)?;
    let month = month_number(fields.next()?)?;
    let year = parse_number(fields.next()?, 4, 4)?;
    valid_day(year, month, day).then(|| days_from_civil(i64::from(year), month, day))
}

/// Parses a `date-time` (`" 7-Jul-1996 02:44:25 -0700"`, without quotes).
pub fn parse_date_time(text: &str) -> Option<SystemTime> {
    let text = text.strip_prefix(' ').unwrap_or(text);
    let (date, rest) = text.split_once(' ')?;
    let (time, zone) = rest.split_once(' ')?;
    let days = parse_date(date)?;
    let mut clock = time.split(':');
    let hour = parse_number(clock.next()?, 2, 2)?;
    let minute = parse_number(clock.next()?, 2, 2)?;
    let second = parse_number(clock.next()?, 2, 2)?;
    if clock.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = parse_zone(zone)?;
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    time_from_seconds(seconds)
}

/// The UTC day of an RFC 5322 `Date:` value (`Tue, 1 Dec 2026 08:00:00 +0100`);
/// lenient about the day name and comments, None when no date is found.
pub fn parse_header_date(value: &str) -> Option<i64> {
    let value = value.split_once(',').map_or(value, |(_, rest)| rest);
    let mut words = value.split_whitespace();
    let day = parse_number(words.next()?, 1, 2)?;
    let month = month_number(words.next()?)?;
    let year_text = words.next()?;
    let mut year = parse_number(year_text, 2, 4)?;
    if year_text.len() == 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    if !valid_day(year, month, day) {
        return None;
    }
    let mut seconds = days_from_civil(i64::from(year), month, day) * 86_400;
    if let Some(time) = words.next() {
        let mut clock = time.split(':').map(|part| parse_number(part, 2, 2));
        let hour = clock.next().flatten().unwrap_or(0);
        let minute = clock.next().flatten().unwrap_or(0);
        let second = clock.next().flatten().unwrap_or(0);
        seconds += i64::from(hour.min(23) * 3600 + minute.min(59) * 60 + second.min(60));
        seconds -= words.next().and_then(parse_zone).unwrap_or(0);
    }
    Some(seconds.div_euclid(86_400))
}

fn parse_zone(zone: &str) -> Option<i64> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let value = parse_number(digits, 4, 4)?;
    let (hours, minutes) = (value / 100, value % 100);
    (minutes < 60).then(|| sign * i64::from(hours * 3600 + minutes * 60))
}

fn parse_number(text: &str, min_len: usize, max_len: usize) -> Option<u32> {
    let ok = (min_len..=max_len).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

fn valid_day(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let length = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=length).contains(&day)
}

fn time_from_seconds(seconds: i64) -> Option<SystemTime> {
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(
            rfc5322(at(1_796_111_931)),
            "Tue, 01 Dec 2026 07:58:51 +0000"
        );
        assert_eq!(
            rfc5322(at(4_107_542_399)),
            "Sun, 28 Feb 2100 23:59:59 +0000"
        );
        assert_eq!(clock_time(at(3_723)), "01:02:03");
    }

    #[test]
    fn date_time_round_trip_in_utc() {
        let time = parse_date_time("17-Jul-1996 02:44:25 -0700").unwrap();
        assert_eq!(format_date_time(time), "17-Jul-1996 09:44:25 +0000");
        let leap = parse_date_time(" 29-Feb-2024 23:59:59 +0000").unwrap();
        assert_eq!(format_date_time(leap), "29-Feb-2024 23:59:59 +0000");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "30-Feb-2024",
            "1-Foo-2024",
            "1-Jan-24",
            "001-Jan-2024",
            "1-Jan-2024-",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
        assert!(parse_date_time("1-Jan-2024 24:00:00 +0000").is_none());
        assert!(parse_date_time("1-Jan-2024 10:00:00 0000").is_none());
    }

    #[test]
    fn header_dates_are_taken_to_utc() {
        let day = parse_header_date("Tue, 1 Dec 2026 00:30:00 +0100").unwrap();
        assert_eq!(day, parse_date("30-Nov-2026").unwrap());
        assert_eq!(parse_header_date("1 Dec 2026"), parse_date("1-Dec-2026"));
        assert_eq!(parse_header_date("garbage"), None);
    }
}
