// The participants list, and what each person does there before the session: the
// mediator lets people in from the lobby and checks who they are on camera; a party
// acknowledges the warning and answers about recording (SPC online mediation rules arts
// 17, 22), one step at a time.
(function (room) {
  "use strict";
  var $ = room.$, text = room.text, cfg = room.cfg;

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
      var current = room.roster.find(function (x) { return x.id === m.id; }) || m;
      var message = { participant: m.id, epoch: current.epoch };
      if (number.value.trim()) message.id_number = number.value.trim();
      if (ethnicity.value) message.ethnicity = ethnicity.value;
      room.socket.emit("confirm_identity", message);
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

  room.renderRoster = function () {
    var me = room.me, over = room.over, roster = room.roster;
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
        if (m.present && !m.admitted) item.appendChild(room.button(text.admit, function () { room.socket.emit("admit", { participant: m.id }); }, "admit"));
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
      if (figure) figure.querySelector(".name").textContent = room.captionOf(m.id);
    });
    if (typing && document.body.contains(typing)) typing.focus();
    var mine = roster.find(function (x) { return me && x.id === me.id; });
    if (mine && me.role !== "mediator") {
      // One step at a time: the warning (art 17), then the question about recording.
      $("warning").hidden = over || mine.warning_acknowledged;
      $("consent").hidden = over || !mine.warning_acknowledged || mine.recording_consent !== null;
      $("hand").setAttribute("aria-pressed", String(!!mine.hand_raised));
    }
    if (room.mediatorView) {
      // Someone waits for the mediator (to be let in, or checked): counted on the tab.
      var waiting = roster.filter(function (m) { return m.role !== "mediator" && m.present && (!m.admitted || !m.identity_confirmed); }).length;
      room.badge("people", waiting);
    }
    room.renderState();
    room.arrange();
  };
})(window.Room);
