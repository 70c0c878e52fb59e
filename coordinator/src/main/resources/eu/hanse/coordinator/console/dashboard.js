// The Hanse dashboard: reads /api/v1/overview, then follows /api/v1/events (server-sent events)
// and reads the overview again whenever something happened. No libraries, nothing from elsewhere.
"use strict";

const PHASES = ["download", "queue", "training", "encodeAndSign", "upload", "verifyAndFold"];
const PHASE_NAMES = { download: "download", queue: "batch queue", training: "training", encodeAndSign: "encode and sign",
  upload: "upload", verifyAndFold: "verify and fold", commit: "commit" };
const SITE_COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d"];

// What the page shows, and what the tests read (window.hanseDashboard).
const state = {
  ready: false, overview: null, liveEvents: 0, refreshes: 0, lastEvent: null,
  events: [], openRounds: {}, job: null, refreshTimer: null,
};
window.hanseDashboard = state;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") setStyle(node, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Styles through the CSSOM: the page's content security policy forbids style attributes.
function setStyle(node, text) {
  for (const declaration of text.split(";")) {
    const colon = declaration.indexOf(":");
    if (colon > 0) node.style.setProperty(declaration.slice(0, colon).trim(), declaration.slice(colon + 1).trim());
  }
}

function svg(tag, attributes, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  if (seconds < 129600) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " days ago";
}

function expiry(iso) {
  if (!iso) return el("span", { class: "muted" }, "unknown");
  const days = (Date.parse(iso) - Date.now()) / 86400000;
  const badge = days < 0 ? "bad" : days < 14 ? "warn" : "ok";
  const text = days < 0 ? "expired" : days < 2 ? Math.round(days * 24) + " h" : Math.round(days) + " days";
  return el("span", {}, el("span", { class: "badge " + badge }, text), " ", iso.slice(0, 10));
}

function stateBadge(siteState) {
  const kind = { online: "ok", offline: "warn", revoked: "bad" }[siteState] || "neutral";
  return el("span", { class: "badge " + kind }, siteState);
}

function replaceChildren(id, ...children) {
  document.getElementById(id).replaceChildren(...children);
}

// ----- data -----

async function refresh() {
  state.refreshTimer = null;
  let response;
  try {
    response = await fetch("/api/v1/overview", { credentials: "same-origin" });
  } catch (e) {
    setConnection("bad", "coordinator unreachable");
    return;
  }
  if (response.status === 401 || response.status === 403) {
    const body = await response.json();
    signedOut(body.error);
    return;
  }
  state.overview = await response.json();
  state.refreshes++;
  if (!state.job || !state.overview.jobs.some(job => job.job === state.job)) {
    const running = state.overview.jobs.find(job => job.state === "RUNNING");
    state.job = (running || state.overview.jobs[0] || {}).job || null;
  }
  render();
  if (!state.stream) follow(state.events.length > 0 ? state.events[0].seq : state.overview.eventSeq);
  state.ready = true;
}

function scheduleRefresh() {
  if (state.refreshTimer === null) state.refreshTimer = setTimeout(refresh, 700);
}

function follow(afterSeq) {
  state.stream = new EventSource("/api/v1/events?after=" + afterSeq);
  state.stream.onopen = () => setConnection("ok", "live");
  state.stream.onerror = () => {
    setConnection("warn", "reconnecting");
    if (state.stream.readyState === EventSource.CLOSED) {
      // Refused (signed out, say) rather than dropped: read the overview again, which says why.
      state.stream = null;
      scheduleRefresh();
    }
  };
  state.stream.onmessage = message => {
    const event = JSON.parse(message.data);
    state.liveEvents++;
    state.lastEvent = event;
    state.events.unshift(event);
    state.events.length = Math.min(state.events.length, 100);
    trackOpenRound(event);
    renderEvents();
    renderOpenRounds();
    scheduleRefresh();
  };
}

function trackOpenRound(event) {
  const key = event.job;
  if (event.type === "round.opened") {
    state.openRounds[key] = { round: event.round, participants: String(event.participants || "").split(",")
      .filter(Boolean), outcome: {}, opened: event.time };
  } else if ((event.type === "update.accepted" || event.type === "update.refused") && state.openRounds[key]) {
    state.openRounds[key].outcome[event.site] = event.type === "update.accepted" ? "accepted" : "refused";
  } else if (event.type === "round.committed" || (event.type || "").startsWith("job.")) {
    delete state.openRounds[key];
  }
}

function setConnection(kind, text) {
  const badge = document.getElementById("connection");
  badge.className = "badge " + kind;
  badge.textContent = text;
}

function signedOut(reason) {
  document.getElementById("signed-out").hidden = false;
  document.getElementById("signed-out-reason").textContent = reason || "";
  document.querySelectorAll(".view").forEach(view => view.classList.remove("active"));
  setConnection("neutral", "signed out");
  state.ready = true;
}

// ----- views -----

function render() {
  const overview = state.overview;
  document.getElementById("whoami").textContent = overview.whoami.identity + " (" + overview.whoami.role + ")";
  for (const select of document.querySelectorAll(".job-select")) {
    select.replaceChildren(...overview.jobs.map(job => el("option", { value: job.job }, job.job + " (" + job.state + ")")));
    select.value = state.job || "";
  }
  renderCards();
  renderSites();
  renderOpenRounds();
  renderEvents();
  renderTimeline();
  renderBytes();
  renderLoss();
  renderSecurity();
  showView();
}

function selectedJob() {
  return state.overview && state.overview.jobs.find(job => job.job === state.job);
}

function renderCards() {
  const overview = state.overview;
  const online = overview.sites.filter(site => site.state === "online").length;
  const running = overview.jobs.filter(job => job.state === "RUNNING").length;
  const committed = overview.jobs.reduce((sum, job) => sum + job.roundsCompleted, 0);
  const refused = overview.jobs.reduce((sum, job) => sum + job.rounds.reduce((n, round) => n + round.refusedSites.length, 0), 0);
  const card = (value, label) => el("div", { class: "card" }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
  replaceChildren("cards",
    card(online + " / " + overview.sites.length, "sites online"),
    card(running + " / " + overview.jobs.length, "jobs running"),
    card(committed, "rounds committed"),
    card(refused, "updates refused"),
    card(overview.audit.ok ? "intact" : "BROKEN", "audit trail, " + overview.audit.entries + " entries"));
}

function renderSites() {
  const rows = state.overview.sites.map(site => el("tr", { "data-site": site.site },
    el("td", {}, site.site), el("td", {}, stateBadge(site.state)), el("td", {}, site.device || "–"),
    el("td", {}, site.activity || "–", meter(site)), el("td", {}, ago(site.lastHeard)), el("td", {}, expiry(site.certificateExpires)),
    el("td", {}, site.lastRound ? bytes(site.lastUpdateBytes) + " in round " + site.lastRound : "–"),
    el("td", {}, site.lastUploadMBps ? site.lastUploadMBps.toFixed(1) + " MB/s" : "–")));
  document.querySelector("#sites tbody").replaceChildren(...rows);
}

// A bar for the phase the site last reported (from its heartbeats), when it is busy.
function meter(site) {
  if (!site.phase || site.phase === "idle" || site.state !== "online") return null;
  const percent = Math.round(100 * (site.progress || 0));
  return el("div", { class: "meter", title: site.phase + " " + percent + "%" },
    el("span", { style: "width:" + percent + "%" }), el("em", {}, site.phase + " " + percent + "%"));
}

function renderOpenRounds() {
  const open = Object.entries(state.openRounds);
  if (open.length === 0) {
    replaceChildren("open-rounds", "No round is open.");
    return;
  }
  replaceChildren("open-rounds", ...open.map(([job, round]) => el("div", { class: "open-round" },
    el("strong", {}, job + ": round " + round.round + " open"), " since " + ago(round.opened),
    el("div", { class: "progress" }, ...round.participants.map(site => el("span",
      { class: round.outcome[site] || "waiting" }, site + ": " + (round.outcome[site] || "training")))))));
}

function renderEvents() {
  replaceChildren("events", ...state.events.map(event => {
    const about = ["job", "round", "site", "reason"].filter(key => event[key] !== undefined && event[key] !== "")
      .map(key => key + "=" + event[key]).join(" ");
    return el("li", { class: event.type === "update.refused" ? "refused" : "" },
      (event.time || "").slice(11, 19) + " ", el("span", { class: "type" }, event.type), " " + about);
  }));
}

function renderTimeline() {
  replaceChildren("legend", ...PHASES.concat(["commit"]).map(phase =>
    el("span", {}, el("i", { class: "seg-" + phase }), PHASE_NAMES[phase])));
  const job = selectedJob();
  if (!job || job.rounds.length === 0) {
    replaceChildren("timeline", el("span", { class: "muted" }, "No round committed yet."));
    return;
  }
  const rounds = job.rounds.slice(-15);
  const longest = Math.max(...rounds.map(round => Math.max(round.seconds || 0, ...Object.values(round.phases || {})
    .map(phases => PHASES.reduce((sum, phase) => sum + (phases[phase] || 0), 0) + (round.commitSeconds || 0)))), 0.001);
  const width = seconds => (100 * seconds / longest).toFixed(2) + "%";
  replaceChildren("timeline", ...rounds.map(round => {
    const block = el("div", { class: "round", "data-round": round.round },
      el("div", { class: "label" }, "round " + round.round), el("div", { class: "muted" }, (round.seconds || 0).toFixed(1) + " s"));
    for (const [site, phases] of Object.entries(round.phases || {})) {
      const bar = el("div", { class: "bar", title: site });
      for (const phase of PHASES) {
        bar.append(el("span", { class: "seg-" + phase, style: "width:" + width(phases[phase] || 0),
          title: site + " " + PHASE_NAMES[phase] + ": " + (phases[phase] || 0).toFixed(2) + " s" }));
      }
      bar.append(el("span", { class: "seg-commit", style: "width:" + width(round.commitSeconds || 0),
        title: "commit: " + (round.commitSeconds || 0).toFixed(2) + " s" }));
      block.append(el("div", { class: "site" }, site), bar);
    }
    if (Object.keys(round.phases || {}).length === 0) block.append(el("div", {}), el("div", { class: "muted" }, "no timings"));
    return block;
  }));
}

function renderBytes() {
  const job = selectedJob();
  if (!job || job.rounds.length === 0) {
    replaceChildren("bytes", el("span", { class: "muted" }, "No round committed yet."));
    return;
  }
  const totals = job.rounds.slice(-30).map(round => [round.round,
    Object.values(round.bytesUploaded || {}).reduce((sum, n) => sum + n, 0)]);
  const most = Math.max(...totals.map(([, total]) => total), 1);
  replaceChildren("bytes", ...totals.map(([round, total]) => el("div", { class: "col", title: bytes(total) + " (" + job.codec + ")" },
    el("span", {}, bytes(total)), el("div", { style: "height:" + (120 * total / most).toFixed(1) + "px" }),
    el("span", {}, "r" + round), el("span", { class: "muted" }, job.codec))));
}

function renderLoss() {
  const chart = document.getElementById("loss-chart");
  const job = selectedJob();
  chart.replaceChildren();
  if (!job || job.heldOutLoss.length === 0) {
    chart.append(svg("text", { x: 20, y: 30 }, "No loss reported yet."));
    replaceChildren("loss-legend");
    return;
  }
  const series = [{ name: "global (held-out)", colour: "#111827", points: job.heldOutLoss.map((loss, round) => [round, loss])
    .filter(([, loss]) => loss !== null) }];
  job.sites.forEach((site, i) => series.push({ name: site + " (training)", colour: SITE_COLOURS[i % SITE_COLOURS.length],
    points: job.rounds.filter(round => round.trainLoss && round.trainLoss[site] !== undefined)
      .map(round => [round.round, round.trainLoss[site]]) }));
  const all = series.flatMap(s => s.points);
  const maxRound = Math.max(1, ...all.map(([round]) => round));
  const low = Math.min(...all.map(([, loss]) => loss)), high = Math.max(...all.map(([, loss]) => loss));
  const span = high - low || 1;
  const x = round => 50 + 730 * round / maxRound, y = loss => 290 - 260 * (loss - low) / span;
  chart.append(svg("line", { x1: 50, y1: 290, x2: 780, y2: 290, stroke: "#c5ccd6" }),
    svg("line", { x1: 50, y1: 30, x2: 50, y2: 290, stroke: "#c5ccd6" }),
    svg("text", { x: 4, y: 34 }, high.toFixed(3)), svg("text", { x: 4, y: 290 }, low.toFixed(3)),
    svg("text", { x: 50, y: 308 }, "round 0"), svg("text", { x: 730, y: 308 }, "round " + maxRound));
  for (const s of series) {
    if (s.points.length === 0) continue;
    chart.append(svg("polyline", { fill: "none", stroke: s.colour, "stroke-width": 2,
      points: s.points.map(([round, loss]) => x(round).toFixed(1) + "," + y(loss).toFixed(1)).join(" ") }));
    for (const [round, loss] of s.points) {
      chart.append(svg("circle", { cx: x(round), cy: y(loss), r: 3, fill: s.colour }, undefined));
    }
  }
  replaceChildren("loss-legend", ...series.map(s => el("span", {}, el("i", { style: "background:" + s.colour }), s.name)));
}

function renderSecurity() {
  const audit = state.overview.audit;
  replaceChildren("audit", el("span", { class: "badge " + (audit.ok ? "ok" : "bad") }, audit.ok ? "intact" : "broken"),
    " " + audit.description);
  const refused = state.overview.jobs.flatMap(job => job.rounds.flatMap(round => round.refusedSites.map(site =>
    el("tr", {}, el("td", {}, job.job), el("td", {}, round.round), el("td", {}, site.site),
      el("td", {}, el("span", { class: "badge bad" }, site.reason)), el("td", {}, site.message)))));
  document.querySelector("#refused tbody").replaceChildren(...refused.reverse());
  document.getElementById("no-refusals").hidden = refused.length > 0;
}

function showView() {
  const view = (location.hash || "#overview").slice(1);
  document.querySelectorAll(".view").forEach(section => section.classList.toggle("active", section.id === "view-" + view));
  document.querySelectorAll("nav a").forEach(link => link.classList.toggle("active", link.dataset.view === view));
}

window.addEventListener("hashchange", showView);
document.addEventListener("change", event => {
  if (event.target.classList.contains("job-select")) {
    state.job = event.target.value;
    render();
  }
});
setInterval(() => { if (state.overview) { renderSites(); renderOpenRounds(); } }, 5000);
refresh();
