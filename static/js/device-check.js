// Device and network check before a session: camera preview, microphone level, a test
// sound, a loopback call between two peer connections in this page, and the delay and
// bandwidth to the platform. Nothing leaves the device except the network test's bytes.
(function () {
  "use strict";
  var root = document.getElementById("device-check");
  if (!root) return;
  var text = JSON.parse(document.getElementById("check-text").textContent);
  var results = document.getElementById("results");

  function say(message, ok) {
    var item = document.createElement("li");
    item.textContent = (ok === false ? "✗ " : ok ? "✓ " : "• ") + message;
    results.appendChild(item);
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function meter(stream) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !stream.getAudioTracks().length) return;
    var ctx = new Ctx();
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    var data = new Uint8Array(analyser.fftSize);
    var level = document.getElementById("mic-level");
    var end = Date.now() + 120000; // stop after two minutes
    (function tick() {
      analyser.getByteTimeDomainData(data);
      var peak = 0;
      for (var i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i] - 128) / 128);
      level.value = peak;
      if (Date.now() < end) requestAnimationFrame(tick);
    })();
  }

  function loopback(stream) {
    // Two peer connections in this page: the same path a call takes, without a server.
    var a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.onicecandidate = function (e) { if (e.candidate) b.addIceCandidate(e.candidate); };
    b.onicecandidate = function (e) { if (e.candidate) a.addIceCandidate(e.candidate); };
    b.ontrack = function (e) { document.getElementById("loopback").srcObject = e.streams[0]; };
    stream.getTracks().forEach(function (t) { a.addTrack(t, stream); });
    var done = false;
    b.onconnectionstatechange = function () {
      if (b.connectionState === "connected" && !done) { done = true; say(text.call_ok, true); }
    };
    setTimeout(function () {
      if (!done) { done = true; say(text.call_failed, false); }
      setTimeout(function () { a.close(); b.close(); }, 20000);
    }, 10000);
    return a.createOffer()
      .then(function (o) { return a.setLocalDescription(o); })
      .then(function () { return b.setRemoteDescription(a.localDescription); })
      .then(function () { return b.createAnswer(); })
      .then(function (o) { return b.setLocalDescription(o); })
      .then(function () { return a.setRemoteDescription(b.localDescription); });
  }

  function timed(url, options) {
    var started = performance.now();
    return fetch(url, options).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.arrayBuffer();
    }).then(function () { return performance.now() - started; });
  }

  function network() {
    var ping = root.dataset.ping;
    var rtts = [];
    var chain = Promise.resolve();
    for (var i = 0; i < 5; i++) {
      chain = chain.then(function () {
        return timed(ping + "?bytes=1&t=" + Math.random(), { cache: "no-store" })
          .then(function (ms) { rtts.push(ms); });
      });
    }
    var bytes = 500000, down, up;
    return chain.then(function () {
      rtts.sort(function (x, y) { return x - y; });
      say(fill(text.rtt, { ms: Math.round(rtts[2]) }));
      return timed(ping + "?bytes=" + bytes + "&t=" + Math.random(), { cache: "no-store" });
    }).then(function (ms) {
      down = bytes * 8 / (ms / 1000) / 1e6;
      say(fill(text.down, { mbps: down.toFixed(1) }));
      return timed(ping, {
        method: "POST", body: new Uint8Array(200000),
        headers: { "X-CSRFToken": root.dataset.csrf, "Content-Type": "application/octet-stream" },
      });
    }).then(function (ms) {
      up = 200000 * 8 / (ms / 1000) / 1e6;
      say(fill(text.up, { mbps: up.toFixed(1) }));
      // A mesh call of up to 6 sends to and receives from everyone; 1 Mbit/s each way
      // carries a small video, under 0.1 Mbit/s not even voice reliably.
      var worst = Math.min(down, up);
      if (worst >= 1) say(text.video_ok, true);
      else if (worst >= 0.1) say(text.audio_only, false);
      else say(text.too_weak, false);
    }).catch(function () { say(text.network_failed, false); });
  }

  document.getElementById("play-tone").addEventListener("click", function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 1.5);
  });

  document.getElementById("start-check").addEventListener("click", function () {
    results.textContent = "";
    document.getElementById("permission-help").hidden = true;
    if (!window.RTCPeerConnection || !navigator.mediaDevices) {
      say(text.webrtc_missing, false);
      network();
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } })
      .catch(function (error) {
        if (error.name === "NotFoundError" || error.name === "OverconstrainedError") {
          say(text.no_camera, false);
          return navigator.mediaDevices.getUserMedia({ audio: true });
        }
        throw error;
      })
      .then(function (stream) {
        document.getElementById("preview").srcObject = stream;
        if (stream.getVideoTracks().length) say(text.camera_ok, true);
        if (stream.getAudioTracks().length) say(text.mic_ok, true);
        meter(stream);
        return loopback(stream);
      })
      .catch(function (error) {
        if (error.name === "NotAllowedError" || error.name === "SecurityError") {
          say(text.denied, false);
          document.getElementById("permission-help").hidden = false;
        } else if (error.name === "NotFoundError") {
          say(text.no_mic, false);
        } else {
          say(String(error), false);
        }
      })
      .then(network);
  });
})();
