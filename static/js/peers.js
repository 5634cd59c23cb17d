// The room's media connections: one RTCPeerConnection per peer the layout lists (a mesh),
// made, watched, restarted and closed here; room.js decides when (the layout, the welcome,
// the end) and shows what they bring. Protocol: docs/signaling.md ("signal").
//
// RoomPeers(room) takes what it needs of the page as functions, read when used: the
// page's layout, camera and screen change while the connections live.
//   room.socket          the /room Socket.IO connection
//   room.ice             iceServers and iceTransportPolicy (the page's configuration)
//   room.layout()        the layout this page follows (version, peers, group, send)
//   room.me()            this page's member ("welcome".you)
//   room.local()         the camera and microphone's stream; room.screen(): a shared screen
//   room.later(task)     runs task after everything queued before it, camera ready
//   room.over()          whether the session is over for this page
//   room.trace(...)      a line for a failure's report (console.debug)
//   room.tile(id)        the peer's tile (made if missing); room.untile(id): removed
//   room.iceChanged(id, state)  the ICE state of a connection with media changed (its tile says)
window.RoomPeers = function (room) {
  "use strict";
  var socket = room.socket, later = room.later, trace = room.trace;
  var peers = new Map(); // participant id -> {pc, offerer, pending candidates, tile}
  // The recorder: a hidden peer that only receives (it sends the offer). It is sent a
  // smaller picture than the people in the room: it keeps what it gets, and the phone's
  // upload is precious.
  var RECORDER = 0;
  var FOR_RECORDER = { scaleResolutionDownBy: 2, maxFramerate: 15, maxBitrate: 300000 };

  function send(to, kind, payload) {
    // While disconnected nothing is queued: the new connection starts over from "welcome".
    if (!socket.connected) return;
    trace("send", kind, "to", to, "v" + room.layout().version, kind === "candidate" ? payload.candidate : "");
    socket.emit("signal", { to: to, kind: kind, payload: payload, version: room.layout().version });
  }

  // A connection to a peer has the camera and microphone on it from the start. A person
  // waiting in the lobby and the mediator make theirs while the person waits ("links" in
  // the layout: the server relays their signaling, nothing else), without media: it sends
  // and receives sound and picture but no track is on its senders until the let-in, which
  // puts them on (RTCRtpSender.replaceTrack: no new negotiation). So at the let-in the
  // connection is up (ICE and DTLS done) and the picture goes with the next camera frame
  // (issue 18: admission to first frame). Nothing received on a link is shown.
  function isPeer(id) {
    return room.layout().peers.indexOf(id) >= 0 && room.layout().group !== "lobby";
  }

  function build(id, offerer, epoch) {
    var pc = new RTCPeerConnection({
      iceServers: room.ice.iceServers,
      // "relay" (MEDIATION_ICE_TRANSPORT_POLICY): media only through the TURN server.
      iceTransportPolicy: room.ice.iceTransportPolicy || "all",
      // No candidate pool (iceCandidatePoolSize): with one, Chromium now and then never
      // finished gathering on a new connection, which then never came up (7 runs in 53 of
      // tests/browser/test_room.py's three-party test beside a CPU burner; none in 34
      // without). The watchdog below brings such a connection up again as well.
      // The lobby link already has ICE done by the let-in.
    });
    var linked = !isPeer(id);
    var entry = {
      id: id, pc: pc, offerer: offerer, epoch: epoch, pending: [], restarting: false,
      linked: linked, media: !linked, stream: null,
    };
    if (!linked) room.local().getTracks().forEach(function (track) { pc.addTrack(track, room.local()); });
    if (offerer) {
      // Sound and picture from the peer, whatever this page has; sent back where this page
      // has them (no camera: the peer's page must not wait for a picture that never comes
      // before it plays the sound). On a link the tracks themselves come with attach().
      ["audio", "video"].forEach(function (kind) {
        if (have(kind) && !linked) return; // addTrack made it
        pc.addTransceiver(kind, { direction: have(kind) ? "sendrecv" : "recvonly", streams: [room.local()] });
      });
    }
    return entry;
  }

  // The answering side: the transceivers the offer made send too (they would only receive)
  // where this page has that kind of media, in the page's stream (the other side shows
  // sound and picture together).
  function sendBack(entry) {
    if (!entry.linked) return;
    entry.pc.getTransceivers().forEach(function (t) {
      if (t.direction !== "recvonly" || t.currentDirection === "stopped") return;
      if (!have(t.receiver.track.kind)) return;
      t.direction = "sendrecv";
      if (t.sender.setStreams) t.sender.setStreams(room.local());
    });
  }

  function have(kind) {
    return room.local().getTracks().some(function (t) { return t.kind === kind; });
  }

  function trackOf(kind) {
    if (kind === "video" && room.screen()) return room.screen().getVideoTracks()[0];
    return room.local().getTracks().find(function (t) { return t.kind === kind; }) || null;
  }

  // On a link, the camera and microphone while the layout lists the other as a peer and
  // says to send them; none otherwise. (A connection made to a peer has them from the
  // start, and is closed when the other is no longer one.)
  function attach(entry) {
    var on = isPeer(entry.id);
    if (on) show(entry);
    if (!entry.linked) return Promise.resolve();
    entry.media = on;
    return Promise.all(entry.pc.getTransceivers().map(function (t) {
      if (t.currentDirection === "stopped" || t.direction === "stopped") return null;
      var kind = t.receiver.track.kind;
      var track = on && !(room.layout().send && room.layout().send[kind] === false) ? trackOf(kind) : null;
      if (t.sender.track === track) return null;
      return t.sender.replaceTrack(track).catch(function (error) { console.warn("track not put on", error); });
    }));
  }

  // The peer's tile, with what they send (named at once; the picture follows).
  function show(entry) {
    if (entry.id === RECORDER || peers.get(entry.id) !== entry) return;
    var video = room.tile(entry.id).querySelector("video");
    if (entry.stream && video.srcObject !== entry.stream) video.srcObject = entry.stream;
  }

  function open(id, offerer, epoch, wait) {
    trace("open", id, offerer ? "offering" : "answering", "epoch", epoch);
    var entry = build(id, offerer, epoch);
    var pc = entry.pc;
    peers.set(id, entry);
    if (entry.media) {
      if (room.screen()) replaceVideo(room.screen().getVideoTracks()[0]);
      show(entry); // named at once; the picture follows
    }
    pc.onicecandidate = function (e) { if (e.candidate) send(id, "candidate", e.candidate.toJSON()); };
    pc.ontrack = function (e) {
      if (!entry.stream) entry.stream = e.streams[0] || new MediaStream();
      if (entry.stream.getTracks().indexOf(e.track) < 0) entry.stream.addTrack(e.track);
      if (entry.media) show(entry);
    };
    pc.onicegatheringstatechange = function () { trace("gathering", id, pc.iceGatheringState); };
    pc.onconnectionstatechange = function () { if (pc.connectionState === "connected") entry.up = true; };
    pc.oniceconnectionstatechange = function () {
      trace("ice", id, pc.iceConnectionState);
      if (broken(entry) && !entry.restarting) {
        entry.restarting = true;
        setTimeout(function () {
          entry.restarting = false;
          later(function () { if (peers.get(entry.id) === entry && broken(entry)) restart(entry); });
        }, 1000);
      }
      if (entry.media && id !== RECORDER && peers.get(id) === entry) room.iceChanged(id, pc.iceConnectionState);
    };
    if (offerer) {
      attach(entry);
      negotiate(entry, false);
    }
    // The recorder watches its own. The answerer waits longer: the offerer acts first.
    if (id !== RECORDER) watch(entry, wait || (offerer ? CONNECT_WITHIN : 1.5 * CONNECT_WITHIN));
    return entry;
  }

  // A connection not up within CONNECT_WITHIN is made again (restart: a new connection if
  // it never came up, an ICE restart if it did): a candidate or an offer lost on the way,
  // or a browser that stalled gathering, would otherwise leave two people without each
  // other's picture for good (a connection that never had a candidate pair stays "new"
  // and never "fails"). The wait doubles each time: slow networks get the time they need.
  var CONNECT_WITHIN = 8000;
  function watch(entry, wait) {
    entry.wait = wait;
    entry.watchdog = setTimeout(function () {
      if (room.over() || peers.get(entry.id) !== entry) return;
      if (entry.pc.connectionState === "connected") { watch(entry, CONNECT_WITHIN); return; }
      // Offline, nothing would reach the other page; coming back restarts.
      if (socket.connected) {
        trace("not connected within", wait, "ms:", entry.id, entry.pc.connectionState);
        later(function () { if (peers.get(entry.id) === entry) restart(entry); });
      }
      watch(entry, longer(wait)); // stops once the entry is closed (renewed)
    }, wait);
  }

  function longer(wait) { return Math.min(2 * wait, 60000); }

  function negotiate(entry, iceRestart) {
    if (peers.get(entry.id) !== entry) return;
    entry.pc.createOffer({ iceRestart: iceRestart })
      .then(function (offer) { return entry.pc.setLocalDescription(offer); })
      .then(function () { send(entry.id, "offer", entry.pc.localDescription.toJSON()); })
      .catch(function (error) { console.warn("offer failed", error); });
  }

  function broken(entry) {
    var state = entry.pc.iceConnectionState;
    return state === "disconnected" || state === "failed";
  }

  // ICE restart (a network change, a dropped Wi-Fi): the offerer makes a new offer on the
  // same connection; the answerer asks the offerer for one. A connection that never came
  // up is made anew instead (renew): its ICE agent may be what is stuck.
  // One at a time: the ICE state's handler, the peer's request and the watchdog each see the
  // same outage, and each made its own restart (three offers within a second for one outage
  // of a party on a weak mobile network, tests/journeys/test_weak_network.py), each
  // gathering new TURN allocations over the very network that is weak. Another comes once
  // this one has had RESTART_EVERY to work, and one held back is looked at again then (a
  // connection still broken is restarted: the ICE state may not change again to say so);
  // after a new signaling connection (``now``, from restartBroken) at once: what was sent
  // before may never have arrived. On the page's own monotonic clock: a phone's wall clock
  // may be set back when it changes networks.
  var RESTART_EVERY = 5000;
  function restart(entry, now) {
    var since = performance.now() - (entry.restarted || -RESTART_EVERY);
    if (!now && since < RESTART_EVERY) {
      trace("restart under way", entry.id);
      if (!entry.restartLater) {
        entry.restartLater = setTimeout(function () {
          entry.restartLater = null;
          if (peers.get(entry.id) === entry && broken(entry)) restart(entry);
        }, RESTART_EVERY - since);
      }
      return;
    }
    clearTimeout(entry.restartLater);
    entry.restartLater = null;
    entry.restarted = performance.now();
    if (!entry.offerer) send(entry.id, "restart", null);
    else if (entry.up) negotiate(entry, true);
    else renew(entry);
  }

  // A new RTCPeerConnection in place of one that never came up; the other page takes its
  // offer (another DTLS fingerprint) as a new connection too (otherConnection).
  function renew(entry) {
    trace("renew", entry.id);
    close(entry.id);
    open(entry.id, true, entry.epoch, longer(entry.wait || CONNECT_WITHIN));
  }

  function close(id) {
    var entry = peers.get(id);
    if (!entry) return;
    trace("close", id);
    clearTimeout(entry.watchdog);
    clearTimeout(entry.restartLater);
    entry.pc.close();
    peers.delete(id);
    room.untile(id);
  }

  var early = new Map(); // candidates that came before their peer's offer
  function onSignal(message) {
    var entry = peers.get(message.from);
    trace("got", message.kind, "from", message.from, "epoch", message.epoch, entry ? "known" : "new");
    if (entry && entry.epoch !== undefined && message.epoch < entry.epoch) return; // old
    if (entry && message.kind === "offer" && (
      (entry.epoch !== undefined && message.epoch > entry.epoch) || otherConnection(entry, message.payload))) {
      close(message.from); // the peer came back on a new connection, or made a new one
      entry = null;
    }
    // The server relays only between peers the layout joins: an offer may arrive before
    // this client has read the layout that lists its sender, candidates before the offer.
    if (!entry) {
      if (message.kind !== "offer") {
        if (message.kind === "candidate") {
          var held = early.get(message.from) || [];
          held.push(message);
          early.set(message.from, held);
        }
        return;
      }
      entry = open(message.from, false, message.epoch);
      (early.get(message.from) || []).forEach(function (c) {
        if (c.epoch === message.epoch) entry.pending.push(c.payload);
      });
      early.delete(message.from);
    }
    if (entry.epoch === undefined) entry.epoch = message.epoch;
    var pc = entry.pc;
    if (message.kind === "offer") {
      pc.setRemoteDescription(message.payload)
        .then(function () { sendBack(entry); return flush(entry); })
        .then(function () { return attach(entry); })
        .then(function () { return pc.createAnswer(); })
        .then(function (answer) { return pc.setLocalDescription(answer); })
        .then(function () { send(entry.id, "answer", pc.localDescription.toJSON()); })
        .then(function () { if (entry.id === RECORDER) return reduceFor(pc); })
        .catch(function (error) { console.warn("answer failed", error); });
    } else if (message.kind === "answer") {
      pc.setRemoteDescription(message.payload).then(function () { return flush(entry); })
        .catch(function (error) { console.warn("answer not applied", error); });
    } else if (message.kind === "restart") {
      // One offer at a time: an offer still waiting for its answer (this page restarted
      // too) answers the request; a second would cross the first one's answer.
      if (entry.offerer && pc.signalingState === "stable") restart(entry);
    } else if (message.kind === "candidate") {
      if (pc.remoteDescription) pc.addIceCandidate(message.payload).catch(function () {});
      else entry.pending.push(message.payload);
    }
  }

  // An offer from another peer connection than the one this one talks to (its DTLS
  // certificate differs: an ICE restart keeps it): the peer closed theirs and made a new one
  // (it read a layout that closed the connection before this page did: a caucus begun and
  // ended quickly). Applied to the old connection it would fail, and the two would never
  // connect.
  function fingerprintOf(description) {
    var found = /a=fingerprint:(\S+ \S+)/.exec((description && description.sdp) || "");
    return found ? found[1] : null;
  }

  function otherConnection(entry, offer) {
    var known = fingerprintOf(entry.pc.remoteDescription);
    return known !== null && fingerprintOf(offer) !== null && known !== fingerprintOf(offer);
  }

  function reduceFor(pc) {
    return Promise.all(pc.getSenders().map(function (sender) {
      if (!sender.track || sender.track.kind !== "video") return null;
      var parameters = sender.getParameters();
      (parameters.encodings || []).forEach(function (e) { Object.assign(e, FOR_RECORDER); });
      return sender.setParameters(parameters).catch(function () {});
    }));
  }

  function flush(entry) {
    var waiting = entry.pending.splice(0);
    return Promise.all(waiting.map(function (c) { return entry.pc.addIceCandidate(c).catch(function () {}); }));
  }

  // The connections the layout lists: made (this page offers to the higher ids), given
  // media at the let-in, closed when it no longer lists them.
  function follow(next) {
    trace("layout", "v" + next.version, next.group, "peers", next.peers, "links", next.links, JSON.stringify(next.epochs));
    var media = new Set(next.peers);
    var wanted = new Set(next.peers.concat(next.links || []));
    var epochs = next.epochs || {};
    peers.forEach(function (entry, id) {
      // Gone from the layout, no longer a peer after media flowed (a caucus: closed, not
      // just muted), or back on a new connection (a reload): start again.
      if (!wanted.has(id) || (entry.media && !media.has(id)) ||
        (epochs[id] !== undefined && entry.epoch !== epochs[id])) close(id);
    });
    wanted.forEach(function (id) {
      if (!peers.has(id)) open(id, room.me().id < id, epochs[id]);
      else attach(peers.get(id)); // a link made in the lobby: the let-in puts media on it
    });
  }

  function replaceVideo(track) {
    peers.forEach(function (entry) {
      entry.pc.getSenders().forEach(function (s) { if (s.track && s.track.kind === "video") s.replaceTrack(track); });
    });
  }

  // Every connection closed (the end, a new place in the room, sent away).
  function closeAll() {
    Array.from(peers.keys()).forEach(close);
    early.clear();
  }

  function restartBroken() {
    peers.forEach(function (entry) { if (broken(entry)) restart(entry, true); });
  }

  return {
    entries: peers, RECORDER: RECORDER, open: open, close: close, closeAll: closeAll,
    onSignal: onSignal, follow: follow, restartBroken: restartBroken, replaceVideo: replaceVideo,
  };
};
