//! `report.html`: the report as one self-contained page — inline style, no script, nothing
//! fetched from anywhere, readable printed — with an inline SVG chart of the activity per hour,
//! the attack phases shaded over it and the findings marked. Every text that came from
//! evidence is escaped ([`esc`]).

use std::fmt::Write;

use super::model::{phase_title, Report};
use crate::detect::finding::{Phase, Severity};

/// Text safe in HTML content and attribute values (terminal escapes made visible first).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in crate::sanitize::terminal(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{border-bottom:2px solid #333}h2{margin-top:2rem;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.25rem .4rem;vertical-align:top;font-size:.9rem}\
code{background:#f3f3f3;padding:0 .2rem}.critical{color:#a00;font-weight:bold}.high{color:#c40}.medium{color:#a70}\
.low,.info{color:#555}.quote{margin-bottom:.2rem}.quote code{white-space:pre-wrap;word-break:break-all}\
@media print{body{max-width:none}details{display:block}}";

fn phase_color(p: Phase) -> &'static str {
    match p {
        Phase::Recon => "#9ecae1",
        Phase::InitialAccess => "#fdae6b",
        Phase::Persistence => "#bcbddc",
        Phase::Exfiltration => "#fb6a4a",
        Phase::Cleanup => "#a1d99b",
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#a00",
        Severity::High => "#d40",
        Severity::Medium => "#c90",
        _ => "#666",
    }
}

fn hour_of(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.timestamp().div_euclid(3600))
}

/// The activity chart: events per hour as bars (grouped into at most 480 bins), phases
/// shaded, findings as ticks under the bars.
pub fn chart(r: &Report) -> String {
    let (w, h, base) = (960.0f64, 220.0f64, 180.0f64);
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"events per hour\">"
    );
    let Some(first) = r.activity.first().map(|a| a.0) else {
        o.push_str("<text x=\"10\" y=\"20\">no events</text></svg>");
        return o;
    };
    let last = r.activity.last().map_or(first, |a| a.0);
    let span = (last - first + 1).max(1);
    let bins = span.min(480);
    let per = (span + bins - 1) / bins;
    let mut counts = vec![0u64; bins as usize];
    for (hour, n) in &r.activity {
        let b = ((hour - first) / per).clamp(0, bins - 1) as usize;
        counts[b] += n;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let x = |hour: i64| ((hour - first) as f64 / span as f64 * w).clamp(0.0, w);
    for p in &r.phases {
        if let (Some(a), Some(b)) = (hour_of(&p.first), hour_of(&p.last)) {
            let (xa, xb) = (x(a), x(b + 1));
            let _ = write!(
                o,
                "<rect x=\"{xa:.1}\" y=\"0\" width=\"{:.1}\" height=\"{base}\" fill=\"{}\" opacity=\"0.35\"><title>{}</title></rect>",
                (xb - xa).max(1.0),
                phase_color(p.phase),
                esc(phase_title(p.phase, r.lang))
            );
        }
    }
    let bw = w / bins as f64;
    for (i, n) in counts.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let bh = (*n as f64 / max * (base - 10.0)).max(1.0);
        let _ = write!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"#333\"/>",
            i as f64 * bw,
            base - bh,
            bw.max(0.5)
        );
    }
    for e in &r.findings {
        if let Some(hh) = hour_of(&e.finding.first_seen).filter(|hh| *hh >= first && *hh <= last) {
            let _ = write!(
                o,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"><title>{4}</title></line>",
                x(hh),
                base + 4.0,
                base + 18.0,
                severity_color(e.finding.severity),
                esc(&e.finding.title)
            );
        }
    }
    let label = |hour: i64| {
        chrono::DateTime::from_timestamp(hour * 3600, 0)
            .map(|t| t.format("%Y-%m-%d %H:00Z").to_string())
            .unwrap_or_default()
    };
    let _ = write!(
        o,
        "<text x=\"2\" y=\"{0}\" font-size=\"11\">{1}</text><text x=\"{w}\" y=\"{0}\" font-size=\"11\" text-anchor=\"end\">{2}</text><text x=\"2\" y=\"12\" font-size=\"11\">max {3} events/hour</text></svg>",
        h - 2.0,
        label(first),
        label(last),
        max as u64 / per.max(1) as u64
    );
    o
}

/// The whole page.
pub fn render(r: &Report, markdown_words: &super::markdown::Words) -> String {
    let w = markdown_words;
    let mut o = String::new();
    let lang = match r.lang {
        super::Lang::En => "en",
        super::Lang::Zh => "zh",
    };
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(w.title)
    );
    let _ = write!(
        o,
        "<h1>{}</h1><p>{}</p>",
        esc(w.title),
        esc(&w
            .generated
            .replace("{at}", &r.generated)
            .replace("{inputs}", &r.inputs.join(", ")))
    );
    let s = &r.summary;
    let _ = write!(
        o,
        "<h2>{}</h2><p>{} ({})</p><ul>",
        esc(w.summary),
        esc(&r.story.0),
        r.story
            .1
            .iter()
            .map(|id| format!("<a href=\"#{0}\">{0}</a>", esc(id)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = write!(o, "<li>{} {}</li>", r.findings.len(), esc(w.findings_count));
    if let (Some(a), Some(b)) = (&s.first, &s.last) {
        let _ = write!(
            o,
            "<li>{}</li>",
            esc(&w.activity.replace("{a}", a).replace("{b}", b))
        );
    }
    if !s.accounts.is_empty() {
        let _ = write!(
            o,
            "<li>{}: <strong>{}</strong></li>",
            esc(w.accounts),
            esc(&s.accounts.join(", "))
        );
    }
    if !s.attackers.is_empty() {
        let _ = write!(
            o,
            "<li>{}: {}</li>",
            esc(w.attackers),
            esc(&s.attackers.join(", "))
        );
    }
    let _ = write!(
        o,
        "<li>{}: {}; {}: {}</li><li>{}</li><li>{}</li></ul>",
        esc(w.planted),
        s.persistence,
        esc(w.tampering),
        s.tampering,
        esc(&super::markdown::data_line(r, w)),
        esc(&super::markdown::status_line(r))
    );
    fleet(&mut o, r, w);
    accessed(&mut o, r, w);
    host(&mut o, r, w);
    let _ = write!(o, "<h2>{}</h2>", esc(w.evidence));
    o.push_str(&outline(&super::custody::outline(r)));
    let st = &r.stats;
    let _ = write!(
        o,
        "<ul><li>{}</li><li>{}</li><li>{}</li></ul>",
        esc(&w
            .logs_read
            .replace("{files}", &st.files.to_string())
            .replace("{lines}", &st.lines.to_string())
            .replace("{events}", &st.events.to_string())
            .replace("{unparsed}", &st.unparsed.to_string())),
        esc(&w
            .config_read
            .replace("{files}", &st.config_files.to_string())
            .replace("{errors}", &st.config_errors.to_string())),
        esc(w.cites)
    );
    if !st.limits.is_empty() {
        o.push_str("<ul>");
        for l in &st.limits {
            let _ = write!(o, "<li>{}</li>", esc(&super::markdown::limit_line(w, l)));
        }
        o.push_str("</ul>");
    }
    let _ = write!(o, "<h2>{}</h2>{}<ul>", esc(w.timeline), chart(r));
    for p in &r.phases {
        let _ = write!(
            o,
            "<li><span style=\"background:{}\">&nbsp;&nbsp;&nbsp;</span> <strong>{}</strong> {} → {}: {}</li>",
            phase_color(p.phase),
            esc(phase_title(p.phase, r.lang)),
            esc(&p.first),
            esc(&p.last),
            esc(&p.message)
        );
    }
    let _ = write!(
        o,
        "</ul><h2>{}</h2><table><tr><th>{}</th></tr>",
        esc(w.findings),
        w.finding_columns.map(esc).join("</th><th>")
    );
    let posture = |e: &&super::model::Entry| e.finding.has(crate::detect::catalog::Role::Posture);
    let attack: Vec<&super::model::Entry> = r.findings.iter().filter(|e| !posture(e)).collect();
    let weak: Vec<&super::model::Entry> = r.findings.iter().filter(posture).collect();
    finding_rows(&mut o, &attack, r, w);
    if !weak.is_empty() {
        let _ = write!(
            o,
            "</table><h3>{}</h3><table><tr><th>{}</th></tr>",
            esc(w.weaknesses),
            w.finding_columns.map(esc).join("</th><th>")
        );
        finding_rows(&mut o, &weak, r, w);
    }
    let _ = write!(o, "</table><h2>{}</h2>", esc(w.playbook));
    for (i, stage) in super::playbook::STAGES.iter().enumerate() {
        let _ = write!(o, "<h3>{}. {}</h3><ul>", i + 1, esc(w.stages[i]));
        for s in r.playbook.get(stage).map(Vec::as_slice).unwrap_or_default() {
            let _ = write!(o, "<li><strong>{}</strong> — {}", esc(&s.id), esc(&s.text));
            if !s.commands.is_empty() {
                let cmds: Vec<String> = s
                    .commands
                    .iter()
                    .map(|c| format!("<li><code>{}</code></li>", esc(c)))
                    .collect();
                let _ = write!(o, "<ul>{}</ul>", cmds.join(""));
            }
            for r in &s.refused {
                let _ = write!(
                    o,
                    "<p>⚠ {}: <code>{}</code> — {}</p>",
                    esc(w.refused),
                    esc(&r.value),
                    esc(&r.reason)
                );
            }
            o.push_str("</li>");
        }
        o.push_str("</ul>");
        if *stage == "notify" && !r.notify.is_empty() {
            let _ = write!(
                o,
                "<p>{}</p><table><tr><th>{}</th><th></th></tr>",
                esc(w.duties),
                w.duty_columns.map(esc).join("</th><th>")
            );
            for n in &r.notify {
                let left = match n.remaining() {
                    (t, true) => format!("<strong>{t}</strong>"),
                    (t, false) => t,
                };
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{}</td><td>{left}</td></tr>",
                    esc(n.name),
                    esc(n.what),
                    esc(super::markdown::applies_word(n.applies, r.lang)),
                    esc(&n.because),
                    esc(&n.anchor),
                    esc(&n.anchor_at),
                    esc(n.due.as_deref().unwrap_or(n.no_deadline))
                );
            }
            o.push_str("</table>");
            drafts(&mut o, r, w);
        }
        if *stage == "clean" && !r.clean_items.is_empty() {
            let _ = write!(o, "<p>{}:</p><ul>", esc(w.clean_items));
            for c in &r.clean_items {
                let apply = match &c.refused {
                    Some(r) => format!("⚠ {}: {}", esc(w.refused), esc(&r.reason)),
                    None => format!("<code>{}</code>", esc(&c.apply)),
                };
                let _ = write!(
                    o,
                    "<li><code>{}</code> {} {} ({}) — {}</li>",
                    esc(&c.file),
                    esc(w.lines),
                    c.line.map_or("-".to_string(), |l| l.to_string()),
                    esc(&c.finding),
                    apply
                );
            }
            o.push_str("</ul>");
        }
    }
    o.push_str("</body></html>\n");
    o
}

/// The findings table's rows for `entries`.
/// The "What was accessed" table (none without a mailbox); the findings column links to them.
fn accessed(o: &mut String, r: &Report, w: &super::markdown::Words) {
    if r.accessed.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h2>{}</h2><p>{}</p><table><tr><th>{}</th></tr>",
        esc(w.accessed),
        esc(w.accessed_intro),
        w.accessed_columns.map(esc).join("</th><th>")
    );
    for (row, a) in super::impact::cells(&r.accessed).iter().zip(&r.accessed) {
        let refs: Vec<String> = a
            .refs
            .iter()
            .map(|id| format!("<a href=\"#{0}\">{0}</a>", esc(id)))
            .collect();
        let cells: Vec<String> = row[..8].iter().map(|c| esc(c)).collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td></tr>",
            cells.join("</td><td>"),
            refs.join(", ")
        );
    }
    o.push_str("</table>");
}

/// The fleet summary (none for one host): a line per host, the cross-host findings and each
/// host's own findings, every finding number a link to its row.
fn fleet(o: &mut String, r: &Report, w: &super::markdown::Words) {
    let Some(fleet) = &r.fleet else {
        return;
    };
    let link = |id: &String| format!("<a href=\"#{0}\">{0}</a>", esc(id));
    let _ = write!(
        o,
        "<h2 id=\"fleet\">{}</h2><p>{}</p><table class=\"fleet\"><tr><th>{}</th></tr>",
        esc(w.fleet),
        esc(w.fleet_intro),
        w.fleet_columns.map(esc).join("</th><th>")
    );
    for h in &fleet.hosts {
        let c = super::fleet::cells(h, r.lang);
        let cells: Vec<String> = c.iter().map(|x| esc(x)).collect();
        let _ = write!(
            o,
            "<tr class=\"host-{}\"><td><a href=\"#host-{}\">{}</a></td><td>{}</td></tr>",
            h.status,
            esc(&h.name),
            cells[0],
            cells[1..].join("</td><td>")
        );
    }
    o.push_str("</table>");
    if !fleet.across.is_empty() {
        let items: Vec<String> = fleet
            .across
            .iter()
            .map(|id| {
                let title = r
                    .findings
                    .iter()
                    .find(|e| e.id == *id)
                    .map(|e| esc(&e.title))
                    .unwrap_or_default();
                format!("<li>{} · {title}</li>", link(id))
            })
            .collect();
        let _ = write!(o, "<h3>{}</h3><ul>{}</ul>", esc(w.across), items.concat());
    }
    for h in &fleet.hosts {
        let ids: Vec<String> = h.findings.iter().map(link).collect();
        let more = if h.total > h.findings.len() {
            format!(" (+{})", h.total - h.findings.len())
        } else {
            String::new()
        };
        let _ = write!(
            o,
            "<h3 id=\"host-{}\">{}</h3><p>{} · {}: {}{more}</p>",
            esc(&h.name),
            esc(&w.fleet_host.replace("{host}", &h.name)),
            esc(super::fleet::status_word(h.status, r.lang)),
            esc(w.host_findings),
            if ids.is_empty() {
                "—".to_string()
            } else {
                ids.join(", ")
            }
        );
    }
}

/// The host section (none without a host finding); the finding column links to it.
fn host(o: &mut String, r: &Report, w: &super::markdown::Words) {
    if r.host.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h2>{}</h2><p>{}</p><table><tr><th>{}</th></tr>",
        esc(w.host),
        esc(w.host_intro),
        w.host_columns.map(esc).join("</th><th>")
    );
    for row in &r.host {
        let c = super::host::cells(row);
        let rest: Vec<String> = c[1..].iter().map(|x| esc(x)).collect();
        let _ = write!(
            o,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td></tr>",
            esc(&c[0]),
            rest.join("</td><td>")
        );
    }
    o.push_str("</table>");
}

fn finding_rows(
    o: &mut String,
    entries: &[&super::model::Entry],
    r: &Report,
    w: &super::markdown::Words,
) {
    for e in entries {
        let f = &e.finding;
        let sev = crate::timeline::record::severity_name(f.severity);
        let sev_word = super::model::severity_word(f.severity, r.lang);
        let who = if e.who.is_empty() {
            String::new()
        } else {
            let more = |n: usize| w.more.replace("{n}", &n.to_string());
            format!(
                "<br><small><b>{}</b>: {}</small>",
                esc(w.who),
                super::who::line(&e.who, esc, more)
            )
        };
        let on = if r.fleet.is_some() {
            format!(" · {} {}", esc(w.on_host), esc(&f.hosts.join(", ")))
        } else {
            String::new()
        };
        let _ = write!(
            o,
            "<tr id=\"{}\"><td>{}</td><td class=\"{sev}\">{sev_word}</td><td><strong>{} · {}</strong><br>{}{who}<br><small><code>{}</code> · {} · {}: {}{on}</small></td><td>{}</td></tr>",
            e.id,
            esc(&f.first_seen),
            e.id,
            esc(&e.title),
            esc(&e.summary),
            f.rule,
            esc(&f.attack.join(", ")),
            esc(w.steps),
            esc(&e.steps.join(", ")),
            evidence_cell(e, w)
        );
    }
}

/// A finding's evidence: the quoted lines as written, then every cited line number, folded.
fn evidence_cell(e: &super::model::Entry, w: &super::markdown::Words) -> String {
    let mut o = String::new();
    if e.quotes.is_empty() {
        let _ = write!(o, "<div class=\"quote\"><i>{}</i></div>", esc(w.no_line));
    }
    for q in &e.quotes {
        let _ = write!(
            o,
            "<div class=\"quote\"><code>{}:{}</code> <code>{}</code></div>",
            esc(&q.path),
            q.line,
            esc(&q.text)
        );
    }
    let files: Vec<String> = e
        .finding
        .evidence
        .iter()
        .map(|v| {
            let lines: Vec<String> = v.lines.iter().map(u64::to_string).collect();
            format!(
                "<code>{}</code> {} {}",
                esc(&v.path),
                esc(w.lines),
                esc(&lines.join(", "))
            )
        })
        .collect();
    if files.is_empty() {
        return o;
    }
    let label = if e.more_lines > 0 {
        w.more_lines.replace("{n}", &e.more_lines.to_string())
    } else {
        w.lines.to_string()
    };
    let _ = write!(
        o,
        "<details><summary>{}</summary>{}</details>",
        esc(&label),
        files.join("<br>")
    );
    o
}

/// Indented lines as nested lists.
fn outline(lines: &[(usize, String)]) -> String {
    let mut o = String::from("<ul>");
    let mut depth = 0;
    for (i, (d, text)) in lines.iter().enumerate() {
        if i > 0 {
            if *d > depth {
                o.push_str(&"<ul>".repeat(d - depth));
            } else {
                o.push_str("</li>");
                o.push_str(&"</ul></li>".repeat(depth - d));
            }
        }
        depth = *d;
        let _ = write!(o, "<li>{}", esc(text));
    }
    if !lines.is_empty() {
        o.push_str("</li>");
        o.push_str(&"</ul></li>".repeat(depth));
    }
    o.push_str("</ul>");
    o
}

/// The draft notices: one table per regime, every item with its source.
fn drafts(o: &mut String, r: &Report, w: &super::markdown::Words) {
    if r.drafts.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h3>{}</h3><p>{}</p>",
        esc(w.drafts),
        esc(w.drafts_intro)
    );
    for d in &r.drafts {
        let cols = super::markdown::words(d.lang).draft_columns;
        let _ = write!(
            o,
            "<h4>{} ({})</h4><table><tr><th>{}</th></tr>",
            esc(&d.title),
            esc(super::markdown::applies_word(d.applies, d.lang)),
            cols.map(esc).join("</th><th>")
        );
        for f in &d.fields {
            let refs: Vec<String> = f
                .refs
                .iter()
                .map(|id| format!("<a href=\"#{0}\">{0}</a>", esc(id)))
                .collect();
            let value = if f.source == super::draft::Source::Supply {
                format!("<strong>[{}]</strong>", esc(&f.value))
            } else {
                esc(&f.value)
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{value}</td><td><em>{}</em>{}</td></tr>",
                esc(&f.label),
                esc(f.source.label(d.lang)),
                if refs.is_empty() {
                    String::new()
                } else {
                    format!(": {}", refs.join(", "))
                }
            );
        }
        o.push_str("</table>");
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn evidence_text_cannot_become_markup() {
        assert_eq!(
            esc("<img src=x onerror=\"alert(1)\">&'"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
        assert_eq!(esc("a\u{1b}[2J"), "a\\u{1b}[2J");
    }
}
