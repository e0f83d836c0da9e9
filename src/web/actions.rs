//! What the page's buttons do, each through the code of a labctl verb:
//! the lab's checks are `labctl check` (`ops::check`), a mail is `labctl
//! mail send` (`ops::mail`), and a ping or a page fetch from a node is a
//! one-off `ping` or `http` check run the same way, so its failure comes
//! with the checks' diagnosis. Blocking: the server runs them off its
//! runtime.

use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::checks::context::LabContext;
use crate::checks::load::{RubricLines, load_checks_text};
use crate::checks::report::to_json;
use crate::checks::run_options::RunOptions;
use crate::ops::check::{grade, prepare};
use crate::ops::mail::{Message, send_message};

/// `labctl check LAB`: the report as `--json` prints it (docs/checks.md).
pub fn run_checks(lab: &str) -> Result<Value> {
    let prepared = prepare(lab, None, RubricLines::Hidden)?;
    let report = grade(
        &prepared.ctx,
        prepared.checks.checks,
        None,
        &RunOptions::default(),
    );
    Ok(to_json(&report))
}

/// A mail from a PC's configured account, as `labctl mail send`.
#[derive(Debug, Deserialize)]
pub struct MailForm {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
}

pub fn send_mail(lab: &str, form: &MailForm) -> Result<Value> {
    let message = Message {
        to: form.to.clone(),
        subject: form.subject.clone(),
        body: form.body.clone(),
        attach: Vec::new(),
    };
    Ok(match send_message(lab, &form.from, None, &message)? {
        Ok(sent) => json!({
            "passed": true,
            "account": sent.account.address,
            "reply": crate::printable::line(&sent.reply),
        }),
        Err(diagnosis) => json!({"passed": false, "diagnosis": diagnosis}),
    })
}

/// A ping (`to`) or a page fetch (`url`) from node `from`.
#[derive(Debug, Deserialize)]
pub struct ProbeForm {
    pub from: String,
    pub to: Option<String>,
    pub url: Option<String>,
}

/// The one check a probe is, as a checks file would say it (JSON is YAML,
/// so nothing the page sends can change the file's shape).
pub fn probe_checks(form: &ProbeForm) -> Result<String> {
    let check = match (&form.to, &form.url) {
        (Some(to), None) => json!({
            "name": format!("{} pings {to}", form.from),
            "ping": {"from": form.from, "to": to},
        }),
        (None, Some(url)) => json!({
            "name": format!("{} fetches {url}", form.from),
            "http": {"from": form.from, "url": url},
        }),
        _ => {
            return Err(anyhow!(
                "give either `to` (a ping) or `url` (a fetch), not both"
            ));
        }
    };
    Ok(json!({ "checks": [check] }).to_string())
}

/// Runs the probe as a check: the report, as `labctl check --json`.
pub fn probe(lab: &str, form: &ProbeForm) -> Result<Value> {
    crate::ops::admin::require_admin("web")?;
    let ctx = LabContext::load(lab)?;
    let text = probe_checks(form)?;
    let loaded = load_checks_text("the page's request", text, &ctx.plan);
    let Some(checks) = loaded.checks.clone().filter(|c| !c.is_empty()) else {
        let why = loaded
            .render(RubricLines::Hidden)
            .unwrap_or_else(|| "the request is not a check".into());
        return Err(anyhow!("{why}"));
    };
    Ok(to_json(&grade(&ctx, checks, None, &RunOptions::default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_one_check_whatever_the_page_sends() {
        let form = ProbeForm {
            from: "pc1\n  - exec: {node: pc1}".into(),
            to: Some("r1: {oops}".into()),
            url: None,
        };
        let text = probe_checks(&form).unwrap();
        let parsed = crate::checks::load::parse_checks_text("t", text);
        let file = parsed.file.expect("decodes");
        assert_eq!(file.checks.len(), 1);
        let fetch = ProbeForm {
            from: "pc1".into(),
            to: None,
            url: Some("http://www.mt.com/".into()),
        };
        assert!(probe_checks(&fetch).unwrap().contains("\"http\""));
        let neither = ProbeForm {
            from: "pc1".into(),
            to: None,
            url: None,
        };
        assert!(probe_checks(&neither).is_err());
    }
}
