// The video room's page, in plain scripts loaded in order by templates/rooms/room.html
// (no bundler): this one makes the namespace they share, window.Room; the others add their
// part to it; room.js, the last, connects and wires the page. Only room.js does anything
// when loaded: the others define, so no event can come before its handler is there.
//
//   room-base.js    the namespace: the page's configuration and text, the state below
//   room-media.js   the camera and microphone, the queue of connection work, screen share
//   room-stage.js   the videos: tiles, who is largest, connection quality, roomStats()
//   room-state.js   what the room says to this person now (the banner)
//   room-roster.js  the participants list, the mediator's let-in and identity steps
//   room-panel.js   the side panel: its tabs, the chat, the mediator's minutes
//   peers.js        the media connections (RoomPeers)
//   room.js         the socket, the layout, the end, the controls
//
// The state, read and written by all of them:
//   Room.socket   the /room Socket.IO connection (room.js makes it)
//   Room.peers    the media connections (RoomPeers, room.js makes them)
//   Room.me       this page's member ("welcome".you), null before the first welcome
//   Room.layout   the layout this page follows (docs/signaling.md "layout")
//   Room.roster   the room's members, as the last "roster" gave them
//   Room.local    the camera and microphone's stream; Room.screen: a shared screen
//   Room.over     whether the session is over for this page
window.Room = (function () {
  "use strict";
  var room = {
    cfg: JSON.parse(document.getElementById("room-config").textContent),
    text: JSON.parse(document.getElementById("room-text").textContent),
    $: function (id) { return document.getElementById(id); },
    socket: null,
    peers: null,
    me: null,
    layout: { version: 0, peers: [], group: "lobby", caucus: null },
    roster: [],
    local: null,
    screen: null,
    over: false,
  };
  room.mediatorView = room.cfg.role === "mediator";

  // What the connections do, for a failure's report (the console's "verbose" level).
  room.trace = function () {
    console.debug.apply(console, ["room:"].concat(Array.prototype.slice.call(arguments)));
  };

  room.notice = function (message) {
    room.$("notice").textContent = message;
    room.$("notice").hidden = !message;
  };

  room.memberOf = function (id) {
    return room.roster.find(function (x) { return x.id === id; });
  };

  room.nameOf = function (id) {
    var m = room.memberOf(id);
    return m ? m.name : "";
  };

  room.button = function (label, handler, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", handler);
    return b;
  };

  return room;
})();
