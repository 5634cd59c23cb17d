// The video room: a mesh of RTCPeerConnections that follows the layout the server sends.
// The server decides who may exchange media with whom ("layout": peers, group, caucus) and
// relays offers, answers and candidates only inside a group; this client connects to the
// peers it is given and closes every connection the layout no longer lists, so in a caucus
// nothing is sent to the side outside it. Protocol: docs/signaling.md.
//
// This script, loaded last (room-base.js lists the others), is the only one that acts: it
// opens the socket, follows the layout, ends, and wires the controls and the events.
(function (room) {
  "use strict";
  var cfg = room.cfg, text = room.text, $ = room.$, mediatorView = room.mediatorView;

  // On every (re)connection the client proves which connection of this page it was (the
  // resume token of its last welcome): while the server still counts it present, it keeps
  // its epoch and the media connections go on; otherwise everyone connects to it afresh.
  var socket = room.socket = io("/room", {
    auth: function (cb) { cb({ session: cfg.session, resume: room.me ? room.me.resume : null }); },
    // In the URL, for nginx only: every connection of one session lands on one web process
    // (hash $arg_session; docs/scaling.md). The server trusts the auth above, not this.
    query: { session: String(cfg.session) },
    transports: ["websocket"],
    // A session already ended: the page says so, and nothing connects.
    autoConnect: !cfg.ended,
  });

  // -- peer connections (static/js/peers.js) ---------------------------------------------
  var peers = room.peers = RoomPeers({
    socket: socket, ice: cfg, later: room.later, trace: room.trace, tile: room.tile, untile: room.untile,
    iceChanged: room.iceChanged,
    layout: function () { return room.layout; },
    me: function () { return room.me; },
    local: function () { return room.local; },
    screen: function () { return room.screen; },
    over: function () { return room.over; },
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
    if (room.over) return;
    next = newer(next);
    if (next.version < room.layout.version) return; // an older layout, overtaken
    room.layout = next;
    if (next.ended) { finish(); return; }
    room.renderState();
    room.later(function () {
      if (room.layout !== next) return; // a newer layout is queued behind this one
      peers.follow(next);
    });
  }

  // -- the end: every camera and microphone off, every connection closed, once ------------
  function finish(message) {
    if (room.over) return;
    room.over = true;
    room.stopWatchingStage();
    peers.closeAll();
    if (room.screen) { room.stopTracks(room.screen); room.screen = null; }
    room.stopTracks(room.local);
    $("self-video").srcObject = null;
    socket.disconnect();
    room.layout = Object.assign({}, room.layout, { ended: true, recording: false, recording_state: null, peers: [] });
    room.notice("");
    $("controls").hidden = true;
    $("minutes-next").hidden = false;
    $("chat-form").hidden = true;
    if (mediatorView) {
      $("tab-minutes").hidden = true;
      if (room.currentTab() === "minutes") room.showTab("people");
    } else {
      $("warning").hidden = true;
      $("consent").hidden = true;
    }
    $("stage").classList.remove("alone");
    $("self-video").closest(".tile").hidden = true;
    // Hands go down with the end (the server lowers them too; its roster may not come).
    room.roster.forEach(function (m) { m.hand_raised = false; });
    room.renderRoster();
    if (message) $("state").textContent = message;
  }

  // An agent the party refused: the page stops as at the end, says why, and leads only to
  // their sessions (the case's minutes are no longer theirs).
  function notActing(message) {
    finish(message);
    $("minutes-next").querySelectorAll("a").forEach(function (a) {
      a.hidden = a.getAttribute("href") !== $("leave").dataset.next;
    });
  }

  function leftForAnother(message) {
    room.replaced = true;
    peers.closeAll();
    if (room.screen) { room.stopTracks(room.screen); room.screen = null; }
    room.stopTracks(room.local);
    $("self-video").srcObject = null;
    room.notice(message);
  }

  // -- the controls -----------------------------------------------------------------
  function wire() {
    $("mute").addEventListener("click", function () {
      var on = this.getAttribute("aria-pressed") !== "true";
      this.setAttribute("aria-pressed", String(on));
      room.toggle("audio", on);
    });
    $("camera").addEventListener("click", function () {
      var on = this.getAttribute("aria-pressed") !== "true";
      this.setAttribute("aria-pressed", String(on));
      room.toggle("video", on);
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
    room.wirePanel();
    if (!mediatorView) {
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
      // Typed but not yet saved: saved first, and ended once the server has it.
      room.afterMinutesSaved(function () { socket.emit("end", {}); });
    });
    room.wireMinutes();
    // Phones cannot share their screen: no button that cannot work.
    $("share").hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    $("share").addEventListener("click", room.toggleShare);
  }

  room.watchStage();

  // -- the socket -------------------------------------------------------------------
  socket.on("welcome", function (w) {
    var resumed = room.me !== null && w.you.epoch === room.me.epoch;
    room.me = w.you;
    if (w.minutes) room.fillMinutes(w.minutes);
    $("chat-lines").textContent = "";
    w.chat.forEach(function (line) { room.addChat(line, false); });
    if (!resumed) {
      // A new place (first arrival, or the server saw this page leave): everything is
      // made again from the layout.
      peers.closeAll();
      room.layout = { version: 0, peers: [], group: "lobby", caucus: null };
    }
    applyLayout(w.layout);
    // Connections that broke while the signaling was away are restarted now.
    room.later(peers.restartBroken);
  });
  socket.on("layout", applyLayout);
  // A roster older than one already shown is a broadcast overtaken on the way: dropped
  // (an equal version is a hand raised or lowered, which does not change the layout).
  var rosterVersion = 0;
  socket.on("roster", function (r) {
    if (r.version < rosterVersion) return;
    rosterVersion = r.version;
    room.roster = r.members;
    room.renderRoster();
  });
  socket.on("signal", function (m) { room.later(function () { peers.onSignal(m); }); });
  socket.on("chat", function (line) { room.addChat(line, true); });
  // The recorder reports a stream it does not receive (or its own overload): the mediator
  // sees it at once, and writes the minutes (the recording is not the whole record).
  socket.on("recording_gap", function (g) { if (g && g.message) room.notice(g.message); });
  // The mediator ended the session (the layout that says so may come first: once only).
  socket.on("ended", function () { finish(); });
  // "replaced" (or "gone"): this window was replaced by a newer one (a reload or another
  // tab): it stays disconnected, or the two would take the place from each other in turn.
  // "ended": the session is over for this page (ended, cancelled, past its hours): media
  // stops too.
  socket.on("error", function (e) {
    console.warn("refused:", e.event, e.code);
    if (e.code === "ended") finish(e.message);
    // The party said this agent does not act for them: out of the room for good. (Said in
    // this page's language: the server's words are the refusing party's.)
    else if (e.code === "not_acting") notActing(text.not_acting);
    // This person opened the room in another window or on another device, which took the
    // place: this one lets the camera and microphone go (a phone gives them to one page).
    else if (e.code === "replaced") leftForAnother(text.replaced);
    // "gone": an event of this window came after that (before it was told), or after the
    // server saw it leave: the server closes it, and nothing would try again.
    else if (e.code === "gone") leftForAnother(e.message);
    // A signal that crossed a layout change (a caucus, a let-in, a departure): the layout
    // that follows closes that connection; nothing to tell the person.
    else if (!(e.event === "signal" && e.code === "forbidden_pair")) room.notice(e.message);
  });
  // The media connections outlive a signaling drop: while this page is away nobody can
  // change its layout without the other end of each connection closing it (the senders'
  // clients enforce a caucus), and a call should survive a weak network.
  socket.on("disconnect", function (reason) {
    if (room.over) return; // the end, said already
    // Sent away by the server (the session ended, or this window was replaced): stop.
    if (reason === "io server disconnect") peers.closeAll();
    if (room.replaced) return; // said why, and not trying again
    room.notice(text.cannot_connect);
  });
  socket.on("connect_error", function (error) {
    // An agent the party has not confirmed is refused for good: say why, stop retrying.
    if (error && error.message === "agency") {
      room.notice(text.agency);
      socket.disconnect();
      return;
    }
    if (error && error.message === "ended") { finish(); return; } // ended before it opened
    if (error && error.message === "not_acting") { notActing(text.not_acting); return; }
    room.notice(text.cannot_connect);
  });
  socket.on("connect", function () { room.notice(""); });
  // The browser says a network is back: try at once, not when Socket.IO's backoff says (a
  // try made while still offline failed, and the next waits 1-5 s more: most of the time
  // a dropped party took to be back, bench/room_recover.py). Only while Socket.IO is still
  // trying ("active"): a window replaced by a newer one, or an agent refused, stays away.
  window.addEventListener("online", function () {
    if (room.over || socket.connected || !socket.active) return;
    socket.disconnect().connect(); // the pending try is dropped; auth (resume) is sent again
  });
  wire();
  room.showTab("people");
  if (cfg.ended) finish();
})(window.Room);
