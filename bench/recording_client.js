// The participant side of bench/recording_capacity.py: a minimal client of the room protocol
// (docs/signaling.md) that sends its fake camera and microphone to the recorder only, as
// the platform's client does (reduced picture), so that a browser can hold many of them.
// Injected into a page of the platform (for its login cookie) with socket.io loaded.
(function () {
  "use strict";
  var RECORDER = 0;
  var state = { welcome: false, connected: false, version: 0 };
  window.bench = state;
  var socket = io("/room", { auth: { session: window.BENCH_SESSION }, transports: ["websocket"] });
  var pc = null, epoch = null, early = [];
  var media = navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 640, height: 360, frameRate: 24 },
  });
  function send(kind, payload) {
    socket.emit("signal", { to: RECORDER, kind: kind, payload: payload, version: state.version });
  }
  function layout(l) {
    if (l.version < state.version) return;
    state.version = l.version;
    var wanted = l.peers.indexOf(RECORDER) >= 0;
    var recorderEpoch = (l.epochs || {})[String(RECORDER)];
    if (pc && (!wanted || recorderEpoch !== epoch)) { pc.close(); pc = null; }
    if (wanted && !pc) open(recorderEpoch);
  }
  function open(recorderEpoch) {
    epoch = recorderEpoch;
    pc = new RTCPeerConnection({ iceServers: [] });
    var mine = pc;
    pc.onicecandidate = function (e) { if (e.candidate) send("candidate", e.candidate.toJSON()); };
    pc.onconnectionstatechange = function () { state.connected = mine.connectionState === "connected"; };
    return media.then(function (stream) {
      stream.getTracks().forEach(function (t) { mine.addTrack(t, stream); });
    });
  }
  function signal(m) {
    if (m.from !== RECORDER || !pc) return;
    var mine = pc;
    if (m.kind === "offer") {
      open.pending = (open.pending || Promise.resolve()).then(function () {
        return media.then(function () { return mine.setRemoteDescription(m.payload); })
          .then(function () { early.splice(0).forEach(function (c) { mine.addIceCandidate(c); }); })
          .then(function () { return mine.createAnswer(); })
          .then(function (answer) { return mine.setLocalDescription(answer); })
          .then(function () { send("answer", mine.localDescription.toJSON()); })
          .then(function () {
            mine.getSenders().forEach(function (s) {
              if (!s.track || s.track.kind !== "video") return;
              var p = s.getParameters();
              (p.encodings || []).forEach(function (e) {
                e.scaleResolutionDownBy = 2; e.maxFramerate = 15; e.maxBitrate = 300000;
              });
              s.setParameters(p);
            });
          });
      });
    } else if (m.kind === "candidate") {
      if (mine.remoteDescription) mine.addIceCandidate(m.payload).catch(function () {});
      else early.push(m.payload);
    }
  }
  socket.on("welcome", function (w) { state.welcome = true; layout(w.layout); });
  socket.on("layout", layout);
  socket.on("signal", signal);
  state.end = function () { socket.emit("end", {}); };
})();
