//! Draft notifications: for every regime that may apply, the content its law requires
//! (the regimes and their content are listed in `docs/report.md`), each field filled and labelled with where its
//! value came from — *from evidence* (naming the findings, `F1`…, it rests on), *from the case
//! file*, or *to be supplied* by the responder (with a hint where the evidence suggests one).
//! Chinese regimes' drafts are in Chinese; the others in the report's language. No draft
//! suggests sending a notice or a new password to a mailbox that was taken over: drafts that
//! reach individuals carry a channel field saying so, naming the accounts.
//!
//! To add a regime's draft: a branch in [`draft`] listing its fields with [`Field`]'s
//! constructors; the facts it can use are in [`Facts`].

use serde::Serialize;

use super::case::Case;
use super::compliance::Obligation;
use super::Lang;

/// Where a field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Computed from the findings (see `refs`).
    Evidence,
    /// Given in the case file.
    Case,
    /// Only the responder can give it.
    Supply,
}

impl Source {
    /// The label printed beside the value.
    pub fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, Source::Evidence) => "from evidence",
            (Lang::En, Source::Case) => "from the case file",
            (Lang::En, Source::Supply) => "to be supplied",
            (Lang::Zh, Source::Evidence) => "来自证据",
            (Lang::Zh, Source::Case) => "来自案件文件",
            (Lang::Zh, Source::Supply) => "待补充",
        }
    }
}

/// One required item of a notice.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// What the law asks for (with its article point).
    pub label: String,
    /// The value, or for [`Source::Supply`] what to give (and a hint from the evidence).
    pub value: String,
    /// Where the value came from.
    pub source: Source,
    /// Findings (`F3`) the value rests on.
    pub refs: Vec<String>,
}

/// A draft notice of one regime.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    /// Regime id.
    pub regime: &'static str,
    /// Heading.
    pub title: String,
    /// Language of the draft.
    pub lang: Lang,
    /// `yes` or `check` (regimes that do not apply get no draft).
    pub applies: &'static str,
    /// Every field.
    pub fields: Vec<Field>,
}

/// What the evidence says, ready for the drafts. `refs` are finding ids (`F1`).
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// First and last time of any log finding, with the findings that set them.
    pub first: Option<(String, Vec<String>)>,
    /// Last time.
    pub last: Option<(String, Vec<String>)>,
    /// Accounts taken over or abused.
    pub accounts: (Vec<String>, Vec<String>),
    /// Attacking addresses.
    pub attackers: (Vec<String>, Vec<String>),
    /// Rule ids that fired (for the vector), with refs.
    pub vectors: Vec<(&'static str, Vec<String>)>,
    /// Planted configuration entries: count and refs.
    pub persistence: (usize, Vec<String>),
    /// Messages sent in bulk by abused logins.
    pub bulk: (u64, Vec<String>),
    /// Messages seen copied to outside addresses.
    pub copied: (u64, Vec<String>),
    /// Signs of log tampering.
    pub tampering: (usize, Vec<String>),
    /// Host names from custody records.
    pub hosts: Vec<String>,
    /// Bundle hashes with the number of problems verification found.
    pub bundles: Vec<(String, usize)>,
    /// Proposed measures: the isolate and clean steps the findings call for, (en, zh).
    pub measures: Vec<(String, String)>,
    /// Findings by severity, as text.
    pub severity: String,
    /// What was accessed, per mailbox, with the findings that say so.
    pub accessed: Vec<super::impact::Impact>,
}

impl Field {
    fn evidence(label: impl Into<String>, value: String, refs: &[String]) -> Field {
        Field {
            label: label.into(),
            value,
            source: Source::Evidence,
            refs: refs.to_vec(),
        }
    }

    fn supply(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            label: label.into(),
            value: value.into(),
            source: Source::Supply,
            refs: Vec::new(),
        }
    }

    /// From the case file when it has `v`, else to be supplied with `ask`.
    fn case(label: impl Into<String>, v: Option<String>, ask: &str) -> Field {
        match v.filter(|v| !v.is_empty()) {
            Some(v) => Field {
                label: label.into(),
                value: v,
                source: Source::Case,
                refs: Vec::new(),
            },
            None => Field::supply(label, ask),
        }
    }
}

fn t(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    }
}

/// Up to 10 names, then how many more.
fn few(v: &[String]) -> String {
    first_names(v, 10)
}

/// The first `n` names, then how many more (`a, b (+3)`).
pub fn first_names(v: &[String], n: usize) -> String {
    let mut s = v.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > n {
        s.push_str(&format!(" (+{})", v.len() - n));
    }
    s
}

fn refs_of(parts: &[&[String]]) -> Vec<String> {
    let mut v: Vec<String> = parts.iter().flat_map(|p| p.iter().cloned()).collect();
    v.sort_by_key(|r| r.trim_start_matches('F').parse::<u64>().unwrap_or(u64::MAX));
    v.dedup();
    v
}

impl Facts {
    fn span(&self, lang: Lang) -> String {
        match (&self.first, &self.last) {
            (Some((a, _)), Some((b, _))) => match lang {
                Lang::En => format!("{a} to {b} (UTC)"),
                Lang::Zh => format!("{a} 至 {b}（UTC）"),
            },
            _ => t(lang, "no log finding gives a time", "日志发现未给出时间"),
        }
    }

    fn span_refs(&self) -> Vec<String> {
        let a = self.first.as_ref().map(|f| f.1.as_slice()).unwrap_or(&[]);
        let b = self.last.as_ref().map(|f| f.1.as_slice()).unwrap_or(&[]);
        refs_of(&[a, b])
    }

    /// What happened, in one paragraph, and the findings it rests on.
    pub fn story(&self, lang: Lang) -> (String, Vec<String>) {
        let host = if self.hosts.is_empty() {
            t(lang, "the mail server", "邮件服务器")
        } else {
            match lang {
                Lang::En if self.hosts.len() > 1 => {
                    format!("the mail servers {}", few(&self.hosts))
                }
                Lang::En => format!("the mail server {}", few(&self.hosts)),
                Lang::Zh => format!("邮件服务器 {}", few(&self.hosts)),
            }
        };
        let mut parts = Vec::new();
        let (ips, accounts) = (&self.attackers.0, &self.accounts.0);
        if !ips.is_empty() {
            parts.push(match lang {
                Lang::En => format!(
                    "{} address(es) probed it or guessed passwords ({})",
                    ips.len(),
                    few(ips)
                ),
                Lang::Zh => format!("{} 个地址对其进行探测或密码猜解（{}）", ips.len(), few(ips)),
            });
        }
        if !accounts.is_empty() {
            parts.push(match lang {
                Lang::En => format!("the account(s) {} were taken over or abused", few(accounts)),
                Lang::Zh => format!("账户 {} 被盗用或滥用", few(accounts)),
            });
        }
        if self.persistence.0 > 0 {
            parts.push(match lang {
                Lang::En => format!(
                    "{} planted configuration entr(ies) forward, copy or divert mail",
                    self.persistence.0
                ),
                Lang::Zh => format!(
                    "发现 {} 处植入的配置条目（转发、密送或改道邮件）",
                    self.persistence.0
                ),
            });
        }
        if self.copied.0 > 0 {
            parts.push(match lang {
                Lang::En => format!(
                    "{} message(s) were seen copied to outside addresses",
                    self.copied.0
                ),
                Lang::Zh => format!("{} 封邮件被复制到外部地址", self.copied.0),
            });
        }
        if self.bulk.0 > 0 {
            parts.push(match lang {
                Lang::En => format!(
                    "{} deliveries were sent in bulk through abused logins",
                    self.bulk.0
                ),
                Lang::Zh => format!("被盗账户批量发送了 {} 次投递", self.bulk.0),
            });
        }
        if let Some(part) = self.accessed_part(lang) {
            parts.push(part);
        }
        if self.tampering.0 > 0 {
            parts.push(match lang {
                Lang::En => format!("{} sign(s) of log tampering", self.tampering.0),
                Lang::Zh => format!("发现 {} 处日志篡改迹象", self.tampering.0),
            });
        }
        let text = match lang {
            Lang::En if parts.is_empty() => format!(
                "From {}, no attack on {host} was found in the evidence.",
                self.span(lang)
            ),
            Lang::En => format!(
                "From {}, {host} {} attacked: {}.",
                self.span(lang),
                if self.hosts.len() > 1 { "were" } else { "was" },
                parts.join("; ")
            ),
            Lang::Zh if parts.is_empty() => {
                format!("{} 期间，证据中未发现针对{host}的攻击。", self.span(lang))
            }
            Lang::Zh => format!(
                "{} 期间，{host}遭到攻击：{}。",
                self.span(lang),
                parts.join("；")
            ),
        };
        let refs = refs_of(&[
            &self.span_refs(),
            &self.attackers.1,
            &self.accounts.1,
            &self.persistence.1,
            &self.copied.1,
            &self.bulk.1,
            &self.tampering.1,
            &self.accessed_refs(),
        ]);
        (text, refs)
    }

    /// The findings the accessed mailboxes rest on.
    fn accessed_refs(&self) -> Vec<String> {
        let mut refs: Vec<String> = self.accessed.iter().flat_map(|a| a.refs.clone()).collect();
        refs.sort_by_key(|r| r.trim_start_matches('F').parse::<u64>().unwrap_or(u64::MAX));
        refs.dedup();
        refs
    }

    /// "3,433 message(s) were read from 1 mailbox(es) (liwei); 97 were deleted".
    fn accessed_part(&self, lang: Lang) -> Option<String> {
        use super::impact::{group, range, totals};
        if self.accessed.is_empty() {
            return None;
        }
        let (messages, least, deleted) = totals(&self.accessed);
        let names: Vec<String> = self.accessed.iter().map(|a| a.mailbox.clone()).collect();
        let n = names.len();
        let mut s = match (messages, lang) {
            (Some(m), Lang::En) => format!(
                "{} message(s) were read or downloaded from {n} mailbox(es) ({})",
                range(least, m),
                few(&names)
            ),
            (Some(m), Lang::Zh) => format!(
                "{n} 个邮箱（{}）中的 {} 封邮件被读取或下载",
                few(&names),
                range(least, m)
            ),
            (None, Lang::En) => format!("mail was read in {n} mailbox(es) ({})", few(&names)),
            (None, Lang::Zh) => format!("{n} 个邮箱（{}）中的邮件被读取", few(&names)),
        };
        if let Some(d) = deleted {
            s.push_str(&match lang {
                Lang::En => format!(" and {} deleted", group(d)),
                Lang::Zh => format!("，{} 封被删除", group(d)),
            });
        }
        Some(s)
    }

    /// The approximate number of records, from the findings when they count messages: the
    /// mailboxes with their counts and period.
    fn records(&self, lang: Lang) -> Option<(String, Vec<String>)> {
        use super::impact::{range, totals};
        let (Some(m), least, _) = totals(&self.accessed) else {
            return None;
        };
        let lines: Vec<String> = self
            .accessed
            .iter()
            .take(20)
            .map(|a| a.line(lang))
            .collect();
        let text = match lang {
            Lang::En => format!(
                "{} e-mail message(s) read or downloaded from {} mailbox(es) (the logs count each fetch: a range means some messages may have been fetched more than once) — {}; how many people these messages concern is to be supplied by the organisation",
                range(least, m),
                self.accessed.len(),
                lines.join("; ")
            ),
            Lang::Zh => format!(
                "{} 封邮件被读取或下载，涉及 {} 个邮箱（日志按每次获取计数：给出范围表示部分邮件可能被获取了不止一次）——{}；这些邮件涉及多少人需由机构补充",
                range(least, m),
                self.accessed.len(),
                lines.join("；")
            ),
        };
        Some((text, self.accessed_refs()))
    }

    /// How they got in, as far as the rules tell.
    fn vector(&self, lang: Lang) -> (String, Vec<String>) {
        let mut out = Vec::new();
        let mut refs = Vec::new();
        for (rule, r) in &self.vectors {
            let Some((en, zh, _)) = crate::detect::catalog::meta(rule).and_then(|m| m.vector)
            else {
                continue;
            };
            let phrase = match lang {
                Lang::En => en,
                Lang::Zh => zh,
            };
            if !out.contains(&phrase) {
                out.push(phrase);
            }
            refs.extend(r.iter().cloned());
        }
        if out.is_empty() {
            return (
                t(lang, "not established by the evidence", "证据尚不能确定"),
                Vec::new(),
            );
        }
        let sep = if lang == Lang::Zh { "；" } else { "; " };
        (out.join(sep), refs_of(&[&refs]))
    }

    fn measures(&self, lang: Lang) -> String {
        if self.measures.is_empty() {
            return t(
                lang,
                "none called for by the findings",
                "发现未要求处置步骤",
            );
        }
        let each: Vec<String> = self
            .measures
            .iter()
            .map(|(en, zh)| {
                let s = if lang == Lang::Zh { zh } else { en };
                first_sentence(s).trim_end_matches(['.', '。']).to_string()
            })
            .collect();
        match lang {
            Lang::En => format!("{}.", each.join("; ")),
            Lang::Zh => format!("{}。", each.join("；")),
        }
    }

    fn indicators(&self, lang: Lang) -> String {
        let mut v = Vec::new();
        if !self.attackers.0.is_empty() {
            v.push(format!(
                "{} {}",
                t(lang, "addresses", "地址"),
                few(&self.attackers.0)
            ));
        }
        if self.persistence.0 > 0 {
            v.push(match lang {
                Lang::En => format!(
                    "{} planted configuration entries (files and lines in the clean-up list)",
                    self.persistence.0
                ),
                Lang::Zh => format!(
                    "{} 处植入配置条目（文件和行号见清除清单）",
                    self.persistence.0
                ),
            });
        }
        if v.is_empty() {
            return t(lang, "none", "无");
        }
        v.join(if lang == Lang::Zh { "；" } else { "; " })
    }

    fn preserved(&self, lang: Lang) -> String {
        if self.bundles.is_empty() {
            return t(
                lang,
                "the logs were read as given, not from a mailir bundle: no custody record or bundle hash — collect one with `mailir collect`",
                "日志按原样读取，并非来自 mailir 证据包：无保管记录和证据包哈希——请用 `mailir collect` 采集",
            );
        }
        let each: Vec<String> = self
            .bundles
            .iter()
            .map(|(sha, problems)| match (lang, problems) {
                (Lang::En, 0) => format!("sha256 {sha} (verified intact)"),
                (Lang::En, n) => format!("sha256 {sha} ({n} problem(s) on verification)"),
                (Lang::Zh, 0) => format!("sha256 {sha}（校验完好）"),
                (Lang::Zh, n) => format!("sha256 {sha}（校验发现 {n} 处问题）"),
            })
            .collect();
        match lang {
            Lang::En => format!(
                "evidence preserved in mailir bundle(s): {}",
                each.join("; ")
            ),
            Lang::Zh => format!("证据已保存为 mailir 证据包：{}", each.join("；")),
        }
    }

    fn advice(&self, lang: Lang) -> String {
        t(
            lang,
            "change the password of the mail account — the new one is handed over in person or by phone, never by mail — and of every other account that used the same password; distrust mail that seems to come from the affected accounts during the period above; report anything odd to the contact point",
            "修改邮箱密码（新密码当面或电话告知，不通过邮件发送），并修改使用相同密码的其他账户；对上述期间看似来自受影响账户的邮件保持警惕；如有异常请联系下方联系人",
        )
    }

    fn channel(&self, lang: Lang) -> (String, Vec<String>) {
        let accounts = &self.accounts.0;
        let text = if accounts.is_empty() {
            t(
                lang,
                "do not send this notice, or any new password, to a mailbox on the breached server until it is clean; use post, phone or a notice at the next login",
                "在服务器清理完毕之前，不要把本通知或任何新密码发送到受影响服务器上的邮箱；请使用信件、电话或下次登录时的提示",
            )
        } else {
            match lang {
                Lang::En => format!("never to the mailboxes taken over ({}): neither this notice nor a new password; use post, phone, or a notice shown at their next login from an address they usually use", few(accounts)),
                Lang::Zh => format!("不得发送到被盗用的邮箱（{}）：本通知和新密码都不得发送；请使用信件、电话，或在其从常用地址下次登录时显示提示", few(accounts)),
            }
        };
        (text, self.accounts.1.clone())
    }
}

/// The text up to the end of its first sentence.
fn first_sentence(s: &str) -> String {
    let cut = s
        .char_indices()
        .find(|&(i, c)| c == '。' || (c == '.' && s[i + 1..].starts_with(' ')))
        .map(|(i, c)| i + c.len_utf8());
    s[..cut.unwrap_or(s.len())].trim().to_string()
}

/// Whether a regime gets a draft, and its verdict: `yes` when a notice applies, `check`
/// when one may; regimes where every notice is `no` get none.
fn verdict(regime: &str, duties: &[Obligation]) -> Option<&'static str> {
    let of: Vec<&Obligation> = duties.iter().filter(|o| o.regime == regime).collect();
    if of.iter().any(|o| o.applies == "yes") {
        Some("yes")
    } else if of.iter().any(|o| o.applies == "check") {
        Some("check")
    } else {
        None
    }
}

/// The drafts for the duties judged (`lang`: the report's language; Chinese regimes are
/// always in Chinese).
pub fn drafts(facts: &Facts, duties: &[Obligation], case: Option<&Case>, lang: Lang) -> Vec<Draft> {
    let mut ids: Vec<&'static str> = duties.iter().map(|o| o.regime).collect();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| {
            let applies = verdict(id, duties)?;
            let lang = if matches!(id, "pipl57" | "cn_measures") {
                Lang::Zh
            } else {
                lang
            };
            let name = duties
                .iter()
                .find(|o| o.regime == id)
                .map(|o| o.name)
                .unwrap_or(id);
            Some(Draft {
                regime: id,
                title: name.to_string(),
                lang,
                applies,
                fields: draft(id, facts, case, lang),
            })
        })
        .collect()
}

/// The case file's value at `get`, if any.
fn from_case(case: Option<&Case>, get: impl Fn(&Case) -> Option<String>) -> Option<String> {
    case.and_then(get)
}

fn org(case: Option<&Case>) -> Option<String> {
    from_case(case, |c| c.organisation.name.clone())
}

fn contact(case: Option<&Case>) -> Option<String> {
    from_case(case, |c| {
        let o = &c.organisation;
        match (&o.dpo, &o.contact) {
            (Some(d), Some(c)) if d != c => Some(format!("{d}; {c}")),
            (Some(d), _) => Some(d.clone()),
            (None, Some(c)) => Some(c.clone()),
            (None, None) => None,
        }
    })
}

fn categories(case: Option<&Case>) -> Option<String> {
    from_case(case, |c| {
        (!c.data.categories.is_empty()).then(|| c.data.categories.join(", "))
    })
}

fn subjects(case: Option<&Case>) -> Option<String> {
    from_case(case, |c| c.data.subjects.map(|n| format!("~{n}")))
}

fn anchor(case: Option<&Case>, key: &str) -> Option<String> {
    from_case(case, |c| {
        c.clock(key)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    })
}

/// The fields of regime `id`'s draft.
/// The number of records: from the evidence when findings count the messages read, else to
/// be supplied.
fn records_field(label: String, f: &Facts, lang: Lang) -> Field {
    match f.records(lang) {
        Some((text, refs)) => Field::evidence(label, text, &refs),
        None => Field::supply(
            label,
            t(
                lang,
                "messages and records in the affected mailboxes during the period",
                "该期间受影响邮箱中的邮件及记录数",
            ),
        ),
    }
}

fn draft(id: &str, f: &Facts, case: Option<&Case>, lang: Lang) -> Vec<Field> {
    let (story, story_refs) = f.story(lang);
    let (vector, vector_refs) = f.vector(lang);
    let (channel, channel_refs) = f.channel(lang);
    let span = Field::evidence(
        t(lang, "dates of the breach", "事件发生时间"),
        f.span(lang),
        &f.span_refs(),
    );
    let measures = Field::evidence(
        t(
            lang,
            "measures proposed (the playbook steps the findings call for)",
            "拟采取的措施（发现所要求的处置步骤）",
        ),
        f.measures(lang),
        &[],
    );
    let taken = Field::supply(
        t(
            lang,
            "measures taken so far, with times",
            "已采取的措施及时间",
        ),
        t(
            lang,
            "what was done and when (isolation, password resets, removals)",
            "已做的处置及时间（隔离、重置密码、删除植入条目）",
        ),
    );
    let accounts_hint = if f.accounts.0.is_empty() {
        String::new()
    } else {
        match lang {
            Lang::En => format!(
                " — at least the mail and credentials of {} account(s) ({})",
                f.accounts.0.len(),
                few(&f.accounts.0)
            ),
            Lang::Zh => format!(
                "——至少包括 {} 个账户的邮件和凭据（{}）",
                f.accounts.0.len(),
                few(&f.accounts.0)
            ),
        }
    };
    let cats = Field::case(
        t(lang, "categories of data", "信息种类"),
        categories(case),
        &(t(
            lang,
            "the categories of personal data confirmed affected",
            "确认受影响的个人信息种类",
        ) + &accounts_hint),
    );
    let contact_field = Field::case(
        t(lang, "contact point (DPO)", "联系方式"),
        contact(case),
        &t(
            lang,
            "name and contact details of the DPO or contact point",
            "个人信息保护负责人的联系方式",
        ),
    );
    let consequences = Field::supply(
        t(lang, "likely consequences", "可能造成的危害"),
        t(
            lang,
            "an assessment; the evidence shows the attacker could read and send mail as the accounts above",
            "需评估；证据显示攻击者能够以上述账户身份读取和发送邮件",
        ),
    );
    match id {
        "gdpr33" | "uk_gdpr" => vec![
            Field::case(t(lang, "controller", "控制者"), org(case), &t(lang, "legal name of the controller", "控制者名称")),
            Field::evidence(t(lang, "Art. 33(3)(a) nature of the breach", "第 33(3)(a) 条 违规性质"), story, &story_refs),
            span,
            Field::evidence(t(lang, "how it happened", "发生方式"), vector, &vector_refs),
            cats,
            Field::case(t(lang, "Art. 33(3)(a) approximate number of data subjects", "第 33(3)(a) 条 数据主体大致数量"), subjects(case), &t(lang, "approximate number of people affected (a range is allowed)", "受影响人数（可为范围）")),
            records_field(t(lang, "Art. 33(3)(a) approximate number of records", "第 33(3)(a) 条 记录大致数量"), f, lang),
            Field::case(t(lang, "date of awareness", "知悉时间"), anchor(case, "awareness"), &t(lang, "when the organisation became aware (the 72 h run from it)", "机构知悉时间（72 小时由此起算）")),
            contact_field,
            consequences,
            measures,
            taken,
            Field::supply(t(lang, "reasons for any delay beyond 72 h", "超过 72 小时的原因"), t(lang, "required if notified after 72 h", "超过 72 小时通报时必填")),
        ],
        "gdpr34" => vec![
            Field::evidence(t(lang, "what happened (plain language)", "发生了什么"), story, &story_refs),
            span,
            contact_field,
            consequences,
            measures,
            Field::evidence(t(lang, "what you can do", "您可以采取的措施"), f.advice(lang), &[]),
            Field::evidence(t(lang, "channel", "通知渠道"), channel, &channel_refs),
        ],
        "nis2" => vec![
            Field::case(t(lang, "entity", "实体"), org(case), &t(lang, "entity name and NIS2 sector", "实体名称及 NIS2 行业")),
            Field::evidence(t(lang, "(a) early warning: suspected unlawful or malicious act", "(a) 早期预警：是否涉嫌违法或恶意行为"), t(lang, "yes — deliberate attack: ", "是——蓄意攻击：") + &vector, &vector_refs),
            Field::supply(t(lang, "(a) early warning: cross-border impact", "(a) 早期预警：跨境影响"), t(lang, "whether services or people in other member states are affected", "其他成员国的服务或人员是否受影响")),
            Field::evidence(t(lang, "(b) notification: initial assessment, severity and impact", "(b) 事件通报：初步评估、严重程度和影响"), format!("{} {}", f.severity, story), &story_refs),
            Field::evidence(t(lang, "(b) notification: indicators of compromise", "(b) 事件通报：入侵指标"), f.indicators(lang), &refs_of(&[&f.attackers.1, &f.persistence.1])),
            Field::evidence(t(lang, "(d) final report: root cause", "(d) 最终报告：根本原因"), vector, &vector_refs),
            measures,
            taken,
        ],
        "pipl57" => vec![
            Field::case("个人信息处理者".to_string(), org(case), "个人信息处理者名称"),
            cats,
            Field::evidence("（一）原因".to_string(), vector, &vector_refs),
            Field::evidence("（一）事件经过".to_string(), story, &story_refs),
            consequences,
            measures,
            taken,
            Field::evidence("（二）个人可以采取的减轻危害的措施".to_string(), f.advice(Lang::Zh), &[]),
            contact_field,
            Field::evidence("通知渠道".to_string(), channel, &channel_refs),
        ],
        "cn_measures" => vec![
            Field::case("（一）事发单位名称".to_string(), org(case), "事发单位名称"),
            Field::evidence("（一）发生事件的系统基本情况".to_string(), if f.hosts.is_empty() { "邮件服务器（主机名见证据包保管记录）".to_string() } else { format!("邮件服务器 {}", few(&f.hosts)) }, &[]),
            Field::evidence("（二）事件发现或发生时间".to_string(), f.span(Lang::Zh), &f.span_refs()),
            Field::case("（二）发现时间".to_string(), anchor(case, "discovery"), "发现或获知事件的时间（时限由此起算）"),
            Field::supply("（二）地点".to_string(), "服务器所在地点及机房"),
            Field::evidence("（二）事件类型".to_string(), "网络攻击事件：邮件账户被盗用".to_string() + if f.persistence.0 > 0 { "，并植入邮件转发/密送" } else { "" }, &refs_of(&[&f.accounts.1, &f.persistence.1])),
            Field::case("（二）事件级别".to_string(), from_case(case, |c| c.data.subjects.map(|n| format!("涉及约 {n} 人个人信息；{}", if n >= 1_000_000 { "达到较大及以上" } else { "低于较大（100 万人）门槛，需按分级指南研判" }))), "按《网络安全事件分级指南》研判的级别"),
            Field::evidence("（二）已造成的影响和危害".to_string(), story, &story_refs),
            taken,
            Field::supply("（三）事态发展趋势及可能造成的进一步影响".to_string(), "需评估"),
            Field::evidence("（四）原因初步分析".to_string(), vector, &vector_refs),
            Field::evidence("（五）调查线索（攻击者信息、攻击路径、存在的漏洞）".to_string(), f.indicators(Lang::Zh), &refs_of(&[&f.attackers.1, &f.persistence.1])),
            measures,
            Field::supply("（六）请求支援事项".to_string(), "如需支援请列明"),
            Field::evidence("（七）现场保护情况".to_string(), f.preserved(Lang::Zh), &[]),
            Field::supply("（八）其他应当报告的情况".to_string(), "如有"),
        ],
        "hipaa" => vec![
            Field::evidence(t(lang, "(A) what happened", "(A) 发生了什么"), story, &story_refs),
            span,
            Field::case(t(lang, "(A) date of discovery", "(A) 发现日期"), anchor(case, "discovery"), &t(lang, "date the breach was discovered", "发现日期")),
            Field::case(t(lang, "(B) types of unsecured PHI involved", "(B) 涉及的健康信息类型"), categories(case), &t(lang, "types of protected health information", "受保护健康信息的类型")),
            Field::evidence(t(lang, "(C) steps individuals should take", "(C) 个人应采取的措施"), f.advice(lang), &[]),
            measures,
            Field::case(t(lang, "(E) contact procedures (toll-free number, email, website or postal address)", "(E) 联系方式"), contact(case), &t(lang, "toll-free number, email, website or postal address", "免费电话、电子邮件、网站或邮寄地址")),
            Field::evidence(t(lang, "channel", "通知渠道"), channel, &channel_refs),
        ],
        "sec_8k" => vec![
            Field::case(t(lang, "registrant", "注册人"), org(case), &t(lang, "registrant name", "注册人名称")),
            Field::evidence(t(lang, "nature and scope of the incident", "事件性质和范围"), story, &story_refs),
            span,
            Field::case(t(lang, "date materiality was determined", "认定重大性的日期"), anchor(case, "materiality"), &t(lang, "when the incident was determined material (the four business days run from it)", "认定为重大事件的时间（四个工作日由此起算）")),
            Field::supply(t(lang, "material impact on the registrant", "对注册人的重大影响"), t(lang, "financial condition and results of operations, or reasonably likely impact; say what is not yet known", "财务状况和经营成果的影响；说明尚未知晓的部分")),
        ],
        "california" => vec![
            Field::case(t(lang, "business", "企业"), org(case), &t(lang, "name of the business", "企业名称")),
            Field::evidence(t(lang, "What Happened", "发生了什么"), story, &story_refs),
            span,
            Field::case(t(lang, "What Information Was Involved", "涉及哪些信息"), categories(case), &(t(lang, "the personal information involved; an email address with its password counts", "涉及的个人信息；邮箱地址及其密码即属此类") + &accounts_hint)),
            measures,
            Field::evidence(t(lang, "What You Can Do", "您可以做什么"), f.advice(lang), &[]),
            Field::case(t(lang, "For More Information", "更多信息"), contact(case), &t(lang, "contact of the business", "企业联系方式")),
            Field::supply(t(lang, "notice delayed by law enforcement?", "是否因执法机关要求而延迟"), t(lang, "yes or no", "是或否")),
            Field::evidence(t(lang, "channel", "通知渠道"), channel, &channel_refs),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            first: Some(("2026-03-03T18:00:00Z".into(), vec!["F1".into()])),
            last: Some(("2026-03-04T02:00:00Z".into(), vec!["F9".into()])),
            accounts: (vec!["alice@lab.example".into()], vec!["F4".into()]),
            attackers: (vec!["203.0.113.9".into()], vec!["F2".into()]),
            vectors: vec![("auth.compromised_account", vec!["F4".into()])],
            persistence: (2, vec!["F6".into(), "F7".into()]),
            ..Facts::default()
        }
    }

    fn duty(regime: &'static str, applies: &'static str) -> Obligation {
        Obligation {
            regime,
            name: regime,
            what: "",
            applies,
            because: String::new(),
            anchor: String::new(),
            anchor_at: String::new(),
            due: None,
            no_deadline: "",
            hours: 0,
            lang: Lang::En,
        }
    }

    #[test]
    fn chinese_regimes_are_drafted_in_chinese_and_no_regime_is_drafted_when_it_does_not_apply() {
        let duties = [
            duty("gdpr33", "no"),
            duty("pipl57", "check"),
            duty("cn_measures", "no"),
            duty("cn_measures", "yes"),
        ];
        let d = drafts(&facts(), &duties, None, Lang::En);
        let ids: Vec<_> = d.iter().map(|d| (d.regime, d.applies, d.lang)).collect();
        assert_eq!(
            ids,
            [
                ("pipl57", "check", Lang::Zh),
                ("cn_measures", "yes", Lang::Zh)
            ]
        );
        let story = d[0]
            .fields
            .iter()
            .find(|f| f.label == "（一）事件经过")
            .unwrap();
        assert!(
            story.value.contains("账户 alice@lab.example 被盗用"),
            "{}",
            story.value
        );
        assert_eq!(story.source, Source::Evidence);
        assert_eq!(story.refs, ["F1", "F2", "F4", "F6", "F7", "F9"]);
    }

    #[test]
    fn every_field_is_labelled_and_the_case_file_fills_what_it_knows() {
        let case: Case = toml::from_str(
            "[organisation]\nname = \"Oceanlab\"\ndpo = \"dpo@oceanlab.example\"\n[data]\ncategories = [\"mail content\"]\n",
        )
        .unwrap();
        let d = drafts(&facts(), &[duty("gdpr33", "yes")], Some(&case), Lang::En);
        let field = |l: &str| d[0].fields.iter().find(|f| f.label.contains(l)).unwrap();
        assert_eq!(field("controller").source, Source::Case);
        assert_eq!(field("controller").value, "Oceanlab");
        assert_eq!(field("DPO").value, "dpo@oceanlab.example");
        assert_eq!(field("categories").source, Source::Case);
        assert_eq!(field("number of data subjects").source, Source::Supply);
        assert_eq!(field("nature").source, Source::Evidence);
        assert!(field("how it happened")
            .value
            .contains("successful login after failures"));
        assert!(d[0].fields.iter().all(|f| !f.value.is_empty()));
    }

    #[test]
    fn notices_to_people_never_go_to_a_mailbox_taken_over() {
        for id in ["gdpr34", "pipl57", "hipaa", "california"] {
            let d = drafts(&facts(), &[duty(id, "check")], None, Lang::En);
            let ch = d[0]
                .fields
                .iter()
                .find(|f| f.label.contains("channel") || f.label.contains("渠道"))
                .unwrap_or_else(|| panic!("{id} has no channel field"));
            assert!(ch.value.contains("alice@lab.example"), "{id}: {}", ch.value);
            assert!(
                ch.value.starts_with("never") || ch.value.starts_with("不得"),
                "{id}"
            );
            // Mail is named only as what never to use.
            for f in &d[0].fields {
                let v = f.value.replace("never by mail", "");
                assert!(
                    !v.contains("by mail") && !v.contains("by email") && !v.contains("email you"),
                    "{id}: {}",
                    f.value
                );
            }
        }
    }
}
