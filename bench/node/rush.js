// Load generator of bench/signaling_rush.py, with the official socket.io-client: rooms of
// four arrive at RATE rooms a minute for SECONDS. Each room's four connect at once (the
// session id in the URL's query, as the room page sends it for nginx), the mediator admits
// and identifies each party as it appears in the roster, the parties acknowledge the
// warning, and every pair the layout joins negotiates: the lower id sends an offer and
// CANDIDATES candidates, the other answers with as many. A room is ready when each of its
// four has every message of every peer; its time from arrival to ready is measured (one
// process, one clock). A ready room keeps a trickle (one candidate per member every
// TRICKLE ms) until the step ends. Lost: relayed messages sent and never received.
//
//   node bench/node/rush.js CONFIG.json   -> JSON on stdout
//
// CONFIG: {url, rate, seconds, timeoutMs, trickleMs, candidates,
//          rooms: [[{auth, cookie, id, role, session}, x4], ...]}
"use strict";
const fs = require("fs");
const { performance } = require("perf_hooks");
const { io } = require("socket.io-client");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ".repeat(2);
const OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".repeat(60); // ~2 KB, an SDP's size
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A hard stop: whatever happens, this process ends.
setTimeout(() => { console.error("rush.js: hard stop"); process.exit(2); }, (cfg.seconds * 1000 + cfg.timeoutMs) * 2 + 60000);

let sent = 0;
let received = 0;
let events = 0;
let connectFailures = 0;
const errors = {};
const sockets = [];
let trickling = true;

function runRoom(members) {
  return new Promise((resolve) => {
    const started = performance.now();
    const ids = members.map((m) => m.id);
    const expected = 1 + cfg.candidates; // an offer or an answer, and its candidates
    let ready = 0;
    let settled = false;
    const finish = (ok) => {
      if (settled) return;
      settled = true;
      resolve({ ok, ms: performance.now() - started });
    };
    setTimeout(() => finish(false), cfg.timeoutMs);
    for (const m of members) {
      const socket = io(cfg.url + "/room", {
        transports: ["websocket"], forceNew: true, reconnection: false, timeout: cfg.timeoutMs,
        auth: m.auth, query: { session: String(m.session) },
        extraHeaders: m.cookie ? { Cookie: m.cookie } : {},
      });
      sockets.push(socket);
      const me = { version: 0, offered: new Set(), answered: new Set(), got: new Map(), done: false, asked: new Set(), confirmed: new Set() };
      const others = ids.filter((id) => id !== m.id);
      const signal = (to, kind, payload) => {
        sent += 1;
        socket.emit("signal", { to, kind, version: me.version, payload });
      };
      const burst = (to, kind, body) => {
        signal(to, kind, { sdp: body });
        for (let i = 0; i < cfg.candidates; i++) signal(to, "candidate", { candidate: CANDIDATE, i });
      };
      socket.onAny(() => { events += 1; });
      socket.on("welcome", (w) => {
        me.version = w.layout.version;
        if (m.role !== "mediator") socket.emit("acknowledge_warning", {});
      });
      socket.on("connect_error", () => { connectFailures += 1; finish(false); });
      socket.on("error", (e) => { const k = e.code + ":" + e.event; errors[k] = (errors[k] || 0) + 1; });
      socket.on("roster", (r) => {
        if (m.role !== "mediator") return;
        // As a mediator does: admit whom the lobby shows, then confirm who they are.
        for (const x of r.members) {
          if (!x.present || x.role === "mediator") continue;
          if (!x.admitted && !me.asked.has(x.id)) {
            me.asked.add(x.id);
            socket.emit("admit", { participant: x.id });
          } else if (x.admitted && !x.identity_confirmed && !me.confirmed.has(x.id)) {
            me.confirmed.add(x.id);
            socket.emit("confirm_identity", { participant: x.id });
          }
        }
      });
      socket.on("layout", (l) => {
        if (l.version < me.version) return;
        me.version = l.version;
        for (const peer of l.peers) {
          if (m.id < peer && !me.offered.has(peer)) {
            me.offered.add(peer);
            burst(peer, "offer", OFFER);
          }
        }
      });
      socket.on("signal", (s) => {
        received += 1;
        if (s.kind === "offer" && !me.answered.has(s.from)) {
          me.answered.add(s.from);
          burst(s.from, "answer", OFFER);
        }
        if (me.done || (s.payload && s.payload.trickle)) return;
        me.got.set(s.from, (me.got.get(s.from) || 0) + 1);
        if (others.every((p) => (me.got.get(p) || 0) >= expected)) {
          me.done = true;
          ready += 1;
          if (ready === members.length) finish(true);
          trickle(m.id, others, signal);
        }
      });
    }
  });
}

async function trickle(id, others, signal) {
  let n = 0;
  await sleep(Math.random() * cfg.trickleMs);
  while (trickling) {
    signal(others[n++ % others.length], "candidate", { candidate: CANDIDATE, trickle: true });
    await sleep(cfg.trickleMs);
  }
}

function percentile(sorted, share) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.round(share * sorted.length) - 1)];
}

(async () => {
  const started = performance.now();
  const every = 60000 / cfg.rate;
  const pending = [];
  for (let i = 0; i < cfg.rooms.length; i++) {
    const due = started + i * every;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(runRoom(cfg.rooms[i]));
  }
  const rooms = await Promise.all(pending);
  trickling = false;
  // Drain: what has not arrived 2 s after the last emit counts as lost.
  const drainEnd = performance.now() + 2000;
  while (received < sent && performance.now() < drainEnd) await sleep(20);
  const ms = rooms.map((r) => (r.ok ? r.ms : Infinity)).sort((a, b) => a - b);
  const elapsed = (performance.now() - started) / 1000;
  sockets.forEach((s) => s.close());
  const p = (x) => (x === null || x === Infinity ? null : x);
  process.stdout.write(JSON.stringify({
    rate: cfg.rate, rooms: rooms.length, ready: rooms.filter((r) => r.ok).length,
    p50: p(percentile(ms, 0.5)), p99: p(percentile(ms, 0.99)),
    sent, received, lost: Math.max(0, sent - received), events, seconds: elapsed,
    connectFailures, errors,
  }) + "\n");
  await sleep(300);
  process.exit(0);
})();
