// What the room says to this person now (the banner above the videos), made from the
// layout and the roster alone, and the mediator's buttons that can be used now.
(function (room) {
  "use strict";
  var $ = room.$, text = room.text, mediatorView = room.mediatorView;

  function names(members) {
    return members.map(function (m) { return m.name; }).join("、");
  }

  // What the room says to this person now, and how (a caucus and the end look different).
  function stateNow() {
    var layout = room.layout, roster = room.roster, me = room.me;
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
    var mine = room.memberOf(me.id);
    var mediator = roster.find(function (m) { return m.role === "mediator"; });
    if (mediator && !mediator.present) return { text: text.mediator_away };
    if (mine && !mine.identity_confirmed) return { text: text.identity_check };
    if (mine && !mine.warning_acknowledged) return { text: "" }; // the warning itself shows
    if (mine && mine.side) {
      var otherSide = others.some(function (m) {
        return m.side && m.side !== mine.side && m.admitted && m.identity_confirmed && m.warning_acknowledged;
      });
      // The other side present but not yet through the mediator's checks is on its way in:
      // "waiting for them to join" would tell this person they had not come.
      var arriving = others.some(function (m) { return m.side && m.side !== mine.side; });
      if (!otherSide) return { text: arriving ? text.other_arriving : text.waiting_other };
    }
    return { text: layout.started ? "" : text.starting };
  }

  room.renderState = function () {
    var layout = room.layout;
    var now = stateNow();
    var banner = $("state");
    if (banner.textContent !== now.text) banner.textContent = now.text;
    banner.hidden = !now.text;
    banner.className = "room-state" + (now.kind ? " " + now.kind : "");
    // Red only once every stream is being written; grey while the recorder sets up.
    $("recording").hidden = !layout.recording;
    $("recording-soon").hidden = layout.recording || layout.recording_state !== "starting";
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
  };
})(window.Room);
