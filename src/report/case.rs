//! The case file (`report --case case.toml`): what only the responder knows — where the
//! organisation operates, what kind of operator it is, the regimes' own clock anchors, the data
//! confirmed affected. It decides which notification regimes apply ([`super::compliance`]).
//!
//! ```toml
//! [organisation]
//! name = "Oceanlab Research Centre"
//! countries = ["CN", "DE"]        # ISO 3166 codes; "US-CA" for California
//! sector = ["cii"]                # cii, central_organ, nis2_essential, nis2_important,
//!                                 # public_company, hipaa_covered, comms_provider
//! contact = "security@oceanlab.example.org"
//! dpo = "dpo@oceanlab.example.org"
//!
//! [clocks]                        # RFC 3339; missing ones run from the earliest detection
//! awareness = "2026-03-04T09:30:00+08:00"
//! discovery = "2026-03-04T09:30:00+08:00"
//! materiality = "2026-03-06T17:00:00-05:00"
//! handling_ended = "2026-03-10T18:00:00+08:00"
//!
//! [incident]
//! status = "contained"           # new, contained, eradicated, recovered, closed
//!
//! [data]
//! categories = ["mail content", "account credentials"]
//! subjects = 120
//! health_information = false
//! california_residents = false
//! ```

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The case file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Who and where.
    #[serde(default)]
    pub organisation: Organisation,
    /// The regimes' anchors.
    #[serde(default)]
    pub clocks: Clocks,
    /// What was affected.
    #[serde(default)]
    pub data: Data,
    /// Where the response stands.
    #[serde(default)]
    pub incident: Incident,
}

/// Where the response stands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// One of [`STATUSES`].
    pub status: Option<String>,
}

/// Incident statuses the case file may give (`docs/report.md`, the case file).
pub const STATUSES: [&str; 5] = ["new", "contained", "eradicated", "recovered", "closed"];

/// Who and where.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Name.
    pub name: Option<String>,
    /// ISO 3166 codes of the countries whose people's data it holds (`US-CA` for California).
    #[serde(default)]
    pub countries: Vec<String>,
    /// Operator kinds.
    #[serde(default)]
    pub sector: Vec<String>,
    /// Contact point.
    pub contact: Option<String>,
    /// Data protection officer.
    pub dpo: Option<String>,
}

/// Clock anchors (RFC 3339).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clocks {
    /// Awareness of the breach (GDPR, UK GDPR, NIS2).
    pub awareness: Option<String>,
    /// Discovery (PIPL, China's Measures, HIPAA, California).
    pub discovery: Option<String>,
    /// Determination of materiality (SEC).
    pub materiality: Option<String>,
    /// End of handling (China's 30-day summary).
    pub handling_ended: Option<String>,
}

/// What was affected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Confirmed categories of personal data.
    #[serde(default)]
    pub categories: Vec<String>,
    /// People affected (approximate).
    pub subjects: Option<u64>,
    /// Protected health information involved.
    #[serde(default)]
    pub health_information: bool,
    /// California residents affected.
    #[serde(default)]
    pub california_residents: bool,
}

/// Sector names the case file may use.
pub const SECTORS: [&str; 7] = [
    "cii",
    "central_organ",
    "nis2_essential",
    "nis2_important",
    "public_company",
    "hipaa_covered",
    "comms_provider",
];

impl Case {
    /// Reads and checks a case file.
    pub fn load(path: &Path) -> Result<Case> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let case: Case =
            toml::from_str(&text).with_context(|| format!("case file {}", path.display()))?;
        if let Some(st) = &case.incident.status {
            if !STATUSES.contains(&st.as_str()) {
                anyhow::bail!(
                    "case file: unknown incident status {st:?} (one of {})",
                    STATUSES.join(", ")
                );
            }
        }
        for s in &case.organisation.sector {
            if !SECTORS.contains(&s.as_str()) {
                anyhow::bail!(
                    "case file: unknown sector {s:?} (one of {})",
                    SECTORS.join(", ")
                );
            }
        }
        for (name, v) in [
            ("awareness", &case.clocks.awareness),
            ("discovery", &case.clocks.discovery),
            ("materiality", &case.clocks.materiality),
            ("handling_ended", &case.clocks.handling_ended),
        ] {
            if let Some(t) = v {
                DateTime::parse_from_rfc3339(t)
                    .with_context(|| format!("case file: clocks.{name} {t:?} is not RFC 3339"))?;
            }
        }
        Ok(case)
    }

    /// The anchor named `key` (`awareness`, `discovery`, `materiality`, `handling_ended`).
    pub fn clock(&self, key: &str) -> Option<DateTime<Utc>> {
        let v = match key {
            "awareness" => &self.clocks.awareness,
            "discovery" => &self.clocks.discovery,
            "materiality" => &self.clocks.materiality,
            "handling_ended" => &self.clocks.handling_ended,
            _ => return None,
        };
        v.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Whether the organisation holds data of people in `country` (ISO code).
    pub fn in_country(&self, country: &str) -> bool {
        self.organisation.countries.iter().any(|c| {
            c.eq_ignore_ascii_case(country)
                || c.to_ascii_uppercase().starts_with(&format!("{country}-"))
        })
    }

    /// Whether the organisation is of `sector`.
    pub fn is(&self, sector: &str) -> bool {
        self.organisation.sector.iter().any(|s| s == sector)
    }
}
