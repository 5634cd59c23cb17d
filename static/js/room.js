// The video room: a mesh of RTCPeerConnections that follows the layout the server sends.
// The server decides who may exchange media with whom ("layout": peers, group, caucus) and
// relays offers, answers and candidates only inside a group; this client connects to the
// peers it is given and closes every connection the layout no longer lists, so in a caucus
// nothing is sent to the side outside it. Protocol: docs/signaling.md.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("room-config").textContent);
  var text = JSON.parse(document.getElementById("room-text").textContent);
  var $ = function (id) { return document.getElementById(id); };

  // On every (re)connection the client proves which connection of this page it was (the
  // resume token of its last welcome): while the server still counts it present, it keeps
  // its epoch and the media connections go on; otherwise everyone connects to it afresh.
  var socket = io("/room", {
    auth: function (cb) { cb({ session: cfg.session, resume: me ? me.resume : null }); },
    // In the URL, for nginx only: every connection of one session lands on one web process
    // (hash $arg_session; docs/scaling.md). The server trusts the auth above, not this.
    query: { session: String(cfg.session) },
    transports: ["websocket"],
    // A session already ended: the page says so, and nothing connects.
    autoConnect: !cfg.ended,
  });
  var me = null;
  var layout = { version: 0, peers: [], group: "lobby", caucus: null };
  var roster = [];
  var local = null;
  var screen = null;

  // -- local media ------------------------------------------------------------------
  var acquiring = null;
  function acquire() {
    // One request for the camera, whoever asks first; later callers share it.
    if (acquiring) return acquiring;
    if (over) return Promise.resolve(new MediaStream());
    // 24-30 frames a second: a keyframe comes soon after a connection opens; on a weak
    // network or a slow phone WebRTC lowers the rate and the resolution by itself.
    var video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };
    if (!navigator.mediaDevices) { // not https, or a browser without WebRTC
      notice(text.no_media);
      local = new MediaStream();
      acquiring = Promise.resolve(local);
      return acquiring;
    }
    acquiring = navigator.mediaDevices.getUserMedia({ audio: true, video: video })
      .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })
      .catch(function () { notice(text.no_media); return new MediaStream(); })
      .then(function (stream) {
        // The camera came after the end (the permission prompt was slow): off at once.
        if (over) { stopTracks(stream); return new MediaStream(); }
        local = stream;
        $("self-video").srcObject = stream;
        return stream;
      });
    return acquiring;
  }

  // Everything that touches peer connections runs one after another, once the camera is
  // ready: a layout and the offers that follow it are applied in the order they came.
  var work = Promise.resolve();
  function later(task) {
    work = work.then(function () { if (!over) return acquire().then(task); })
      .catch(function (error) { console.warn(error); });
  }

  // What the connections do, for a failure's report (the console's "verbose" level).
  function trace() {
    console.debug.apply(console, ["room:"].concat(Array.prototype.slice.call(arguments)));
  }

  function stopTracks(stream) {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
  }

  // -- peer connections (static/js/peers.js) ---------------------------------------------
  // A peer's tile: made with the connection, named at once; the picture follows.
  function tile(id) {
    var existing = $("tile-" + id);
    if (existing) return existing;
    var figure = document.createElement("figure");
    figure.id = "tile-" + id;
    figure.className = "tile";
    figure.innerHTML = '<video autoplay playsinline></video><figcaption><span class="name"></span> <span class="quality"></span></figcaption>';
    figure.querySelector(".name").textContent = captionOf(id);
    $("tiles").appendChild(figure);
    arrange();
    return figure;
  }

  function untile(id) {
    var figure = $("tile-" + id);
    if (figure) figure.remove();
    arrange();
  }

  var peers = RoomPeers({
    socket: socket, ice: cfg, later: later, trace: trace, tile: tile, untile: untile,
    layout: function () { return layout; },
    me: function () { return me; },
    local: function () { return local; },
    screen: function () { return screen; },
    over: function () { return over; },
  });

  // The newest layout received on any connection: versions are the room's, so the highest
  // is the truth. A layout sent by another server process may overtake the "welcome",
  // which then describes an older state.
  var newest = null;
  function newer(next) {
    if (!newest || next.version >= newest.version) newest = next;
    return newest;
  }

  function applyLayout(next) {
    if (over) return;
    next = newer(next);
    if (next.version < layout.version) return; // an older layout, overtaken
    layout = next;
    if (layout.ended) { finish(); return; }
    renderState();
    later(function () {
      if (layout !== next) return; // a newer layout is queued behind this one
      peers.follow(next);
    });
  }

  // -- what the page shows ----------------------------------------------------------
  var mediatorView = cfg.role === "mediator";

  function memberOf(id) {
    return roster.find(function (x) { return x.id === id; });
  }

  function nameOf(id) {
    var m = memberOf(id);
    return m ? m.name : "";
  }

  // "Name · mediator", "Name · Applicant", "Name · Applicant agent": who is on a tile.
  function captionOf(id) {
    var m = memberOf(id);
    if (!m) return "";
    var role = m.role === "mediator" ? text.mediator
      : m.side ? text[(m.role === "agent" ? "agent_" : "") + m.side] : "";
    return m.name + (role ? " · " + role : "") + (m.hand_raised ? " · " + text.hand : "");
  }

  function notice(message) { $("notice").textContent = message; $("notice").hidden = !message; }

  function names(members) {
    return members.map(function (m) { return m.name; }).join("、");
  }

  // What the room says to this person now, and how (a caucus and the end look different).
  function stateNow() {
    if (layout.ended) return { text: mediatorView ? text.ended_mediator : text.ended, kind: "over" };
    if (!me) return { text: "" };
    if (layout.caucus) {
      if (mediatorView) return { text: text["caucus_" + layout.caucus], kind: "caucus" };
      if (layout.group === "caucus:" + layout.caucus) return { text: text.in_caucus, kind: "caucus" };
      if (layout.group !== "lobby") return { text: text.other_caucus, kind: "caucus" };
    }
    if (layout.group === "lobby") return { text: mediatorView ? "" : text.lobby };
    var others = roster.filter(function (m) { return m.role !== "mediator" && m.id !== me.id && m.present; });
    if (mediatorView) {
      var lobby = others.filter(function (m) { return !m.admitted; });
      if (lobby.length) return { text: text.in_lobby.replace("{names}", names(lobby)) };
      var unchecked = others.filter(function (m) { return !m.identity_confirmed; });
      if (unchecked.length) return { text: text.check_identity.replace("{names}", names(unchecked)) };
      var unwarned = others.filter(function (m) { return !m.warning_acknowledged; });
      if (unwarned.length) return { text: text.check_warning.replace("{names}", names(unwarned)) };
      if (!others.length) return { text: text.waiting_parties };
      return { text: layout.started ? "" : text.ready };
    }
    var mine = memberOf(me.id);
    var mediator = roster.find(function (m) { return m.role === "mediator"; });
    if (mediator && !mediator.present) return { text: text.mediator_away };
    if (mine && !mine.identity_confirmed) return { text: text.identity_check };
    if (mine && !mine.warning_acknowledged) return { text: "" }; // the warning itself shows
    if (mine && mine.side) {
      var otherSide = others.some(function (m) {
        return m.side && m.side !== mine.side && m.admitted && m.identity_confirmed && m.warning_acknowledged;
      });
      if (!otherSide) return { text: text.waiting_other };
    }
    return { text: layout.started ? "" : text.starting };
  }

  function renderState() {
    var now = stateNow();
    var banner = $("state");
    if (banner.textContent !== now.text) banner.textContent = now.text;
    banner.hidden = !now.text;
    banner.className = "room-state" + (now.kind ? " " + now.kind : "");
    $("recording").hidden = !layout.recording;
    $("caucus-recording").textContent = layout.caucus_recorded ? text.caucus_recorded : text.caucus_not_recorded;
    $("caucus-recording").hidden = !layout.started;
    document.body.dataset.group = layout.group;
    if (mediatorView) {
      // Only what can be done now: begin once; talk alone with a side, or come back.
      $("start").hidden = !!layout.started;
      $("caucus-applicant").hidden = layout.caucus === "applicant";
      $("caucus-respondent").hidden = layout.caucus === "respondent";
      $("joint").hidden = !layout.caucus;
    }
  }

  // The videos: the person speaking, else the mediator (for a party), is the largest.
  var featured = null;
  var speaker = null;
  function arrange() {
    var tiles = Array.from($("tiles").children);
    var ids = tiles.map(function (f) { return Number(f.id.slice(5)); });
    var mediator = roster.find(function (m) { return m.role === "mediator"; });
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
    $("stage").classList.toggle("alone", tiles.length === 0 && !over);
  }

  function button(label, handler, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", handler);
    return b;
  }

  // The mediator's identity step: a number and ethnicity typed from the card shown on
  // camera (when the person has none on record, or a wrong one), then "confirm". One form
  // per person, kept across roster updates so that nothing typed is lost.
  var identityForms = new Map();
  function identityForm(m) {
    var entry = identityForms.get(m.id);
    if (entry) return entry;
    var t = cfg.identity.text;
    var form = document.createElement("form");
    form.className = "identity-step";
    form.noValidate = true;
    var uid = "identity-" + m.id;
    var numberLabel = document.createElement("label");
    numberLabel.htmlFor = uid + "-number";
    numberLabel.textContent = t.id_number;
    var number = document.createElement("input");
    number.id = uid + "-number";
    number.name = "id_number";
    number.autocomplete = "off";
    number.maxLength = 18;
    number.setAttribute("aria-describedby", uid + "-hint");
    var hint = document.createElement("small");
    hint.id = uid + "-hint";
    var ethnicityLabel = document.createElement("label");
    ethnicityLabel.htmlFor = uid + "-ethnicity";
    ethnicityLabel.textContent = t.ethnicity;
    var ethnicity = document.createElement("select");
    ethnicity.id = uid + "-ethnicity";
    ethnicity.name = "ethnicity";
    [["", "—"]].concat(cfg.identity.ethnicities).forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      ethnicity.appendChild(option);
    });
    ethnicity.value = m.ethnicity || "";
    var submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "confirm-identity";
    submit.textContent = text.confirm_identity;
    form.append(numberLabel, number, hint, ethnicityLabel, ethnicity, submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var current = roster.find(function (x) { return x.id === m.id; }) || m;
      var message = { participant: m.id, epoch: current.epoch };
      if (number.value.trim()) message.id_number = number.value.trim();
      if (ethnicity.value) message.ethnicity = ethnicity.value;
      socket.emit("confirm_identity", message);
    });
    entry = { form: form, hint: hint, number: number };
    identityForms.set(m.id, entry);
    return entry;
  }

  // For the mediator, under each party's name: the art 17 warning and the recording answer.
  function progress(m) {
    var line = document.createElement("span");
    line.className = "progress";
    var parts = [];
    if (!m.admitted) parts.push([text.in_the_lobby, true]);
    parts.push(m.warning_acknowledged ? [text.warned, false] : [text.not_warned, true]);
    parts.push(m.recording_consent === true ? [text.consent_yes, false]
      : m.recording_consent === false ? [text.consent_no, true] : [text.consent_none, true]);
    parts.forEach(function (part, i) {
      var span = document.createElement("span");
      span.textContent = (i ? " · " : "") + part[0];
      if (part[1]) span.className = "pending";
      line.appendChild(span);
    });
    return line;
  }

  function renderRoster() {
    var list = $("roster");
    // Whatever the mediator is typing keeps its focus through the update.
    var typing = document.activeElement && list.contains(document.activeElement) ? document.activeElement : null;
    list.textContent = "";
    roster.forEach(function (m) {
      var item = document.createElement("li");
      item.dataset.participant = m.id;
      var label = m.name + (m.role === "mediator" ? " · " + text.mediator : "") +
        (m.id_number ? " · " + m.id_number : "") + (m.present ? "" : " · " + text.away) +
        (m.hand_raised ? " · " + text.hand : "") + (m.identity_confirmed ? " · " + text.identified : "");
      item.appendChild(document.createTextNode(label + " "));
      if (me && me.role === "mediator" && m.role !== "mediator") item.appendChild(progress(m));
      if (me && me.role === "mediator" && m.role !== "mediator" && !over) {
        if (m.present && !m.admitted) item.appendChild(button(text.admit, function () { socket.emit("admit", { participant: m.id }); }, "admit"));
        if (m.admitted && !m.identity_confirmed && cfg.identity) {
          var step = identityForm(m);
          step.hint.textContent = m.id_confirmed ? cfg.identity.text.confirmed : m.id_number ? cfg.identity.text.keep : cfg.identity.text.none;
          step.number.required = !m.id_number;
          step.number.disabled = !!m.id_confirmed;
          item.appendChild(step.form);
        } else if (m.admitted && m.identity_confirmed && m.id_number && !m.id_confirmed && cfg.identity) {
          // Confirmed here, but the number is held confirmed by another account.
          item.appendChild(document.createTextNode(" · " + cfg.identity.text.not_confirmed));
        }
      }
      list.appendChild(item);
      var figure = $("tile-" + m.id);
      if (figure) figure.querySelector(".name").textContent = captionOf(m.id);
    });
    if (typing && document.body.contains(typing)) typing.focus();
    var mine = roster.find(function (x) { return me && x.id === me.id; });
    if (mine && me.role !== "mediator") {
      // One step at a time: the warning (art 17), then the question about recording.
      $("warning").hidden = over || mine.warning_acknowledged;
      $("consent").hidden = over || !mine.warning_acknowledged || mine.recording_consent !== null;
      $("hand").setAttribute("aria-pressed", String(!!mine.hand_raised));
    }
    if (mediatorView) {
      // Someone waits for the mediator (to be let in, or checked): counted on the tab.
      var waiting = roster.filter(function (m) { return m.role !== "mediator" && m.present && (!m.admitted || !m.identity_confirmed); }).length;
      badge("people", waiting);
    }
    renderState();
    arrange();
  }

  // -- the panel: participants, chat, minutes ---------------------------------------
  var unread = 0;
  function badge(tab, count) {
    document.querySelectorAll('#tab-' + tab + ' .badge, .panel-toggle[data-tab="' + tab + '"] .badge').forEach(function (b) {
      b.textContent = count ? String(count) : "";
      b.hidden = !count;
    });
  }

  function panelOpen() {
    // Beside the videos on a laptop (always open), below them on a phone when asked.
    return $("room").classList.contains("panel-open") || window.matchMedia("(min-width: 60rem)").matches;
  }

  function showTab(name, open) {
    document.querySelectorAll('#panel [role="tab"]').forEach(function (tab) {
      var on = tab.id === "tab-" + name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(tab.getAttribute("aria-controls")).hidden = !on;
    });
    if (open !== undefined) $("room").classList.toggle("panel-open", open);
    document.querySelectorAll(".panel-toggle").forEach(function (t) {
      t.setAttribute("aria-expanded", String($("room").classList.contains("panel-open") && t.dataset.tab === name));
    });
    if (name === "chat" && panelOpen()) {
      unread = 0;
      badge("chat", 0);
      var lines = $("chat-lines");
      lines.scrollTop = lines.scrollHeight;
    }
  }

  function currentTab() {
    var on = document.querySelector('#panel [role="tab"][aria-selected="true"]');
    return on ? on.id.slice(4) : "people";
  }

  function wirePanel() {
    document.querySelectorAll(".panel-toggle").forEach(function (toggle) {
      toggle.addEventListener("click", function () {
        var same = $("room").classList.contains("panel-open") && currentTab() === toggle.dataset.tab;
        showTab(toggle.dataset.tab, !same);
      });
    });
    document.querySelectorAll('#panel [role="tab"]').forEach(function (tab) {
      tab.addEventListener("click", function () { showTab(tab.id.slice(4)); });
      tab.addEventListener("keydown", function (e) {
        // Arrow keys move between tabs (WAI-ARIA tabs pattern).
        if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
        var tabs = Array.from(document.querySelectorAll('#panel [role="tab"]')).filter(function (t) { return !t.hidden; });
        var next = tabs[(tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        showTab(next.id.slice(4));
        next.focus();
      });
    });
    $("panel-close").addEventListener("click", function () { showTab(currentTab(), false); });
  }

  var clock = null;
  function timeOf(at) {
    if (!at) return "";
    try {
      clock = clock || new Intl.DateTimeFormat(document.documentElement.lang || undefined,
        { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: cfg.zone });
      return clock.format(new Date(at));
    } catch (error) {
      return "";
    }
  }

  function addChat(line, fresh) {
    var item = document.createElement("li");
    var meta = document.createElement("span");
    meta.className = "chat-meta";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = nameOf(line.from) + (line.scope === "joint" ? "" : " (" + text.private + ")");
    meta.appendChild(who);
    var when = document.createElement("time");
    when.dateTime = line.at || "";
    when.textContent = timeOf(line.at);
    meta.appendChild(when);
    var words = document.createElement("span");
    words.className = "chat-text";
    words.textContent = line.text;
    item.appendChild(meta);
    item.appendChild(words);
    var lines = $("chat-lines");
    lines.appendChild(item);
    lines.scrollTop = lines.scrollHeight;
    if (fresh && !(panelOpen() && currentTab() === "chat")) badge("chat", ++unread);
  }

  // -- the end: every camera and microphone off, every connection closed, once ------------
  var over = false;
  var statsTimer = null;
  function finish(message) {
    if (over) return;
    over = true;
    clearInterval(statsTimer);
    peers.closeAll();
    if (screen) { stopTracks(screen); screen = null; }
    stopTracks(local);
    $("self-video").srcObject = null;
    socket.disconnect();
    layout = Object.assign({}, layout, { ended: true, recording: false, peers: [] });
    notice("");
    $("controls").hidden = true;
    $("minutes-next").hidden = false;
    $("chat-form").hidden = true;
    if (mediatorView) {
      $("tab-minutes").hidden = true;
      if (currentTab() === "minutes") showTab("people");
    } else {
      $("warning").hidden = true;
      $("consent").hidden = true;
    }
    $("stage").classList.remove("alone");
    $("self-video").closest(".tile").hidden = true;
    // Hands go down with the end (the server lowers them too; its roster may not come).
    roster.forEach(function (m) { m.hand_raised = false; });
    renderRoster();
    if (message) $("state").textContent = message;
  }

  // -- the controls -----------------------------------------------------------------
  function toggle(kind, pressed) {
    if (!local) return;
    local.getTracks().forEach(function (t) { if (t.kind === kind) t.enabled = !pressed; });
  }

  function wire() {
    $("mute").addEventListener("click", function () {
      var on = this.getAttribute("aria-pressed") !== "true";
      this.setAttribute("aria-pressed", String(on));
      toggle("audio", on);
    });
    $("camera").addEventListener("click", function () {
      var on = this.getAttribute("aria-pressed") !== "true";
      this.setAttribute("aria-pressed", String(on));
      toggle("video", on);
    });
    $("leave").addEventListener("click", function () {
      socket.disconnect();
      peers.closeAll();
      window.location.href = $("leave").dataset.next;
    });
    $("chat-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var input = $("chat-text");
      if (input.value.trim()) socket.emit("chat", { text: input.value });
      input.value = "";
    });
    wirePanel();
    if (cfg.role !== "mediator") {
      $("hand").addEventListener("click", function () {
        var on = this.getAttribute("aria-pressed") !== "true";
        this.setAttribute("aria-pressed", String(on));
        socket.emit("raise_hand", { raised: on });
      });
      $("acknowledge").addEventListener("click", function () { socket.emit("acknowledge_warning", {}); });
      $("consent-yes").addEventListener("click", function () { socket.emit("recording_consent", { consent: true }); });
      $("consent-no").addEventListener("click", function () { socket.emit("recording_consent", { consent: false }); });
      return;
    }
    $("start").addEventListener("click", function () { socket.emit("start", {}); });
    $("caucus-applicant").addEventListener("click", function () { socket.emit("caucus", { side: "applicant" }); });
    $("caucus-respondent").addEventListener("click", function () { socket.emit("caucus", { side: "respondent" }); });
    $("joint").addEventListener("click", function () { socket.emit("caucus", { side: null }); });
    $("end").addEventListener("click", function () {
      if (!window.confirm(text.confirm_end)) return;
      if (!minutesTimer) { socket.emit("end", {}); return; }
      // Typed but not yet saved: save, and end once the server has it (events are handled
      // concurrently on the server, so "end" must not overtake the save).
      clearTimeout(minutesTimer);
      socket.once("minutes_saved", function () { socket.emit("end", {}); });
      saveMinutes();
    });
    wireMinutes();
    // Phones cannot share their screen: no button that cannot work.
    $("share").hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    $("share").addEventListener("click", function () {
      if (screen) { stopShare(); return; }
      navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (stream) {
        screen = stream;
        var track = stream.getVideoTracks()[0];
        track.onended = stopShare;
        peers.replaceVideo(track);
        $("share").setAttribute("aria-pressed", "true");
      }).catch(function () {});
    });
  }

  // The minutes: saved a moment after the mediator stops typing.
  var minutesTimer = null;
  function saveMinutes() {
    minutesTimer = null;
    var fields = {};
    document.querySelectorAll("#minutes textarea").forEach(function (t) { fields[t.name] = t.value; });
    socket.emit("minutes", fields);
  }
  function wireMinutes() {
    document.querySelectorAll("#minutes textarea").forEach(function (t) {
      t.addEventListener("input", function () {
        $("minutes-status").textContent = "…";
        clearTimeout(minutesTimer);
        minutesTimer = setTimeout(saveMinutes, 1200);
      });
    });
    socket.on("minutes_saved", function (m) {
      if (!minutesTimer) $("minutes-status").textContent = text.minutes_saved + " · v" + m.version;
    });
  }

  function stopShare() {
    if (!screen) return;
    screen.getTracks().forEach(function (t) { t.stop(); });
    screen = null;
    var camera = local && local.getVideoTracks()[0];
    if (camera) peers.replaceVideo(camera);
    $("share").setAttribute("aria-pressed", "false");
  }

  // -- network quality per tile (and for tests: what is really received) --------------
  function stats() {
    var result = {};
    var people = Array.from(peers.entries.values()).filter(function (entry) { return entry.id !== peers.RECORDER; });
    return Promise.all(people.map(function (entry) {
      return entry.pc.getStats().then(function (report) {
        // "media": whether the layout lets media flow on it (false: a lobby link).
        var s = {
          framesDecoded: 0, audioLevel: 0, audioBytes: 0, rtt: null, lost: 0, received: 0,
          media: entry.media, connected: entry.pc.connectionState === "connected",
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
          if (r.type === "candidate-pair" && r.state === "succeeded" && r.currentRoundTripTime !== undefined) s.rtt = r.currentRoundTripTime;
        });
        result[entry.id] = s;
      });
    })).then(function () { return result; });
  }
  window.roomStats = stats;

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

  var previous = {};
  statsTimer = setInterval(function () {
    stats().then(function (now) {
      if (over) return;
      followSpeaker(now);
      Object.keys(now).forEach(function (id) {
        var s = now[id], before = previous[id] || { framesDecoded: 0, audioBytes: 0 };
        var figure = $("tile-" + id);
        if (!figure) return;
        var lossRate = s.received ? s.lost / (s.lost + s.received) : 0;
        var label = lossRate > 0.1 || (s.rtt || 0) > 0.6 ? text.poor : lossRate > 0.03 || (s.rtt || 0) > 0.3 ? text.fair : text.good;
        // Video frames stopped but sound still comes: the call goes on as audio.
        var audioOnly = s.framesDecoded === before.framesDecoded && s.audioBytes > before.audioBytes;
        figure.classList.toggle("audio-only", audioOnly);
        figure.querySelector(".quality").textContent = audioOnly ? text.audio_only : label;
      });
      previous = now;
    });
  }, 3000);

  // -- the socket -------------------------------------------------------------------
  socket.on("welcome", function (w) {
    var resumed = me !== null && w.you.epoch === me.epoch;
    me = w.you;
    if (w.minutes) {
      document.querySelectorAll("#minutes textarea").forEach(function (t) { if (!t.value) t.value = w.minutes[t.name] || ""; });
    }
    $("chat-lines").textContent = "";
    w.chat.forEach(function (line) { addChat(line, false); });
    if (!resumed) {
      // A new place (first arrival, or the server saw this page leave): everything is
      // made again from the layout.
      peers.closeAll();
      layout = { version: 0, peers: [], group: "lobby", caucus: null };
    }
    applyLayout(w.layout);
    // Connections that broke while the signaling was away are restarted now.
    later(peers.restartBroken);
  });
  socket.on("layout", applyLayout);
  // A roster older than one already shown is a broadcast overtaken on the way: dropped
  // (an equal version is a hand raised or lowered, which does not change the layout).
  var rosterVersion = 0;
  socket.on("roster", function (r) {
    if (r.version < rosterVersion) return;
    rosterVersion = r.version;
    roster = r.members;
    renderRoster();
  });
  socket.on("signal", function (m) { later(function () { peers.onSignal(m); }); });
  socket.on("chat", function (line) { addChat(line, true); });
  // The recorder reports a stream it does not receive (or its own overload): the mediator
  // sees it at once, and writes the minutes (the recording is not the whole record).
  socket.on("recording_gap", function (g) { if (g && g.message) notice(g.message); });
  // The mediator ended the session (the layout that says so may come first: once only).
  socket.on("ended", function () { finish(); });
  // "gone": this window was replaced by a newer one (a reload or another tab): it stays
  // disconnected, or the two would take the place from each other in turn. "ended": the
  // session is over for this page (ended, cancelled, past its hours): media stops too.
  socket.on("error", function (e) {
    console.warn("refused:", e.event, e.code);
    if (e.code === "ended") finish(e.message);
    // A signal that crossed a layout change (a caucus, a let-in, a departure): the layout
    // that follows closes that connection; nothing to tell the person.
    else if (!(e.event === "signal" && e.code === "forbidden_pair")) notice(e.message);
  });
  // The media connections outlive a signaling drop: while this page is away nobody can
  // change its layout without the other end of each connection closing it (the senders'
  // clients enforce a caucus), and a call should survive a weak network.
  socket.on("disconnect", function (reason) {
    if (over) return; // the end, said already
    // Sent away by the server (the session ended, or this window was replaced): stop.
    if (reason === "io server disconnect") peers.closeAll();
    notice(text.cannot_connect);
  });
  socket.on("connect_error", function (error) {
    // An agent the party has not confirmed is refused for good: say why, stop retrying.
    if (error && error.message === "agency") {
      notice(text.agency);
      socket.disconnect();
      return;
    }
    if (error && error.message === "ended") { finish(); return; } // ended before it opened
    notice(text.cannot_connect);
  });
  socket.on("connect", function () { notice(""); });
  // The browser says a network is back: try at once, not when Socket.IO's backoff says (a
  // try made while still offline failed, and the next waits 1-5 s more: most of the time
  // a dropped party took to be back, bench/room_recover.py). Only while Socket.IO is still
  // trying ("active"): a window replaced by a newer one, or an agent refused, stays away.
  window.addEventListener("online", function () {
    if (over || socket.connected || !socket.active) return;
    socket.disconnect().connect(); // the pending try is dropped; auth (resume) is sent again
  });
  wire();
  showTab("people");
  if (cfg.ended) finish();
})();
