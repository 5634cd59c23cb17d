// The videos: a tile per peer (peers.js asks for it with the connection), the person
// speaking shown largest, and each tile's connection quality from getStats (which the
// browser tests read too: window.roomStats).
(function (room) {
  "use strict";
  var $ = room.$, text = room.text;

  var heard = {}; // participant id -> true once sound or picture came on their connection

  // A peer's tile: made with the connection, named at once; the picture follows.
  room.tile = function (id) {
    var existing = $("tile-" + id);
    if (existing) return existing;
    var figure = document.createElement("figure");
    figure.id = "tile-" + id;
    figure.className = "tile";
    figure.innerHTML = '<video autoplay playsinline></video><figcaption><span class="name"></span> <span class="quality"></span></figcaption>';
    figure.querySelector(".name").textContent = room.captionOf(id);
    $("tiles").appendChild(figure);
    arrange();
    return figure;
  };

  room.untile = function (id) {
    delete heard[id]; // a connection made anew (a caucus over, a reload) starts unheard
    delete previous[id]; // and its loss is counted from its own start
    delete looked[id];
    var figure = $("tile-" + id);
    if (figure) figure.remove();
    arrange();
  };

  // "Name · mediator", "Name · Applicant", "Name · Applicant agent": who is on a tile.
  room.captionOf = function (id) {
    var m = room.memberOf(id);
    if (!m) return "";
    var role = m.role === "mediator" ? text.mediator
      : m.side ? text[(m.role === "agent" ? "agent_" : "") + m.side] : "";
    return m.name + (role ? " · " + role : "") + (m.hand_raised ? " · " + text.hand : "");
  };

  // The videos: the person speaking, else the mediator (for a party), is the largest.
  var featured = null;
  var speaker = null;
  function arrange() {
    var tiles = Array.from($("tiles").children);
    var ids = tiles.map(function (f) { return Number(f.id.slice(5)); });
    var mediator = room.roster.find(function (m) { return m.role === "mediator"; });
    var pick = ids.indexOf(speaker) >= 0 ? speaker
      : ids.indexOf(featured) >= 0 ? featured
      : mediator && ids.indexOf(mediator.id) >= 0 ? mediator.id
      : ids.length ? ids[0] : null;
    featured = pick;
    tiles.forEach(function (f, i) {
      f.classList.toggle("featured", ids[i] === pick);
      f.style.order = ids[i] === pick ? "-1" : "0";
    });
    $("tiles").classList.toggle("many", tiles.length > 1);
    $("tiles").style.setProperty("--others", String(Math.max(1, tiles.length - 1)));
    $("stage").classList.toggle("alone", tiles.length === 0 && !room.over);
  }
  room.arrange = arrange;

  // -- network quality per tile (and for tests: what is really received) --------------
  // What each connection with a peer has received so far ({now}), and the connections read
  // ({of}: a sample of one that was since made anew says nothing of the new one).
  function sample() {
    var now = {}, of = {};
    var peers = room.peers;
    var people = Array.from(peers.entries.values()).filter(function (entry) { return entry.id !== peers.RECORDER; });
    return Promise.all(people.map(function (entry) {
      return entry.pc.getStats().then(function (report) {
        // "media": whether the layout lets media flow on it (false: a lobby link).
        var s = {
          framesDecoded: 0, audioLevel: 0, audioBytes: 0, rtt: null, lost: 0, received: 0,
          transportBytes: 0, media: entry.media, connected: entry.pc.connectionState === "connected",
          // For a failure's report: how far the connection got.
          signaling: entry.pc.signalingState, ice: entry.pc.iceConnectionState,
          gathering: entry.pc.iceGatheringState,
        };
        report.forEach(function (r) {
          if (r.type === "inbound-rtp" && r.kind === "video") {
            s.framesDecoded += r.framesDecoded || 0; s.lost += r.packetsLost || 0; s.received += r.packetsReceived || 0;
            s.frameWidth = r.frameWidth; s.frameHeight = r.frameHeight;
          }
          if (r.type === "inbound-rtp" && r.kind === "audio") { s.audioLevel = Math.max(s.audioLevel, r.audioLevel || 0); s.audioBytes += r.bytesReceived || 0; s.lost += r.packetsLost || 0; s.received += r.packetsReceived || 0; }
          // Anything at all: media, or the reports a peer that sends nothing still sends
          // about what it receives.
          if (r.type === "transport") s.transportBytes += r.bytesReceived || 0;
        });
        // The round trip of the pair in use: after an ICE restart the pair before it is
        // still listed as "succeeded", with the round trip it last measured (during the
        // outage that caused the restart), and it could be the one read.
        report.forEach(function (r) {
          if (r.type !== "transport" || !r.selectedCandidatePairId) return;
          var pair = report.get(r.selectedCandidatePairId);
          if (pair && pair.currentRoundTripTime !== undefined) s.rtt = pair.currentRoundTripTime;
        });
        now[entry.id] = s;
        of[entry.id] = entry;
      });
    })).then(function () { return { now: now, of: of }; });
  }
  window.roomStats = function () { return sample().then(function (taken) { return taken.now; }); };

  // The person speaking is shown largest once they are clearly the loudest twice running
  // (a cough does not move the pictures about).
  var loudest = null;
  function followSpeaker(now) {
    var levels = Object.keys(now).map(function (id) { return [Number(id), now[id].audioLevel || 0]; })
      .sort(function (x, y) { return y[1] - x[1]; });
    var top = levels[0];
    var clear = top && top[1] > 0.05 && (levels.length < 2 || top[1] > 2 * levels[1][1]);
    var candidate = clear ? top[0] : null;
    if (candidate !== null && candidate === loudest && candidate !== speaker) {
      speaker = candidate;
      arrange();
    }
    loudest = candidate;
    document.querySelectorAll("#tiles .tile").forEach(function (f) {
      f.classList.toggle("speaking", clear && f.id === "tile-" + top[0]);
    });
  }

  // Every 3 s: who speaks, and each tile's quality. Stopped at the end (room.js, finish).
  // Samples are applied in the order they were taken (a look and a quick one may overlap),
  // to the connections they were taken of.
  var previous = {};
  var looked = {}; // participant id -> what the last look found (see look)
  var taken = 0, applied = 0;
  function sampled(apply) {
    var seq = ++taken;
    return sample().then(function (got) {
      if (seq < applied || room.over) return;
      applied = seq;
      Object.keys(got.now).forEach(function (id) {
        if (room.peers.entries.get(Number(id)) !== got.of[id]) delete got.now[id];
      });
      apply(got.now);
    });
  }

  var statsTimer = null;
  room.watchStage = function () {
    statsTimer = setInterval(function () {
      sampled(function (now) {
        followSpeaker(now);
        Object.keys(now).forEach(function (id) { look(id, now[id], previous[id]); });
        previous = now;
        watchForReturn();
      });
    }, 3000);
  };

  function look(id, s, before) {
    before = before || { framesDecoded: 0, audioBytes: 0 };
    if (!$("tile-" + id)) return;
    // Loss as it is now, not over the whole call: after a bad stretch (the edge of a cell)
    // the label followed the network back only minutes later, if ever. The loss of the last
    // look's packets, weighed equally with the rate before it (a few hundred packets are
    // noisy); a connection made anew counts from its own start. (Fewer lost than before is
    // late packets counted again, not a new connection.)
    var lost = Math.max(0, s.lost - (before.lost || 0)), got = s.received - (before.received || 0);
    if (got < 0) { lost = s.lost; got = s.received; }
    var recent = got + lost > 0 ? lost / (lost + got) : 0;
    var lossRate = s.lossRate = before.lossRate === undefined ? recent : (before.lossRate + recent) / 2;
    var quality = lossRate > 0.1 || (s.rtt || 0) > 0.6 ? text.poor : lossRate > 0.03 || (s.rtt || 0) > 0.3 ? text.fair : text.good;
    // Video frames stopped but sound still comes: the call goes on as audio.
    var audioOnly = s.framesDecoded === before.framesDecoded && s.audioBytes > before.audioBytes;
    // No sound or picture since the last look, where they came before: the frozen picture
    // must not be taken for a live one under "fair connection" (a party on a weak mobile
    // network saw that for the whole of an outage, tests/journeys/test_weak_network.py).
    // "cut": nothing at all came either, not even the reports of a peer that sends nothing.
    // (A muted microphone still sends silence, a camera turned off black frames.)
    if (s.framesDecoded > 0 || s.audioBytes > 0) heard[id] = true;
    var silent = s.media && heard[id] === true &&
      s.framesDecoded === before.framesDecoded && s.audioBytes === before.audioBytes;
    var was = looked[id] || {};
    looked[id] = {
      quality: quality, audioOnly: audioOnly, silent: silent,
      cut: silent && s.transportBytes === (before.transportBytes || 0),
      since: audioOnly || silent ? (was.audioOnly || was.silent ? was.since : performance.now()) : null,
    };
    render(id);
  }

  // A tile's caption, from the last look and the connection's ICE state now. No sound or
  // picture: the network dropped (a lift, a weak cell; the connection comes back by itself,
  // ICE restart in peers.js) if nothing at all came or the connection says so; otherwise
  // the other side sends nothing (a phone put away, a call taken: its connection still
  // answers), and "reconnecting" would be untrue.
  function render(id) {
    var figure = $("tile-" + id), l = looked[id], entry = room.peers.entries.get(Number(id));
    if (!figure || !l || !entry) return;
    var ice = entry.pc.iceConnectionState;
    var interrupted = l.silent && (l.cut || (ice !== "connected" && ice !== "completed"));
    var paused = l.silent && !interrupted;
    figure.classList.toggle("audio-only", l.audioOnly);
    figure.classList.toggle("interrupted", interrupted);
    figure.classList.toggle("paused", paused);
    figure.querySelector(".quality").textContent =
      interrupted ? text.interrupted : paused ? text.paused : l.audioOnly ? text.audio_only : l.quality;
  }

  // peers.js: the ICE state of the connection to id changed. A tile without sound or
  // picture says at once that the connection is down (the next look could be 3 s away),
  // and stays so once it is up until they come (not "no picture or sound" meanwhile); the
  // quick looks watch for them.
  room.iceChanged = function (id, ice) {
    var l = looked[id];
    if (!l) return;
    var up = ice === "connected" || ice === "completed";
    if (!up && l.silent) l.cut = true;
    if (up && (l.silent || l.audioOnly)) l.since = performance.now();
    render(id);
    if (up) watchForReturn();
  };

  // The picture or the sound back, seen twice a second rather than at the next look: the
  // picture stayed hidden under "audio only" up to 3 s after an outage. Only for tiles that
  // lost them in the last QUICK_FOR (a party without a camera is not looked at for ever).
  var QUICK_EVERY = 500, QUICK_FOR = 20000;
  var quickTimer = null;
  function watchForReturn() {
    if (quickTimer !== null) return;
    quickTimer = setTimeout(function () {
      var waiting = Object.keys(looked).filter(function (id) {
        var l = looked[id];
        return (l.audioOnly || l.silent) && performance.now() - l.since < QUICK_FOR;
      });
      if (!waiting.length || room.over) { quickTimer = null; return; }
      sampled(function (now) {
        waiting.forEach(function (id) {
          var s = now[id], before = previous[id], l = looked[id];
          if (!s || !before || !l) return;
          if (s.framesDecoded > before.framesDecoded) l.audioOnly = l.silent = l.cut = false;
          else if (l.silent && s.audioBytes > before.audioBytes) { l.silent = l.cut = false; l.audioOnly = true; }
          render(id);
        });
      }).catch(function () { /* a connection closed meanwhile: the next look sees it */ })
        .finally(function () { quickTimer = null; watchForReturn(); });
    }, QUICK_EVERY);
  }

  room.stopWatchingStage = function () {
    clearInterval(statsTimer);
  };
})(window.Room);
