//! `labctl web` in a real browser (root): headless Chromium over WebDriver
//! (`common::browser_script`) opens the page of a running MasterTech lab
//! and sees every node drawn, a DHCP host's leased address, the checks
//! all passing on the topology, a mail from Bob's PC produce SMTP events
//! along the real path (PDUs drawn moving), and stepping changing the
//! selected event with its layers and bytes, and the ping and fetch
//! buttons answer with a check's result (a failed ping with its
//! diagnosis). The page is served on
//! 127.0.0.1 and the browser reaches nothing else.
//!
//! The same page in headless Firefox (Marionette) draws the topology, runs
//! the checks and gets the events.
//!
//! Set `LABCTL_WEB_SCREENSHOT=docs/web-view.png` to save the view.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

fn mastertech() -> String {
    include_str!("../labs/mastertech.yaml").replace("name: mastertech", "name: LAB")
}

const BROWSER: &str = r##"
import json, os, time
url, shot = os.environ["URL"], os.environ["SHOT"]
out = {}
def scenario(b):
    b.go(url)
    b.wait("return window.labview && labview.cy && labview.cy.nodes('.device').length > 0", 20)
    out["nodes"] = b.run("return labview.cy.nodes('.device').map(n => n.id())")
    out["edges"] = b.run("return labview.cy.edges().length")
    out["pc_label"] = b.wait("const l = labview.cy.getElementById('mgmt-pc1').data('label'); return l.includes('192.168.30.') && l", 10)
    out["mail_choices"] = b.run("return [...document.querySelectorAll('#mail-from option')].map(o => o.value)")

    b.click("#run-checks")
    b.wait("return document.querySelectorAll('#check-results li').length > 0", 60)
    out["checks"] = b.run("return [...document.querySelectorAll('#check-results li')].map(li => li.className)")
    out["passed_nodes"] = b.run("return labview.cy.nodes('.check-passed').map(n => n.id())")
    out["failed_elements"] = b.run("return labview.cy.elements('.check-failed').length")

    before = b.run("return labview.events.length")
    b.run("document.getElementById('mail-to').closest('details').open = true")
    b.run("document.getElementById('mail-from').value = 'mgmt-pc1'")
    b.type("#mail-to", "ada@mt.com")
    b.click("#mail-send")
    most_pdus = 0
    deadline = time.time() + 20
    while time.time() < deadline:
        most_pdus = max(most_pdus, b.run("return labview.cy.nodes('.pdu').length"))
        sent = b.run("return document.getElementById('action-result').textContent")
        smtp = b.run("return labview.events.filter(e => e.proto === 'smtp').length")
        if most_pdus and smtp and sent.startswith("sent"):
            break
        time.sleep(0.05)
    out["mail_result"] = b.run("return document.getElementById('action-result').textContent")
    out["most_pdus"] = most_pdus
    out["smtp_paths"] = b.run("return labview.events.filter(e => e.proto === 'smtp' && e.nodes.length > 1).map(e => e.nodes)")
    out["smtp_ends"] = b.run("return labview.events.filter(e => e.proto === 'smtp').map(e => e.from + ' > ' + e.to)")
    out["smtp_lines"] = b.run("return labview.events.filter(e => e.proto === 'smtp').map(e => e.text)")
    out["events_after_mail"] = b.run("return labview.events.length") - before
    out["protos"] = b.run("const c = {}; labview.events.forEach(e => c[e.proto] = (c[e.proto] || 0) + 1); return c")
    out["stream"] = b.run("return labview.counts")
    # Ping and fetch from a node: each answer is a one-off check's report.
    def probe(button, source, target):
        b.run("document.getElementById('probe-target').closest('details').open = true")
        b.run("document.getElementById('probe-from').value = arguments[0]", source)
        b.run("document.getElementById('probe-target').value = ''")
        b.type("#probe-target", target)
        b.run("document.getElementById('action-result').textContent = ''")
        b.click(button)
        done = "const r = document.getElementById('action-result'); " \
               "return r.classList.contains('passed') || r.classList.contains('failed')"
        b.wait(done, 60)
        return b.run("const r = document.getElementById('action-result'); return [r.className, r.textContent]")
    out["ping_mail"] = probe("#probe-ping", "frontend-pc1", "192.168.10.4")
    out["fetch_web"] = probe("#probe-fetch", "backend-pc2", "http://www.mastertech.com/")
    out["ping_nobody"] = probe("#probe-ping", "frontend-pc1", "192.168.10.250")
    out["ping_icmp"] = b.run("return labview.events.filter(e => e.proto === 'icmp' && e.to === 'mail').length")

    if shot:
        time.sleep(0.3)
        b.screenshot(shot)

    b.click("#pause")
    out["mode"] = b.run("return document.getElementById('mode').textContent")
    b.run("document.getElementById('filter-proto').value = 'smtp'; document.getElementById('filter-proto').dispatchEvent(new Event('change'))")
    b.click("#step-fwd")
    first = b.run("return labview.selected")
    b.click("#step-fwd")
    second = b.run("return labview.selected")
    b.click("#step-back")
    back = b.run("return labview.selected")
    out["steps"] = [first, second, back]
    out["detail_id"] = b.run("return document.getElementById('detail').dataset.id")
    out["layers"] = b.run("return [...document.querySelectorAll('#detail .layer h3')].map(h => h.textContent)")
    out["bytes"] = b.wait("const t = document.getElementById('raw-bytes').textContent; return t !== '…' && t", 10)
    out["counts"] = b.run("return document.getElementById('counts').textContent")

try:
    with Browser(os.path.join(os.environ["DIR"], "profile")) as b:
        scenario(b)
finally:
    print("RESULT " + json.dumps(out))
"##;

/// `labctl web LAB` on a free port of 127.0.0.1: the server, and its URL.
fn serve(lab: &Lab) -> (Spawned, String) {
    let mut child = Command::new(LABCTL)
        .args(["web", &lab.name, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("labctl web starts");
    let stdout = child.stdout.take().expect("piped");
    let server = Spawned(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("labctl web prints its URL");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    (server, url)
}

/// Runs a browser script (with `URL` and `DIR` set) and returns its
/// `RESULT` line.
fn browse(script: &str, url: &str, lab: &Lab, shot: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .args(["-c", &browser_script(script)])
        .env("URL", url)
        .env("DIR", lab.temp_dir())
        .env("SHOT", shot)
        .output()
        .expect("python3 runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    shown
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no result: {}", text(&out)))
}

#[test]
fn the_web_view_draws_checks_mails_and_steps_through_a_running_lab() {
    require_root();
    let lab = Lab::new("web", &mastertech());
    lab.up_ok();
    let (_server, url) = serve(&lab);

    let shot = std::env::var("LABCTL_WEB_SCREENSHOT").unwrap_or_default();
    let shot = if shot.is_empty() {
        String::new()
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(shot)
            .display()
            .to_string()
    };
    let result = browse(BROWSER, &url, &lab, &shot);

    // Every node of the lab, and every cable, drawn.
    let mut nodes: Vec<&str> = result["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    nodes.sort();
    let mut expected = vec![
        "backend-pc1",
        "backend-pc2",
        "frontend-pc1",
        "frontend-pc2",
        "mail",
        "mgmt-pc1",
        "mgmt-pc2",
        "r1",
        "r2",
        "server",
        "sw-backend",
        "sw-frontend",
        "sw-mgmt",
        "web",
    ];
    expected.sort();
    assert_eq!(nodes, expected, "{result}");
    assert_eq!(result["edges"], 13, "{result}");
    // The DHCP host shows the address it leased (as status reports it).
    let status = labctl(&["status", &lab.name, "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let leased = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "mgmt-pc1")
        .and_then(|n| n["interfaces"][0]["lease"]["address"].as_str())
        .expect("mgmt-pc1 has a lease")
        .to_string();
    let label = result["pc_label"].as_str().unwrap_or_default();
    assert!(label.contains(&leased), "{label} lacks {leased}");
    assert_eq!(
        result["mail_choices"],
        serde_json::json!(["backend-pc1", "mgmt-pc1"])
    );

    // The checks all pass, and the topology says so.
    let checks = result["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 15, "{result}");
    assert!(checks.iter().all(|c| c == "check passed"), "{result}");
    assert!(
        result["passed_nodes"].as_array().unwrap().len() >= 3,
        "{result}"
    );
    assert_eq!(result["failed_elements"], 0, "{result}");

    // Bob's mail crossed both routers, and PDUs were drawn moving.
    assert!(
        result["mail_result"]
            .as_str()
            .unwrap()
            .starts_with("sent from bob@mt.com"),
        "{result}"
    );
    assert!(result["most_pdus"].as_u64().unwrap() >= 1, "{result}");
    let real_path = serde_json::json!(["mgmt-pc1", "sw-mgmt", "r2", "r1", "sw-backend", "mail"]);
    assert!(
        result["smtp_paths"]
            .as_array()
            .unwrap()
            .contains(&real_path),
        "no SMTP event along {real_path}: {result}"
    );
    // The PC is named by the address it leased before the page started.
    let ends = result["smtp_ends"].to_string();
    assert!(ends.contains("mgmt-pc1 > mail"), "{ends}");
    let lines = result["smtp_lines"].to_string();
    assert!(lines.contains("MAIL FROM:<bob@mt.com>"), "{lines}");
    assert!(lines.contains("RCPT TO:<ada@mt.com>"), "{lines}");

    // A ping to the mail server and a fetch of the web site pass; a ping
    // to an address no node has fails with the checks' diagnosis.
    let probe = |key: &str| -> (String, String) {
        let pair = result[key].as_array().cloned().unwrap_or_default();
        let field = |i: usize| pair.get(i).and_then(|v| v.as_str()).unwrap_or_default();
        (field(0).to_string(), field(1).to_string())
    };
    let (class, said) = probe("ping_mail");
    assert_eq!(class, "result passed", "{said}");
    assert!(
        said.starts_with("frontend-pc1 pings 192.168.10.4"),
        "{said}"
    );
    let (class, said) = probe("fetch_web");
    assert_eq!(class, "result passed", "{said}");
    assert!(
        said.starts_with("backend-pc2 fetches http://www.mastertech.com/"),
        "{said}"
    );
    let (class, said) = probe("ping_nobody");
    assert_eq!(class, "result failed", "{said}");
    assert!(
        said.starts_with("frontend-pc1 pings 192.168.10.250: "),
        "{said}"
    );
    assert!(said.contains("no node on sw-backend"), "{said}");
    assert!(
        result["ping_icmp"].as_u64().unwrap_or_default() >= 1,
        "the ping's ICMP reached no event: {result}"
    );

    // Stepping moves the selection and back; the event panel follows.
    assert_eq!(result["mode"], "PAUSED");
    let steps: Vec<u64> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().expect("an event is selected"))
        .collect();
    assert!(steps[1] > steps[0], "{steps:?}");
    assert_eq!(steps[2], steps[0], "{steps:?}");
    assert_eq!(result["detail_id"], steps[0].to_string());
    let layers = result["layers"].to_string();
    for layer in ["ETHERNET", "IPV4", "TCP", "SMTP"] {
        assert!(layers.contains(layer), "{layer} missing: {layers}");
    }
    assert!(
        result["bytes"]
            .as_str()
            .unwrap_or_default()
            .starts_with("0000  "),
        "{result}"
    );
    assert!(
        result["counts"]
            .as_str()
            .unwrap()
            .contains("dropped for display"),
        "{result}"
    );
}

const FIREFOX: &str = r##"
import json, os
url = os.environ["URL"]
out = {}
try:
    with Firefox(os.path.join(os.environ["DIR"], "firefox")) as b:
        b.go(url)
        b.wait("return window.labview && labview.cy && labview.cy.nodes('.device').length > 0", 30)
        out["nodes"] = b.run("return labview.cy.nodes('.device').length")
        out["edges"] = b.run("return labview.cy.edges().length")
        out["drawn"] = b.run("const e = labview.cy.extent(); return e.w > 0 && e.h > 0 && labview.cy.nodes('.device').every(n => n.renderedPosition().x >= 0)")
        out["pc_label"] = b.wait("const l = labview.cy.getElementById('mgmt-pc1').data('label'); return l.includes('192.168.30.') && l", 10)
        b.run("document.getElementById('run-checks').click()")
        b.wait("return document.querySelectorAll('#check-results li').length > 0", 60)
        out["checks"] = b.run("return [...document.querySelectorAll('#check-results li')].map(li => li.className)")
        out["http_events"] = b.wait("return labview.events.filter(e => e.proto === 'http').length", 10)
finally:
    print("RESULT " + json.dumps(out))
"##;

#[test]
fn firefox_draws_the_topology_runs_the_checks_and_gets_the_events() {
    require_root();
    let lab = Lab::new("webff", &mastertech());
    lab.up_ok();
    let (_server, url) = serve(&lab);
    let result = browse(FIREFOX, &url, &lab, "");
    assert_eq!(result["nodes"], 14, "{result}");
    assert_eq!(result["edges"], 13, "{result}");
    assert_eq!(result["drawn"], true, "{result}");
    let label = result["pc_label"].as_str().unwrap_or_default();
    assert!(label.contains("192.168.30."), "{result}");
    let checks = result["checks"].as_array().cloned().unwrap_or_default();
    assert_eq!(checks.len(), 15, "{result}");
    assert!(checks.iter().all(|c| c == "check passed"), "{result}");
    // The checks' page fetches came back over the event stream.
    assert!(
        result["http_events"].as_u64().unwrap_or_default() >= 1,
        "{result}"
    );
}
