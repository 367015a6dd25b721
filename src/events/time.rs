//! From a line's [`Stamp`] to UTC: time zone and year inference.
//!
//! RFC 3164 lines carry neither year nor zone. The zone comes from `--timezone`, else the
//! bundle's custody facts, else UTC (the parse stats say which). The year is inferred from an
//! *anchor*: the newest moment the file can contain — its mtime (from the bundle manifest when
//! reading a bundle, else the file system), tightened along the rotation chain so that
//! `mail.log.2.gz` is never anchored later than `mail.log.1`. A line whose month and day lie
//! after the anchor (by more than a day, for clock skew) belongs to the year before: this also
//! handles the December → January rollover inside one file. `--year` overrides the inference
//! for every line (the event still says `ts_year_inferred: true`).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::syslog::Stamp;

/// How a file's local times become UTC.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The zone local times are in.
    pub tz: Tz,
    /// Newest local time the file can hold (for year inference).
    pub anchor: NaiveDateTime,
    /// `--year`.
    pub year: Option<i32>,
}

fn naive(date: NaiveDate, secs: u32, nanos: u32) -> Option<NaiveDateTime> {
    date.and_hms_nano_opt(secs / 3600, secs / 60 % 60, secs % 60, nanos)
}

impl Clock {
    /// The anchor for a file last written at `mtime`, seen in `tz`.
    pub fn anchor_of(mtime: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
        mtime.with_timezone(&tz).naive_local()
    }

    fn local_to_utc(&self, t: NaiveDateTime) -> Option<DateTime<Utc>> {
        // A time skipped by a DST jump does not exist; a repeated one is taken the first time.
        let local = self.tz.from_local_datetime(&t);
        local
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(t + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|d| d.with_timezone(&Utc))
    }

    /// UTC time of a stamp, and whether its year was inferred.
    pub fn utc(&self, stamp: Stamp) -> Option<(DateTime<Utc>, bool)> {
        match stamp {
            Stamp::Unix { .. } => Some((stamp.absolute()?, false)),
            Stamp::Local { date, secs, nanos } => {
                Some((self.local_to_utc(naive(date, secs, nanos)?)?, false))
            }
            Stamp::NoYear {
                month,
                day,
                secs,
                nanos,
            } => {
                let year = match self.year {
                    Some(y) => y,
                    None => {
                        let y = self.anchor.year();
                        // Feb 29 of a non-leap anchor year must come from an earlier year.
                        match NaiveDate::from_ymd_opt(y, month, day)
                            .and_then(|d| naive(d, secs, nanos))
                        {
                            Some(t) if t <= self.anchor + chrono::Duration::days(1) => y,
                            _ => y - 1,
                        }
                    }
                };
                // Feb 29 in a non-leap year: the last leap year before it.
                let date =
                    (0..8).find_map(|back| NaiveDate::from_ymd_opt(year - back, month, day))?;
                Some((self.local_to_utc(naive(date, secs, nanos)?)?, true))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(anchor: &str, tz: Tz) -> Clock {
        Clock {
            tz,
            anchor: NaiveDateTime::parse_from_str(anchor, "%Y-%m-%d %H:%M:%S").unwrap(),
            year: None,
        }
    }

    fn ny(month: u32, day: u32, h: u32) -> Stamp {
        Stamp::NoYear {
            month,
            day,
            secs: h * 3600,
            nanos: 0,
        }
    }

    #[test]
    fn years_follow_the_anchor_and_roll_over() {
        let c = clock("2026-01-02 00:00:02", chrono_tz::UTC);
        assert_eq!(
            c.utc(ny(1, 1, 23)).unwrap().0.to_rfc3339(),
            "2026-01-01T23:00:00+00:00"
        );
        assert_eq!(
            c.utc(ny(12, 31, 23)).unwrap().0.to_rfc3339(),
            "2025-12-31T23:00:00+00:00"
        );
        // A day of skew is tolerated.
        assert_eq!(c.utc(ny(1, 2, 20)).unwrap().0.year(), 2026);
        assert!(c.utc(ny(1, 2, 20)).unwrap().1);
    }

    #[test]
    fn zones_and_overrides() {
        let c = clock("2026-03-05 11:00:00", "Asia/Shanghai".parse().unwrap());
        let (t, inferred) = c
            .utc(Stamp::NoYear {
                month: 3,
                day: 4,
                secs: 2 * 3600 + 14 * 60 + 7,
                nanos: 0,
            })
            .unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-03T18:14:07+00:00");
        assert!(inferred);
        let mut y = c;
        y.year = Some(2024);
        assert_eq!(y.utc(ny(2, 29, 0)).unwrap().0.year(), 2024);
        // Feb 29 with a non-leap anchor year falls back to the last leap year before it.
        let c = clock("2027-03-01 00:00:00", chrono_tz::UTC);
        assert!(c.utc(ny(2, 29, 0)).is_some());
        // Berlin's spring-forward gap: 02:30 does not exist on 2026-03-29.
        let c = clock("2026-04-01 00:00:00", "Europe/Berlin".parse().unwrap());
        assert_eq!(
            c.utc(Stamp::NoYear {
                month: 3,
                day: 29,
                secs: 9000,
                nanos: 0
            })
            .unwrap()
            .0
            .to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
    }
}
