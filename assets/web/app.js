// labctl web: the page. The topology comes from /api/status (the JSON of
// `labctl status LAB --json`, polled), the events from /api/events
// (server-sent events, decoded by labctl's capture decoders); actions
// POST to /api/checks, /api/mail and /api/probe. Everything from the lab
// is put in the page as text, never as HTML.
"use strict";

const COLORS = {
  arp: "#8b8b8b", icmp: "#e11d48", dhcp: "#d97706", dns: "#7c3aed", tcp: "#64748b",
  udp: "#0891b2", smtp: "#16a34a", pop3: "#0d9488", imap: "#2563eb", http: "#db2777", other: "#475569",
};
const PROTOS = Object.keys(COLORS);
/** One hop takes this long at 1×: slow enough for a class to follow. */
const HOP_MS = 700;
/** PDUs moving at once; events past this are listed, not animated. */
const MAX_MOVING = 8;
/** Events the page keeps (the server keeps as many). */
const KEEP = 5000;

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const view = {
  cy: null,
  status: null,
  nodeNames: [],
  events: [],          // every event received, oldest first
  byId: new Map(),
  lastId: 0,
  selected: null,      // id of the selected event
  paused: false,
  replay: false,
  moving: 0,
  stats: { pdus: 0, animated: 0, notAnimated: 0 },
  counts: null,
  checks: null,
};
window.labview = view;

// ---- topology -------------------------------------------------------------

const STYLE = [
  { selector: "node.device", style: {
      "label": "data(label)", "text-wrap": "wrap", "text-valign": "bottom", "text-margin-y": 6,
      "font-size": 15, "color": "#111", "text-background-color": "#fff", "text-background-opacity": 0.8,
      "text-background-padding": 2, "border-width": 3, "border-color": "#334155", "width": 64, "height": 52 } },
  { selector: "node.router", style: { "shape": "ellipse", "background-color": "#93c5fd", "width": 70, "height": 70 } },
  { selector: "node.switch", style: { "shape": "rectangle", "background-color": "#99f6e4", "width": 96, "height": 38 } },
  { selector: "node.server", style: { "shape": "barrel", "background-color": "#ddd6fe", "width": 58, "height": 72 } },
  { selector: "node.host", style: { "shape": "round-rectangle", "background-color": "#bbf7d0" } },
  { selector: "node.fault", style: { "border-color": "#dc2626", "border-style": "dashed", "border-width": 5 } },
  { selector: "node.check-passed", style: { "underlay-color": "#22c55e", "underlay-opacity": 0.45, "underlay-padding": 10 } },
  { selector: "node.check-failed", style: { "underlay-color": "#ef4444", "underlay-opacity": 0.55, "underlay-padding": 12 } },
  { selector: "node:selected", style: { "border-color": "#f59e0b", "border-width": 6 } },
  { selector: "edge", style: { "width": 4, "line-color": "#64748b", "curve-style": "bezier",
      "font-size": 14, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.85 } },
  { selector: "edge.show-label, edge:active", style: { "label": "data(label)" } },
  { selector: "edge.down", style: { "line-color": "#dc2626", "line-style": "dashed" } },
  { selector: "edge.check-failed", style: { "line-color": "#ef4444", "width": 9, "label": "data(diagnosis)",
      "color": "#b91c1c", "text-wrap": "wrap", "text-max-width": 260 } },
  { selector: "node.pdu", style: { "shape": "tag", "width": 30, "height": 20, "background-color": "data(color)",
      "border-width": 2, "border-color": "#111", "label": "data(label)", "font-size": 13, "color": "#111",
      "text-valign": "top", "text-margin-y": -4, "z-index": 10 } },
];

function nodeLabel(node) {
  const lines = [node.name];
  if ($("show-addresses").checked) {
    for (const iface of node.interfaces) {
      for (const address of iface.addresses) lines.push(address);
      if (iface.addressing === "dhcp" && iface.addresses.length === 0) {
        lines.push(`${iface.name}: DHCP ${iface.lease ? iface.lease.state : "…"}`);
      }
    }
  }
  return lines.join("\n");
}

function nodeFault(node) {
  return !node.present || node.services.some((s) => !s.running);
}

function linkOf(node, iface) {
  const [peerNode, peerIface] = iface.peer.split("/");
  const ends = [`${node.name}/${iface.name}`, iface.peer].sort();
  return { id: ends.join("--"), a: node.name, aIface: iface.name, b: peerNode, bIface: peerIface };
}

function elementsOf(status) {
  const elements = [];
  const links = new Map();
  for (const node of status.nodes) {
    elements.push({ group: "nodes", data: { id: node.name, label: nodeLabel(node), kind: node.kind },
                    classes: `device ${node.kind}` });
    for (const iface of node.interfaces) {
      const link = linkOf(node, iface);
      if (!links.has(link.id)) links.set(link.id, link);
    }
  }
  for (const link of links.values()) {
    elements.push({ group: "edges", data: { id: link.id, source: link.a, target: link.b,
      label: `${link.aIface} — ${link.bIface}` } });
  }
  return elements;
}

function layout(cy) {
  const routers = cy.nodes(".router");
  const roots = routers.length ? routers : cy.nodes(".switch");
  cy.layout({ name: "breadthfirst", roots: roots.length ? roots : undefined, spacingFactor: 1.45,
              padding: 30, animate: false }).run();
}

function drawTopology(status) {
  const names = status.nodes.map((n) => n.name);
  const same = view.cy && names.length === view.nodeNames.length && names.every((n, i) => n === view.nodeNames[i]);
  if (!same) {
    if (view.cy) view.cy.destroy();
    view.cy = cytoscape({ container: $("graph"), elements: elementsOf(status), style: STYLE,
                          wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 3 });
    layout(view.cy);
    view.cy.on("tap", "node.device", (e) => showNode(e.target.id()));
    view.nodeNames = names;
    fillNodeChoices(status);
  }
  refreshTopology(status);
}

/** Labels, faults and link states from the newest status. */
function refreshTopology(status) {
  const cy = view.cy;
  const showIfaces = $("show-ifaces").checked;
  cy.batch(() => {
    for (const node of status.nodes) {
      const ele = cy.getElementById(node.name);
      ele.data("label", nodeLabel(node));
      ele.toggleClass("fault", nodeFault(node));
    }
    const down = new Set();
    for (const node of status.nodes) {
      for (const iface of node.interfaces) {
        if (iface.oper !== "up" || iface.state !== "up") down.add(linkOf(node, iface).id);
      }
    }
    cy.edges().forEach((edge) => {
      edge.toggleClass("down", down.has(edge.id()));
      edge.toggleClass("show-label", showIfaces);
    });
  });
}

async function pollStatus() {
  try {
    const answer = await fetch("/api/status");
    const status = await answer.json();
    if (!answer.ok) throw new Error(status.error || answer.statusText);
    view.status = status;
    $("lab-name").textContent = `labctl web — ${status.lab.name}`;
    document.title = `${status.lab.name} — labctl web`;
    view.replay = Boolean(status.stream && status.stream.replay);
    drawTopology(status);
    if (view.shownNode) showNode(view.shownNode, true);
    $("graph").dataset.drawn = "yes";
  } catch (e) {
    $("mode").textContent = `lab unreachable: ${e.message}`;
    $("mode").className = "mode lost";
  }
  setTimeout(pollStatus, 1000);
}

function fillNodeChoices(status) {
  const mailFrom = $("mail-from"), probeFrom = $("probe-from"), nodeFilter = $("filter-node");
  mailFrom.replaceChildren(); probeFrom.replaceChildren();
  nodeFilter.replaceChildren(el("option", { value: "" }, "all"));
  for (const node of status.nodes) {
    nodeFilter.append(el("option", { value: node.name }, node.name));
    if (node.kind !== "switch") probeFrom.append(el("option", { value: node.name }, node.name));
    for (const account of node.mail || []) {
      mailFrom.append(el("option", { value: node.name }, `${node.name} (${account.address})`));
    }
  }
  if (!mailFrom.children.length) mailFrom.append(el("option", { value: "" }, "no PC has mail settings"));
}

// ---- the node panel ---------------------------------------------------------

function table(headers, rows) {
  return el("table", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h))),
    ...rows.map((row) => el("tr", {}, ...row.map((cell) => el("td", {}, cell)))));
}

function serviceLines(service) {
  const state = service.running ? "running" : "NOT RUNNING";
  const lines = [`${service.kind} — ${state}`];
  switch (service.kind) {
    case "dhcp-server":
      for (const lease of service.leases) lines.push(`lease ${lease.address} → ${lease.hostname || lease.mac} (${lease.state})`);
      if (!service.leases.length) lines.push("no leases");
      break;
    case "dhcp-relay": lines.push(`relays ${service.interface} to ${service.server}`); break;
    case "dhcp-client":
      lines.push(`${service.interface}: ${service.state}${service.address ? " " + service.address : ""}${service.reason ? " — " + service.reason : ""}`);
      break;
    case "dns-server":
      lines.push(`${service.role}; zones: ${service.zones.join(", ") || "none"}`);
      if (service.upstream && service.upstream.length) lines.push(`upstream: ${service.upstream.join(", ")}`);
      break;
    case "mail-server":
      lines.push(`domains: ${service.domains.join(", ")}`);
      for (const box of service.mailboxes || []) lines.push(`mailbox ${box.user}: ${box.messages} message(s)`);
      if (!service.mailboxes) lines.push(`users: ${service.users.join(", ")}`);
      if (service.queue !== undefined) lines.push(`relay queue: ${service.queue} message(s)`);
      break;
    case "web-server": lines.push(`pages: ${service.pages.join(", ")}${service.root ? "; root " + service.root : ""}`); break;
    case "webmail": lines.push(`reads and sends through ${service.server}`); break;
  }
  return lines;
}

function showNode(name, refresh) {
  const node = view.status && view.status.nodes.find((n) => n.name === name);
  if (!node) return;
  view.shownNode = name;
  const panel = $("node-panel");
  panel.dataset.node = name;
  const parts = [el("h2", {}, `${node.name} (${node.kind})`)];
  if (!node.present) parts.push(el("p", { class: "result failed" }, "its namespace is missing: the lab is damaged"));
  parts.push(table(["interface", "state", "addresses", "to"], node.interfaces.map((i) => [
    i.name, i.oper === "up" ? "up" : `${i.state}/${i.oper}`,
    i.addresses.join(", ") || (i.addressing === "dhcp" ? `DHCP ${i.lease ? i.lease.state : "?"}` : "—"),
    i.peer])));
  if (node.routes.length) {
    parts.push(table(["route", "via", "dev", "origin"], node.routes.map((r) => [r.to, r.via || "—", r.dev || "—", r.origin])));
  }
  for (const service of node.services) {
    const lines = serviceLines(service);
    parts.push(el("p", { class: service.running ? "" : "result failed" }, el("b", {}, lines[0]),
      ...lines.slice(1).map((l) => el("span", { class: "diagnosis" }, el("br"), l))));
  }
  for (const account of node.mail || []) {
    parts.push(el("p", {}, el("b", {}, `mail client ${account.address}`), el("br"),
      `incoming ${account.incoming} (${account.protocol}), outgoing ${account.outgoing}, user ${account.user}`));
  }
  panel.replaceChildren(...parts);
  if (!refresh && view.cy) { view.cy.nodes().unselect(); view.cy.getElementById(name).select(); }
}

// ---- events -----------------------------------------------------------------

function timeOf(ns) {
  const d = new Date(Number(BigInt(ns) / 1000000n));
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function ends(event) {
  return `${event.from || "?"} → ${event.to || "?"}`;
}

/** ARP, IPv6 chatter, and TCP's handshakes and closes (a TCP layer last). */
function isLowLevel(event) {
  const last = event.layers[event.layers.length - 1];
  return event.proto === "arp" || event.proto === "other" || Boolean(last && last.layer === "tcp");
}

function visible(event) {
  const proto = $("filter-proto").value, node = $("filter-node").value;
  if (proto && event.proto !== proto) return false;
  if (node && !event.nodes.includes(node) && event.from !== node && event.to !== node) return false;
  if ($("hide-arp").checked && isLowLevel(event)) return false;
  return true;
}

function row(event) {
  const tr = el("tr", { class: "event", "data-id": event.id, "data-proto": event.proto },
    el("td", {}, event.id), el("td", {}, timeOf(event.at_ns)),
    el("td", {}, el("span", { class: `proto ${event.proto}` }, event.proto)),
    el("td", {}, ends(event)), el("td", { class: "what" }, event.text),
    el("td", { class: "path" }, event.nodes.join(" → ")));
  tr.addEventListener("click", () => select(event.id, true));
  return tr;
}

function receive(event) {
  if (event.id <= view.lastId) return; // sent twice around a page's start
  view.lastId = event.id;
  view.events.push(event);
  view.byId.set(event.id, event);
  if (view.events.length > KEEP) view.byId.delete(view.events.shift().id);
  if (!$("filter-proto").querySelector(`option[value="${event.proto}"]`) && PROTOS.includes(event.proto)) {
    $("filter-proto").append(el("option", { value: event.proto }, event.proto));
  }
  if (visible(event)) {
    const body = $("events");
    body.append(row(event));
    while (body.children.length > KEEP) body.firstChild.remove();
    if (!view.paused && !view.replay) body.parentElement.parentElement.scrollTop = 1e9;
  }
  if (!view.paused && !view.replay && visible(event)) animate(event);
  showListCount();
}

function rerenderList() {
  const body = $("events");
  body.replaceChildren(...view.events.filter(visible).map(row));
  if (view.selected) markSelected();
  showListCount();
}

function showListCount() {
  $("list-count").textContent = `${$("events").children.length} of ${view.events.length} events shown`;
}

// ---- animation ----------------------------------------------------------------

function speed() { return Number($("speed").value) || 1; }

function short(event) {
  const text = event.text.replace(/^[CS]: /, "");
  const proto = event.proto.toUpperCase();
  return (text.toUpperCase().startsWith(proto) ? text : `${proto} ${text}`).slice(0, 24);
}

/** Moves a PDU along the event's path, node to node. */
async function animate(event, force) {
  const cy = view.cy;
  if (!cy || event.nodes.length === 0) return;
  if (view.moving >= MAX_MOVING && !force) { view.stats.notAnimated++; return; }
  const path = event.nodes.filter((n) => cy.getElementById(n).length);
  if (!path.length) return;
  view.moving++;
  view.stats.animated++;
  const start = cy.getElementById(path[0]).position();
  const pdu = cy.add({ group: "nodes", data: { id: `pdu-${event.id}-${Date.now()}`, color: COLORS[event.proto] || COLORS.other,
    label: short(event) }, classes: "pdu", position: { x: start.x, y: start.y }, selectable: false, grabbable: false });
  view.stats.pdus++;
  try {
    for (const name of path.slice(1)) {
      const to = cy.getElementById(name).position();
      await pdu.animation({ position: { x: to.x, y: to.y } }, { duration: HOP_MS / speed() }).play().promise();
    }
    await new Promise((r) => setTimeout(r, 250 / speed()));
  } finally {
    cy.remove(pdu);
    view.moving--;
  }
}

// ---- stepping (simulation mode) -------------------------------------------------

function setPaused(paused) {
  view.paused = paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  showMode();
}

function showMode() {
  const mode = $("mode");
  if (view.replay) { mode.textContent = "REPLAY"; mode.className = "mode replay"; }
  else if (view.paused) { mode.textContent = "PAUSED"; mode.className = "mode paused"; }
  else { mode.textContent = "LIVE"; mode.className = "mode"; }
}

function markSelected() {
  for (const tr of $("events").querySelectorAll("tr.selected")) tr.classList.remove("selected");
  const tr = $("events").querySelector(`tr[data-id="${view.selected}"]`);
  if (tr) { tr.classList.add("selected"); tr.scrollIntoView({ block: "nearest" }); }
}

function select(id, animateIt) {
  const event = view.byId.get(id);
  if (!event) return;
  view.selected = id;
  $("detail").dataset.id = id;
  markSelected();
  showDetail(event);
  if (animateIt) animate(event, true);
}

function step(direction) {
  if (!view.paused && !view.replay) setPaused(true);
  const shown = view.events.filter(visible);
  if (!shown.length) return;
  let at = shown.findIndex((e) => e.id === view.selected);
  at = at < 0 ? (direction > 0 ? 0 : shown.length - 1) : Math.min(shown.length - 1, Math.max(0, at + direction));
  select(shown[at].id, true);
}

// ---- the event panel --------------------------------------------------------

function layerTitle(layer) {
  return layer.layer === "app" ? layer.proto.toUpperCase() : layer.layer.toUpperCase();
}

function layerRows(layer) {
  if (layer.layer === "app") return layer.fields.map(([k, v]) => [k, v]);
  return Object.entries(layer).filter(([k]) => k !== "layer").map(([k, v]) => [k, String(v)]);
}

function hexDump(hex) {
  const lines = [];
  for (let i = 0; i < hex.length; i += 32) {
    const chunk = hex.slice(i, i + 32);
    const bytes = chunk.match(/../g) || [];
    const ascii = bytes.map((b) => { const c = parseInt(b, 16); return c >= 32 && c < 127 ? String.fromCharCode(c) : "."; }).join("");
    lines.push(`${(i / 2).toString(16).padStart(4, "0")}  ${bytes.join(" ").padEnd(47)}  ${ascii}`);
  }
  return lines.join("\n");
}

async function showDetail(event) {
  const panel = $("detail");
  const bytes = el("pre", { class: "bytes", id: "raw-bytes" }, "…");
  panel.replaceChildren(
    el("h2", {}, `Event ${event.id}: `, el("span", { class: `proto ${event.proto}` }, event.proto)),
    el("p", {}, ends(event), el("br"), el("code", {}, event.text)),
    el("p", { class: "hint" }, `path: ${event.hops.join(" → ") || "(from a TCP stream)"}`),
    ...event.layers.map((layer) => el("div", { class: "layer" }, el("h3", {}, layerTitle(layer)),
      table(["field", "value"], layerRows(layer)))),
    el("h3", {}, "bytes (first sighting)"), bytes);
  try {
    const answer = await fetch(`/api/events/${event.id}/raw`);
    const body = await answer.json();
    bytes.textContent = answer.ok ? hexDump(body.hex) : body.error;
  } catch (e) {
    bytes.textContent = `cannot fetch the bytes: ${e.message}`;
  }
}

// ---- the stream ---------------------------------------------------------------

function showCounts() {
  const c = view.counts;
  if (!c) return;
  const perSecond = view.lastDelivered === undefined ? 0 : c.delivered - view.lastDelivered;
  view.lastDelivered = c.delivered;
  const dropped = c.dropped_for_display + c.lagged;
  $("counts").textContent = `${c.frames} frames · ${c.events} events · ${perSecond}/s shown (max ${c.per_second}/s, bursts of ${c.burst}) · `
    + `${dropped} dropped for display${c.frames_dropped ? ` · ${c.frames_dropped} frames not decoded` : ""}`
    + ` · ${view.stats.notAnimated} not animated`;
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("pdu", (m) => receive(JSON.parse(m.data)));
  source.addEventListener("counts", (m) => { view.counts = JSON.parse(m.data); showCounts(); });
  source.onopen = () => showMode();
  source.onerror = () => { $("mode").textContent = "reconnecting…"; $("mode").className = "mode lost"; };
}

// ---- actions -------------------------------------------------------------------

async function post(path, body) {
  const answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Labctl-Web": "1" },
                                     body: JSON.stringify(body || {}) });
  const value = await answer.json();
  if (!answer.ok) throw new Error(value.error || answer.statusText);
  return value;
}

function say(text, passed) {
  const result = $("action-result");
  result.textContent = text;
  result.className = `result ${passed === undefined ? "" : passed ? "passed" : "failed"}`;
}

function diagnosisText(d) {
  return d ? `${d.message}${d.hint ? "\nlook at: " + d.hint : ""}` : "";
}

/** What a failed check's cause names on the topology: nodes, and links. */
function causeElements(check) {
  const cy = view.cy, found = [];
  const d = check.diagnosis;
  const words = `${d && d.cause ? d.cause : ""} ${d ? d.message : ""}`.split(/[\s,;:()'"]+/);
  for (const word of words) {
    const [name, iface] = word.split("/");
    const node = cy.getElementById(name);
    if (!node.length || !node.hasClass("device")) continue;
    found.push(node);
    if (iface) node.connectedEdges().filter((e) => e.id().split("--").includes(`${name}/${iface}`)).forEach((e) => found.push(e));
  }
  // Two named nodes with a cable between them: that cable.
  const nodes = found.filter((e) => e.isNode());
  for (let i = 0; i + 1 < nodes.length; i++) {
    nodes[i].edgesWith(nodes[i + 1]).forEach((e) => found.push(e));
  }
  return found;
}

function showReport(report, title) {
  const cy = view.cy;
  cy.elements().removeClass("check-passed check-failed");
  const list = $("check-results");
  list.replaceChildren();
  for (const check of report.checks) {
    list.append(el("li", { class: `check ${check.passed ? "passed" : "failed"}` },
      `${check.passed ? "PASS" : "FAIL"} ${check.name}`,
      check.passed ? null : el("span", { class: "diagnosis" }, diagnosisText(check.diagnosis))));
    const source = cy.getElementById(check.source);
    if (check.passed) {
      if (!source.hasClass("check-failed")) source.addClass("check-passed");
    } else {
      source.removeClass("check-passed").addClass("check-failed");
      for (const ele of causeElements(check)) {
        ele.removeClass("check-passed").addClass("check-failed");
        if (ele.isEdge()) ele.data("diagnosis", check.diagnosis.message.slice(0, 120));
      }
    }
  }
  const s = report.score;
  say(`${title}: ${s.passed} of ${s.checks} passed (${s.points}/${s.max_points} points)`, report.passed);
}

function busy(button, work) {
  return async () => {
    button.disabled = true;
    try { await work(); } catch (e) { say(e.message, false); } finally { button.disabled = false; }
  };
}

function wireActions() {
  $("run-checks").addEventListener("click", busy($("run-checks"), async () => {
    say("running the checks…");
    showReport(await post("/api/checks"), "checks");
  }));
  $("mail-send").addEventListener("click", busy($("mail-send"), async () => {
    say("sending…");
    const result = await post("/api/mail", { from: $("mail-from").value, to: $("mail-to").value,
      subject: $("mail-subject").value, body: $("mail-body").value });
    say(result.passed ? `sent from ${result.account}: ${result.reply}` : diagnosisText(result.diagnosis), result.passed);
  }));
  const probe = (kind) => busy($(`probe-${kind}`), async () => {
    const target = $("probe-target").value.trim();
    const body = kind === "ping" ? { from: $("probe-from").value, to: target } : { from: $("probe-from").value, url: target };
    say(`${kind}…`);
    const report = await post("/api/probe", body);
    const check = report.checks[0];
    say(check.passed ? `${check.name}: ${check.detail || "ok"}` : `${check.name}: ${diagnosisText(check.diagnosis)}`, check.passed);
  });
  $("probe-ping").addEventListener("click", probe("ping"));
  $("probe-fetch").addEventListener("click", probe("fetch"));
  $("pause").addEventListener("click", () => setPaused(!view.paused));
  $("step-back").addEventListener("click", () => step(-1));
  $("step-fwd").addEventListener("click", () => step(1));
  for (const id of ["filter-proto", "filter-node", "hide-arp"]) $(id).addEventListener("change", rerenderList);
  for (const id of ["show-addresses", "show-ifaces"]) $(id).addEventListener("change", () => view.status && refreshTopology(view.status));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select")) return;
    if (e.key === "ArrowLeft") step(-1);
    else if (e.key === "ArrowRight") step(1);
    else if (e.key === " ") { e.preventDefault(); setPaused(!view.paused); }
  });
}

for (const proto of PROTOS) $("filter-proto").append(el("option", { value: proto }, proto));
wireActions();
pollStatus().then(connect);
