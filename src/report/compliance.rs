//! Notification duties and their clocks (documented in `docs/report.md`): for
//! each regime, what would make it apply and when each notice falls due from its anchor.
//! Without a case file every regime is "check" and every clock runs from the earliest
//! detection, which the report says; a case file (to come) sets applicability and the real
//! anchors (awareness, discovery, materiality).
//!
//! To add a regime: an entry in [`regimes`]; its clocks use the kinds of [`Clock`].

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use serde::Serialize;

use super::case::Case;
use super::Lang;

/// How a deadline follows from its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Continuous hours.
    Hours(i64),
    /// Calendar days.
    Days(i64),
    /// Calendar months (same day of month, clamped to its end).
    Months(u32),
    /// US business days (no weekends, no federal holidays), due 17:30 New York time.
    UsBusinessDays(u32),
    /// "Immediately" / "without undue delay": no number; the report shows time elapsed.
    Immediate,
}

/// A text in both report languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    /// English.
    pub en: &'static str,
    /// Chinese.
    pub zh: &'static str,
}

impl Text {
    /// In `lang`.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

const fn tx(en: &'static str, zh: &'static str) -> Text {
    Text { en, zh }
}

/// One notice of a regime.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// What is due (`early warning`, `notification to the authority`).
    pub what: Text,
    /// Its clock.
    pub clock: Clock,
    /// The case file's clock it runs from (`awareness`, `discovery`, `materiality`,
    /// `handling_ended`).
    pub anchor_key: &'static str,
}

/// A notification regime.
#[derive(Debug, Clone, Serialize)]
pub struct Regime {
    /// Short id (`gdpr33`).
    pub id: &'static str,
    /// Name.
    pub name: Text,
    /// What the clock runs from.
    pub anchor: Text,
    /// When it applies.
    pub applies_if: Text,
    /// The notices and their clocks.
    pub notices: Vec<Notice>,
}

fn n(what: Text, clock: Clock) -> Notice {
    Notice {
        what,
        clock,
        anchor_key: "",
    }
}

/// The regime's notices, each running from the case file's `key` clock.
fn from(key: &'static str, notices: Vec<Notice>) -> Vec<Notice> {
    notices
        .into_iter()
        .map(|n| Notice {
            anchor_key: if n.anchor_key.is_empty() {
                key
            } else {
                n.anchor_key
            },
            ..n
        })
        .collect()
}

/// The regimes of the reference, in the report's order.
pub fn regimes() -> Vec<Regime> {
    use Clock::*;
    let aware = tx("awareness of the breach", "知悉数据泄露");
    let found = tx("discovery of the breach", "发现数据泄露");
    vec![
        Regime {
            id: "gdpr33",
            name: tx("EU GDPR Art. 33", "欧盟 GDPR 第 33 条"),
            anchor: aware,
            applies_if: tx("personal data of people in the EU was accessed, copied or lost, unless the breach is unlikely to result in a risk to them", "欧盟境内人员的个人数据被访问、复制或丢失，除非不太可能对其造成风险"),
            notices: from("awareness", vec![n(tx("notification to the lead supervisory authority", "向牵头监管机构通报"), Hours(72))]),
        },
        Regime {
            id: "gdpr34",
            name: tx("EU GDPR Art. 34", "欧盟 GDPR 第 34 条"),
            anchor: aware,
            applies_if: tx("the breach is likely to result in a high risk to the people concerned", "事件可能给相关人员带来高风险"),
            notices: from("awareness", vec![n(tx("communication to the data subjects (without undue delay)", "告知数据主体（不得无故拖延）"), Immediate)]),
        },
        Regime {
            id: "uk_gdpr",
            name: tx("UK GDPR / PECR", "英国 GDPR / PECR"),
            anchor: aware,
            applies_if: tx("personal data of people in the UK (PECR: the organisation provides public electronic communications)", "涉及英国人员的个人数据（PECR：机构提供公共电子通信服务）"),
            notices: from("awareness", vec![
                n(tx("notification to the ICO", "向 ICO 通报"), Hours(72)),
                n(tx("PECR notification to the ICO (communications providers)", "PECR 下向 ICO 通报（通信服务提供者）"), Hours(24)),
            ]),
        },
        Regime {
            id: "nis2",
            name: tx("EU NIS2 Art. 23", "欧盟 NIS2 第 23 条"),
            anchor: tx("awareness of the significant incident", "知悉重大事件"),
            applies_if: tx("the organisation is an essential or important entity under NIS2 and the incident is significant", "机构是 NIS2 下的基本或重要实体，且事件属于重大事件"),
            notices: from("awareness", vec![
                n(tx("early warning to the CSIRT", "向 CSIRT 发出早期预警"), Hours(24)),
                n(tx("incident notification", "事件通报"), Hours(72)),
                n(tx("final report (from the notification)", "最终报告（自事件通报起算）"), Months(1)),
            ]),
        },
        Regime {
            id: "pipl57",
            name: tx("China PIPL Art. 57 (个人信息保护法)", "《个人信息保护法》第五十七条"),
            anchor: tx("discovery (发现)", "发现"),
            applies_if: tx("personal information was, or may have been, leaked, altered or lost (已经或者可能发生)", "发生或者可能发生个人信息泄露、篡改、丢失"),
            notices: from("discovery", vec![n(tx("notice to the PI protection authorities and the individuals (立即)", "立即通知履行个人信息保护职责的部门和个人"), Immediate)]),
        },
        Regime {
            id: "cn_measures",
            name: tx("China 2025 incident-reporting Measures (国家网络安全事件报告管理办法)", "《国家网络安全事件报告管理办法》"),
            anchor: tx("discovery or learning of the incident (发现或获知)", "发现或获知事件"),
            applies_if: tx("the incident is graded 较大 or above (e.g. personal information of 1 million people or more); the hours depend on the operator", "事件达到较大及以上级别（如涉及 100 万人以上个人信息）；时限取决于运营者类型"),
            notices: from("discovery", vec![
                n(tx("report, critical information infrastructure operator", "报告：关键信息基础设施运营者"), Hours(1)),
                n(tx("report, central or state organ", "报告：中央和国家机关"), Hours(2)),
                n(tx("report, other operator", "报告：其他网络运营者"), Hours(4)),
                Notice { anchor_key: "handling_ended", ..n(tx("summary after handling ends (from the end of handling)", "处置结束后的总结报告（自处置结束起算）"), Days(30)) },
            ]),
        },
        Regime {
            id: "hipaa",
            name: tx("US HIPAA Breach Notification Rule", "美国 HIPAA 违规通知规则"),
            anchor: found,
            applies_if: tx("unsecured protected health information of a covered entity or business associate", "受约束实体或业务伙伴的未加密受保护健康信息"),
            notices: from("discovery", vec![n(tx("notice to individuals (and HHS / media when 500 or more)", "通知个人（500 人及以上时同时通知 HHS / 媒体）"), Days(60))]),
        },
        Regime {
            id: "sec_8k",
            name: tx("US SEC Form 8-K Item 1.05", "美国 SEC 8-K 表格第 1.05 项"),
            anchor: tx("determination that the incident is material", "认定事件重大"),
            applies_if: tx("the organisation is a public company and the incident is material", "机构为上市公司且事件重大"),
            notices: from("materiality", vec![n(tx("Form 8-K filing", "提交 8-K 表格"), UsBusinessDays(4))]),
        },
        Regime {
            id: "california",
            name: tx("US California Civ. Code §1798.82", "美国加州民法典 §1798.82"),
            anchor: found,
            applies_if: tx("personal information of California residents, including an email address with its password; never notify through the breached mailbox", "涉及加州居民的个人信息（包括邮箱地址及其密码）；绝不能通过被盗邮箱通知"),
            notices: from("discovery", vec![n(tx("notice to residents (most expedient time; 30 days used as the outer bound)", "通知居民（尽快；以 30 天为上限）"), Days(30))]),
        },
    ]
}

/// The date of the `nth` `weekday` of a month (1-based), or the last one (`nth` = 0).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, nth: u32) -> Option<NaiveDate> {
    if nth == 0 {
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        let mut d = next.pred_opt()?;
        while d.weekday() != weekday {
            d = d.pred_opt()?;
        }
        return Some(d);
    }
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth as u8)
}

/// Whether `d` is a US federal holiday (as observed: Saturday ones on the Friday before,
/// Sunday ones on the Monday after).
pub fn us_federal_holiday(d: NaiveDate) -> bool {
    let y = d.year();
    let fixed = |m: u32, day: u32| {
        NaiveDate::from_ymd_opt(y, m, day).map(|h| match h.weekday() {
            Weekday::Sat => h.pred_opt().unwrap_or(h),
            Weekday::Sun => h.succ_opt().unwrap_or(h),
            _ => h,
        })
    };
    let floating = [
        nth_weekday(y, 1, Weekday::Mon, 3),  // Martin Luther King Jr. Day
        nth_weekday(y, 2, Weekday::Mon, 3),  // Washington's Birthday
        nth_weekday(y, 5, Weekday::Mon, 0),  // Memorial Day
        nth_weekday(y, 9, Weekday::Mon, 1),  // Labor Day
        nth_weekday(y, 10, Weekday::Mon, 2), // Columbus Day
        nth_weekday(y, 11, Weekday::Thu, 4), // Thanksgiving
    ];
    let fixed_days = [
        fixed(1, 1),
        fixed(6, 19),
        fixed(7, 4),
        fixed(11, 11),
        fixed(12, 25),
    ];
    // New Year's Day of next year observed on Friday 31 December.
    let next_new_year =
        (d.month() == 12 && d.day() == 31 && d.weekday() == Weekday::Fri).then_some(d);
    floating
        .iter()
        .chain(fixed_days.iter())
        .chain(std::iter::once(&next_new_year))
        .any(|h| *h == Some(d))
}

/// When a notice with `clock` falls due if its clock started at `anchor`.
pub fn due(anchor: DateTime<Utc>, clock: Clock) -> Option<DateTime<Utc>> {
    match clock {
        Clock::Hours(h) => Some(anchor + Duration::hours(h)),
        Clock::Days(d) => Some(anchor + Duration::days(d)),
        Clock::Months(m) => anchor.checked_add_months(chrono::Months::new(m)),
        Clock::UsBusinessDays(n) => {
            let ny = chrono_tz::America::New_York;
            let mut d = anchor.with_timezone(&ny).date_naive();
            let mut left = n;
            while left > 0 {
                d = d.succ_opt()?;
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !us_federal_holiday(d) {
                    left -= 1;
                }
            }
            ny.from_local_datetime(&d.and_hms_opt(17, 30, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }
        Clock::Immediate => None,
    }
}

/// One notice as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Obligation {
    /// Regime id.
    pub regime: &'static str,
    /// Regime name.
    pub name: &'static str,
    /// What is due.
    pub what: &'static str,
    /// `yes`, `no` or `check`.
    pub applies: &'static str,
    /// Why (from the case file), or what would make it apply.
    pub because: String,
    /// What the clock runs from, and where its time came from.
    pub anchor: String,
    /// The anchor time used.
    pub anchor_at: String,
    /// The deadline (none: "immediately", or no anchor yet).
    pub due: Option<String>,
    /// What stands for a missing deadline.
    pub no_deadline: &'static str,
    /// Hours left (negative: overdue), or hours elapsed for "immediately".
    pub hours: i64,
    /// Language of the texts.
    pub lang: Lang,
}

impl Obligation {
    /// Hours elapsed (for "immediately"), overdue (`true`) or left, as text.
    pub fn remaining(&self) -> (String, bool) {
        let zh = self.lang == Lang::Zh;
        match (&self.due, self.hours, zh) {
            (None, h, false) => (format!("{h} h elapsed"), false),
            (None, h, true) => (format!("已过 {h} 小时"), false),
            (Some(_), h, false) if h < 0 => (format!("overdue by {} h", -h), true),
            (Some(_), h, true) if h < 0 => (format!("已逾期 {} 小时", -h), true),
            (Some(_), h, false) => (format!("{h} h left"), false),
            (Some(_), h, true) => (format!("剩余 {h} 小时"), false),
        }
    }
}

/// EU and EEA member states (GDPR, NIS2).
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Whether regime `id`'s `notice` applies to the case, and why (in `lang`).
fn decide(r: &Regime, notice: &Notice, case: &Case, lang: Lang) -> (&'static str, String) {
    let eu = EEA.iter().any(|c| case.in_country(c));
    let data = !case.data.categories.is_empty();
    let cats = case.data.categories.join(", ");
    let zh = lang == Lang::Zh;
    let say = |en: &str, cn: &str| if zh { cn.to_string() } else { en.to_string() };
    match r.id {
        "gdpr33" | "gdpr34" if !eu => ("no", say("no EU/EEA country in the case file", "案件文件中没有欧盟/欧洲经济区国家")),
        "gdpr33" if data => (
            "yes",
            say("personal data of people in the EU/EEA affected: ", "欧盟/欧洲经济区人员的个人数据受影响：") + &cats,
        ),
        "gdpr34" => (
            "check",
            say("decide whether the breach is likely to result in a high risk to the people concerned", "判断该事件是否可能给相关人员带来高风险"),
        ),
        "uk_gdpr" if !case.in_country("GB") => {
            ("no", say("the United Kingdom is not in the case file", "案件文件中没有英国"))
        }
        "uk_gdpr" if notice.what.en.starts_with("PECR") && !case.is("comms_provider") => (
            "no",
            say("not a public electronic communications provider", "不是公共电子通信服务提供者"),
        ),
        "uk_gdpr" if data => (
            "yes",
            say("personal data of people in the UK affected: ", "英国人员的个人数据受影响：") + &cats,
        ),
        "nis2" if !(eu && (case.is("nis2_essential") || case.is("nis2_important"))) => (
            "no",
            say("not an essential or important entity in the EU under the case file", "根据案件文件，不是欧盟 NIS2 下的基本或重要实体"),
        ),
        "nis2" => ("check", say("decide whether the incident is significant", "判断该事件是否属于重大事件")),
        "pipl57" if !case.in_country("CN") => ("no", say("China is not in the case file", "案件文件中没有中国")),
        "pipl57" if data => (
            "yes",
            say("personal information affected or possibly affected: ", "个人信息已经或可能受影响：") + &cats,
        ),
        "cn_measures" if !case.in_country("CN") => ("no", say("China is not in the case file", "案件文件中没有中国")),
        "cn_measures" => {
            let (kind, kind_zh) = if case.is("cii") {
                ("critical information infrastructure operator", "关键信息基础设施运营者")
            } else if case.is("central_organ") {
                ("central or state organ", "中央和国家机关")
            } else {
                ("other operator", "其他网络运营者")
            };
            let summary = notice.what.en.starts_with("summary");
            if !summary && !notice.what.en.contains(kind) {
                return (
                    "no",
                    if zh { format!("根据案件文件，该单位属于{kind_zh}") } else { format!("the case file makes the organisation a {kind}") },
                );
            }
            match case.data.subjects {
                Some(n) if n >= 1_000_000 => ("yes", if zh { format!("涉及 {n} 人的个人信息：达到较大及以上级别") } else { format!("{n} people's personal information: graded 较大 or above") }),
                _ => ("check", say("applies when the incident is graded 较大 or above (e.g. personal information of 1 million people or more)", "事件达到较大及以上级别时适用（如涉及 100 万人以上个人信息）")),
            }
        }
        "hipaa" if case.data.health_information => {
            ("yes", say("protected health information affected", "受保护的健康信息受影响"))
        }
        "hipaa" if case.is("hipaa_covered") => (
            "check",
            say("covered entity: decide whether unsecured protected health information was affected", "受 HIPAA 约束的实体：判断未加密的受保护健康信息是否受影响"),
        ),
        "hipaa" => (
            "no",
            say("no protected health information and not a covered entity", "不涉及受保护健康信息，且不是受 HIPAA 约束的实体"),
        ),
        "sec_8k" if !case.is("public_company") => ("no", say("not a public company", "不是上市公司")),
        "sec_8k" => (
            "check",
            say("decide (without unreasonable delay) whether the incident is material", "（不得无故拖延）判断事件是否重大"),
        ),
        "california" if case.data.california_residents || case.in_country("US-CA") => (
            "yes",
            say("California residents' personal information (mail account credentials count)", "涉及加州居民的个人信息（邮箱账户凭据即属此类）"),
        ),
        "california" => ("no", say("no California residents in the case file", "案件文件中没有加州居民")),
        _ => ("check", r.applies_if.get(lang).to_string()),
    }
}

/// Every notice of every regime, judged at `now`: with a case file, whether it applies and
/// from which of its clocks; otherwise "check", clocks from `detected` (the earliest
/// detection).
pub fn obligations(
    detected: DateTime<Utc>,
    now: DateTime<Utc>,
    case: Option<&Case>,
    lang: Lang,
) -> Vec<Obligation> {
    let zh = lang == Lang::Zh;
    let mut out = Vec::new();
    for r in regimes() {
        let anchor_name = r.anchor.get(lang);
        for notice in &r.notices {
            let (applies, because) = match case {
                Some(c) => decide(&r, notice, c, lang),
                None => ("check", r.applies_if.get(lang).to_string()),
            };
            let given = case.and_then(|c| c.clock(notice.anchor_key));
            // A materiality determination or the end of handling has no stand-in: no
            // deadline until the case file gives it.
            let needs_own = matches!(notice.anchor_key, "materiality" | "handling_ended");
            let (anchor_at, anchor) = match (given, needs_own, zh) {
                (Some(t), _, false) => (Some(t), format!("{anchor_name} (case file)")),
                (Some(t), _, true) => (Some(t), format!("{anchor_name}（案件文件）")),
                (None, false, false) => (
                    Some(detected),
                    format!("{anchor_name} — taken as the earliest detection until a case file gives it"),
                ),
                (None, false, true) => (
                    Some(detected),
                    format!("{anchor_name}——在案件文件给出之前按最早检测时间计"),
                ),
                (None, true, false) => (None, format!("{anchor_name} — not given yet")),
                (None, true, true) => (None, format!("{anchor_name}——尚未给出")),
            };
            let due_at = anchor_at.and_then(|a| due(a, notice.clock));
            let hours = match (due_at, anchor_at) {
                (Some(d), _) => (d - now).num_hours(),
                (None, Some(a)) => (now - a).num_hours(),
                (None, None) => 0,
            };
            out.push(Obligation {
                regime: r.id,
                name: r.name.get(lang),
                what: notice.what.get(lang),
                applies,
                because,
                anchor,
                anchor_at: anchor_at
                    .map(|a| a.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                due: due_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                no_deadline: match (anchor_at.is_none(), zh) {
                    (true, false) => "when its anchor is known",
                    (true, true) => "起算点确定后计算",
                    (false, false) => "immediately",
                    (false, true) => "立即",
                },
                hours,
                lang,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn due_of(id: &str, what: &str, anchor: &str) -> Option<String> {
        let r = regimes().into_iter().find(|r| r.id == id).unwrap();
        let n = r.notices.iter().find(|n| n.what.en.contains(what)).unwrap();
        due(at(anchor), n.clock).map(|d| d.to_rfc3339())
    }

    #[test]
    fn hour_day_and_month_clocks() {
        let a = "2026-03-03T18:14:07+00:00";
        assert_eq!(
            due_of("gdpr33", "authority", a).unwrap(),
            "2026-03-06T18:14:07+00:00"
        );
        assert_eq!(
            due_of("nis2", "early warning", a).unwrap(),
            "2026-03-04T18:14:07+00:00"
        );
        assert_eq!(
            due_of("nis2", "incident notification", a).unwrap(),
            "2026-03-06T18:14:07+00:00"
        );
        assert_eq!(
            due_of("nis2", "final report", a).unwrap(),
            "2026-04-03T18:14:07+00:00"
        );
        // A month from 31 January ends with February.
        assert_eq!(
            due_of("nis2", "final report", "2026-01-31T10:00:00+00:00").unwrap(),
            "2026-02-28T10:00:00+00:00"
        );
        assert_eq!(
            due_of("cn_measures", "critical", a).unwrap(),
            "2026-03-03T19:14:07+00:00"
        );
        assert_eq!(
            due_of("cn_measures", "central", a).unwrap(),
            "2026-03-03T20:14:07+00:00"
        );
        assert_eq!(
            due_of("cn_measures", "other operator", a).unwrap(),
            "2026-03-03T22:14:07+00:00"
        );
        assert_eq!(
            due_of("hipaa", "individuals", a).unwrap(),
            "2026-05-02T18:14:07+00:00"
        );
        assert_eq!(due_of("pipl57", "立即", a), None);
    }

    #[test]
    fn sec_business_days_skip_weekends_and_federal_holidays() {
        // Materiality determined Thursday 2 July 2026: Friday 3 July is Independence Day
        // observed (4 July is a Saturday), then the weekend: Mon 6, Tue 7, Wed 8, Thu 9 July.
        // Due 17:30 in New York (EDT, UTC-4).
        assert_eq!(
            due_of("sec_8k", "8-K", "2026-07-02T15:00:00+00:00").unwrap(),
            "2026-07-09T21:30:00+00:00"
        );
        // Thanksgiving (26 November 2026) and the weekend after a Wednesday determination:
        // Fri 27, Mon 30 Nov, Tue 1, Wed 2 Dec; 17:30 EST is 22:30 UTC.
        assert_eq!(
            due_of("sec_8k", "8-K", "2026-11-25T20:00:00+00:00").unwrap(),
            "2026-12-02T22:30:00+00:00"
        );
        for (d, holiday) in [
            ("2026-01-19", true), // MLK Day
            ("2026-05-25", true), // Memorial Day (last Monday)
            ("2026-06-19", true), // Juneteenth
            ("2027-12-31", true), // New Year's Day 2028 (a Saturday) observed
            ("2026-03-03", false),
        ] {
            assert_eq!(us_federal_holiday(d.parse().unwrap()), holiday, "{d}");
        }
    }

    fn case(text: &str) -> Case {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("case.toml");
        std::fs::write(&p, text).unwrap();
        Case::load(&p).unwrap()
    }

    #[test]
    fn a_case_file_decides_which_regimes_apply_and_sets_their_clocks() {
        let c = case(
            r#"
[organisation]
name = "Oceanlab Research Centre"
countries = ["CN", "DE"]
sector = ["cii"]
[clocks]
awareness = "2026-03-04T09:30:00+08:00"
discovery = "2026-03-04T09:00:00+08:00"
[data]
categories = ["mail content", "account credentials"]
subjects = 120
"#,
        );
        let o = obligations(
            at("2026-03-03T14:10:04Z"),
            at("2026-03-04T12:00:00Z"),
            Some(&c),
            Lang::En,
        );
        let get = |id: &str, what: &str| {
            o.iter()
                .find(|x| x.regime == id && x.what.contains(what))
                .unwrap()
        };
        // Germany: GDPR applies, from the case file's awareness (01:30 UTC).
        let g = get("gdpr33", "authority");
        assert_eq!(
            (g.applies, g.due.as_deref()),
            ("yes", Some("2026-03-07T01:30:00Z"))
        );
        assert!(g.anchor.contains("case file"));
        // China, a CII operator: the 1-hour report (to be graded), not the 2- or 4-hour ones.
        assert_eq!(get("cn_measures", "critical").applies, "check");
        assert_eq!(
            get("cn_measures", "critical").due.as_deref(),
            Some("2026-03-04T02:00:00Z")
        );
        assert_eq!(get("cn_measures", "central").applies, "no");
        assert_eq!(get("cn_measures", "other operator").applies, "no");
        assert_eq!(get("pipl57", "立即").applies, "yes");
        // Not a public company, no UK, no health data, no Californians.
        for id in ["sec_8k", "uk_gdpr", "hipaa", "california", "nis2"] {
            assert!(
                o.iter()
                    .filter(|x| x.regime == id)
                    .all(|x| x.applies == "no"),
                "{id}"
            );
        }
        // The 30-day summary runs from the end of handling, which is not given yet.
        let s = get("cn_measures", "summary");
        assert_eq!(
            (s.due.as_deref(), s.no_deadline),
            (None, "when its anchor is known")
        );
    }

    #[test]
    fn a_case_file_with_an_unknown_sector_status_or_a_bad_time_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("case.toml");
        std::fs::write(&p, "[organisation]\nsector = [\"bank\"]\n").unwrap();
        assert!(Case::load(&p).is_err());
        std::fs::write(&p, "[clocks]\nawareness = \"yesterday\"\n").unwrap();
        assert!(Case::load(&p).is_err());
        std::fs::write(&p, "[incident]\nstatus = \"fixed\"\n").unwrap();
        let e = format!("{:#}", Case::load(&p).unwrap_err());
        assert!(e.contains("unknown incident status"), "{e}");
        std::fs::write(&p, "[incident]\nstatus = \"contained\"\n").unwrap();
        assert_eq!(
            Case::load(&p).unwrap().incident.status.as_deref(),
            Some("contained")
        );
    }

    #[test]
    fn without_a_case_file_every_regime_is_check_and_says_its_anchor() {
        let o = obligations(
            at("2026-03-03T18:14:07Z"),
            at("2026-03-04T18:14:07Z"),
            None,
            Lang::En,
        );
        assert!(o.iter().all(|x| x.applies == "check"));
        let g = o.iter().find(|x| x.regime == "gdpr33").unwrap();
        assert_eq!(g.hours, 48);
        let p = o.iter().find(|x| x.regime == "pipl57").unwrap();
        assert_eq!((p.due.as_deref(), p.hours), (None, 24));
        let c = o
            .iter()
            .find(|x| x.what.contains("other operator"))
            .unwrap();
        assert_eq!(c.hours, -20);
        // A materiality determination and the end of handling have no stand-in.
        for x in &o {
            let own = x.regime == "sec_8k" || x.what.starts_with("summary");
            assert_eq!(x.anchor.contains("not given yet"), own, "{}", x.what);
            assert_eq!(x.anchor.contains("earliest detection"), !own, "{}", x.what);
        }
    }
}
