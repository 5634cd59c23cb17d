// The reference for bench/signaling_rush.py: the room protocol's admission and relay on the
// npm "socket.io" server (one process), with no database and no checks beyond the layout's
// one rule: members meet once cleared (the mediator always; a party once admitted,
// identified and warned). Each change sends everyone present a "layout" and a "roster", as
// the platform does; "signal" goes to "participant:<to>". bench/node/relay.js is the
// relay-only reference of bench/signaling_capacity.py.
//
//   node bench/node/rush_relay.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 5100);
const server = http.createServer((req, res) => { res.writeHead(200); res.end("ok"); });
// WebSocket only, no per-message compression: the same as the platform's clients.
const io = new Server(server, { transports: ["websocket"], perMessageDeflate: false });
const rooms = new Map(); // session -> {version, members: Map(id -> member)}

function cleared(m) { return m.role === "mediator" || (m.admitted && m.identified && m.warned); }

function layoutFor(room, me) {
  const peers = cleared(me)
    ? [...room.members.values()].filter((m) => m !== me && m.present && cleared(m)).map((m) => m.id)
    : [];
  return { version: room.version, peers, group: cleared(me) ? "main" : "lobby" };
}

function broadcast(room) {
  room.version += 1;
  const roster = [...room.members.values()].map((m) => ({
    id: m.id, role: m.role, present: m.present, admitted: m.admitted,
    identity_confirmed: m.identified, warning_acknowledged: m.warned,
  }));
  for (const m of room.members.values()) {
    if (!m.present) continue;
    io.of("/room").to("participant:" + m.id).emit("layout", layoutFor(room, m));
    io.of("/room").to("participant:" + m.id).emit("roster", { members: roster, version: room.version });
  }
}

io.of("/room").on("connection", (socket) => {
  const { participant, session, role } = socket.handshake.auth;
  const me = Number(participant);
  if (!rooms.has(session)) rooms.set(session, { version: 0, members: new Map() });
  const room = rooms.get(session);
  const member = room.members.get(me) || { id: me, role, admitted: role === "mediator" };
  member.present = true;
  room.members.set(me, member);
  socket.join("participant:" + me);
  socket.emit("welcome", { you: { id: me, role }, layout: layoutFor(room, member) });
  broadcast(room);
  const target = (data) => data && room.members.get(Number(data.participant));
  socket.on("admit", (data) => { const t = target(data); if (t) { t.admitted = true; broadcast(room); } });
  socket.on("confirm_identity", (data) => { const t = target(data); if (t) { t.identified = true; broadcast(room); } });
  socket.on("acknowledge_warning", () => { member.warned = true; broadcast(room); });
  socket.on("signal", (data) => {
    if (!data || typeof data.to !== "number") return;
    const to = room.members.get(data.to);
    if (!to || !cleared(member) || !cleared(to)) return;
    socket.to("participant:" + data.to).emit("signal", {
      from: me, epoch: 1, kind: data.kind, payload: data.payload, version: room.version,
    });
  });
  socket.on("disconnect", () => {
    member.present = false;
    broadcast(room);
    if ([...room.members.values()].every((m) => !m.present)) rooms.delete(session);
  });
});

server.listen(port, "127.0.0.1", () => console.log("rush relay listening on " + port));
