// Load generator of bench/signaling_capacity.py, with the official socket.io-client: opens
// many room connections (WebSocket transport), then relays "signal" messages between pairs
// of them at rising rates and measures, per rate, the time from emit to arrival at the peer
// (one process, one clock) and how many never arrived.
//
//   node bench/node/load.js CONFIG.json   -> JSON on stdout
//
// CONFIG: {url, seconds, budgetMs, concurrency, rates: [msg/s, ...], pid,
//          clients: [{auth, cookie, id, peer}, ...]}
// With "pid" (the server's process), the server's CPU time (user + system, from /proc) is
// read around the connections and around each rate step: CPU per connect and per relayed
// message, steadier than rates on a shared machine. "extensions" reports the WebSocket
// extensions each server negotiated (the comparison is fair only if they are the same).
"use strict";
const fs = require("fs");
const { performance } = require("perf_hooks");
const { io } = require("socket.io-client");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const FILLER = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ".repeat(6);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let step = -1;
let latencies = [];
let errors = {};
const extensions = {};

// The server's CPU seconds so far (utime + stime), or null without a pid.
function serverCpu() {
  if (!cfg.pid) return null;
  const stat = fs.readFileSync(`/proc/${cfg.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function open(client) {
  return new Promise((resolve) => {
    const socket = io(cfg.url + "/room", {
      transports: ["websocket"], forceNew: true, reconnection: false, timeout: 30000,
      auth: client.auth, extraHeaders: client.cookie ? { Cookie: client.cookie } : {},
    });
    const state = { socket, client, version: 0, ok: false };
    const done = (ok) => { if (!state.settled) { state.settled = true; state.ok = ok; resolve(state); } };
    socket.on("welcome", (w) => {
      const ws = socket.io.engine && socket.io.engine.transport && socket.io.engine.transport.ws;
      const negotiated = (ws && ws.extensions) || "none";
      extensions[negotiated] = (extensions[negotiated] || 0) + 1;
      state.version = w.layout.version;
      done(true);
    });
    socket.on("layout", (l) => { if (l.version > state.version) state.version = l.version; });
    socket.on("signal", (m) => {
      const p = m.payload;
      if (p && p.step === step) latencies.push(performance.now() - p.t);
    });
    socket.on("error", (e) => { errors[e.code] = (errors[e.code] || 0) + 1; });
    socket.on("connect_error", () => done(false));
    socket.on("disconnect", () => { state.gone = true; done(false); });
    setTimeout(() => done(false), 60000);
  });
}

async function connectAll() {
  const states = [];
  let next = 0;
  const started = performance.now();
  const cpuBefore = serverCpu();
  async function lane() {
    while (next < cfg.clients.length) states.push(await open(cfg.clients[next++]));
  }
  await Promise.all(Array.from({ length: cfg.concurrency }, lane));
  const cpu = cpuBefore === null ? null : serverCpu() - cpuBefore;
  return { states, seconds: (performance.now() - started) / 1000, cpu };
}

function percentile(sorted, share) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.round(share * sorted.length) - 1)];
}

async function run(states, rate, index) {
  const live = states.filter((s) => s.ok && !s.gone);
  step = index;
  latencies = [];
  let sent = 0;
  let cursor = 0;
  const cpuBefore = serverCpu();
  const started = performance.now();
  const end = started + cfg.seconds * 1000;
  while (performance.now() < end) {
    const due = Math.floor((rate * (performance.now() - started)) / 1000);
    for (; sent < due; sent++) {
      const s = live[cursor++ % live.length];
      s.socket.emit("signal", {
        to: s.client.peer, kind: "candidate", version: s.version,
        payload: { candidate: FILLER, step: index, seq: sent, t: performance.now() },
      });
    }
    await sleep(5);
  }
  const elapsed = (performance.now() - started) / 1000;
  // Drain: what has not arrived 2 s after the last emit counts as lost.
  const drainEnd = performance.now() + 2000;
  while (latencies.length < sent && performance.now() < drainEnd) await sleep(20);
  const sorted = latencies.slice().sort((a, b) => a - b);
  step = -1;
  const cpu = cpuBefore === null ? null : serverCpu() - cpuBefore;
  return {
    rate, sent, received: sorted.length, lost: sent - sorted.length, cpu,
    cpuPerMessageUs: cpu === null || !sorted.length ? null : (cpu * 1e6) / sorted.length,
    achieved: sent / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99),
  };
}

(async () => {
  const { states, seconds, cpu } = await connectAll();
  const connected = states.filter((s) => s.ok).length;
  // Warm-up, not counted: the server's first messages prepare statements and caches.
  if (connected > 0) await run(states, Math.max(50, cfg.rates[0] / 2), 1000);
  const steps = [];
  for (let i = 0; i < cfg.rates.length && connected > 0; i++) {
    const result = await run(states, cfg.rates[i], i);
    result.stillConnected = states.filter((s) => s.ok && !s.gone).length;
    steps.push(result);
    if (result.lost > 0 || result.p99 === null || result.p99 > cfg.budgetMs) break;
    await sleep(500);
  }
  states.forEach((s) => s.socket.close());
  process.stdout.write(JSON.stringify({
    clients: cfg.clients.length, connected, connectSeconds: seconds, connectCpu: cpu, steps, errors, extensions,
  }) + "\n");
  process.exit(0);
})();
