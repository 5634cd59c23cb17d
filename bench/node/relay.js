// The reference for bench/signaling_capacity.py: a minimal socket.io relay (the npm
// "socket.io" package, one process) speaking the room protocol's "signal" event without any
// checks: a client names its participant id in the handshake, joins "participant:<id>" and
// each "signal" goes to "participant:<to>". What Python adds on top (authentication, the
// layout check on every message) is what the comparison prices.
//
//   node bench/node/relay.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 5100);
const server = http.createServer((req, res) => { res.writeHead(200); res.end("ok"); });
// WebSocket only, no per-message compression: the same as the platform's clients.
const io = new Server(server, { transports: ["websocket"], perMessageDeflate: false });

io.of("/room").on("connection", (socket) => {
  const me = Number(socket.handshake.auth.participant);
  socket.join("participant:" + me);
  socket.emit("welcome", { you: { id: me }, layout: { version: 1 } });
  socket.on("signal", (data) => {
    if (!data || typeof data.to !== "number") return;
    socket.to("participant:" + data.to).emit("signal", {
      from: me, epoch: 1, kind: data.kind, payload: data.payload, version: data.version,
    });
  });
});

server.listen(port, "127.0.0.1", () => console.log("relay listening on " + port));
