// The side panel: its tabs (participants, chat, the mediator's minutes) with their unread
// counts, the chat's lines, and the minutes saved as the mediator types.
(function (room) {
  "use strict";
  var $ = room.$, text = room.text, cfg = room.cfg;

  // -- the tabs -----------------------------------------------------------------------
  var unread = 0;
  function badge(tab, count) {
    document.querySelectorAll('#tab-' + tab + ' .badge, .panel-toggle[data-tab="' + tab + '"] .badge').forEach(function (b) {
      b.textContent = count ? String(count) : "";
      b.hidden = !count;
    });
  }
  room.badge = badge;

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
  room.showTab = showTab;

  function currentTab() {
    var on = document.querySelector('#panel [role="tab"][aria-selected="true"]');
    return on ? on.id.slice(4) : "people";
  }
  room.currentTab = currentTab;

  room.wirePanel = function () {
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
  };

  // -- the chat -----------------------------------------------------------------------
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

  // fresh: said now (counted unread when the chat is not in view), not the history that
  // comes with a welcome.
  room.addChat = function (line, fresh) {
    var item = document.createElement("li");
    var meta = document.createElement("span");
    meta.className = "chat-meta";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = room.nameOf(line.from) + (line.scope === "joint" ? "" : " (" + text.private + ")");
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
  };

  // -- the minutes (the mediator's): saved a moment after the mediator stops typing -----
  var minutesTimer = null;
  function saveMinutes() {
    minutesTimer = null;
    var fields = {};
    document.querySelectorAll("#minutes textarea").forEach(function (t) { fields[t.name] = t.value; });
    room.socket.emit("minutes", fields);
  }

  room.wireMinutes = function () {
    document.querySelectorAll("#minutes textarea").forEach(function (t) {
      t.addEventListener("input", function () {
        $("minutes-status").textContent = "…";
        clearTimeout(minutesTimer);
        minutesTimer = setTimeout(saveMinutes, 1200);
      });
    });
    room.socket.on("minutes_saved", function (m) {
      if (!minutesTimer) $("minutes-status").textContent = text.minutes_saved + " · v" + m.version;
    });
  };

  // then() once the server has everything typed: at once when nothing waits to be saved.
  // Events are handled concurrently on the server, so what follows ("end") must not
  // overtake the save.
  room.afterMinutesSaved = function (then) {
    if (!minutesTimer) { then(); return; }
    clearTimeout(minutesTimer);
    room.socket.once("minutes_saved", then);
    saveMinutes();
  };

  // What the welcome brings: filled in where the mediator has typed nothing yet.
  room.fillMinutes = function (minutes) {
    document.querySelectorAll("#minutes textarea").forEach(function (t) { if (!t.value) t.value = minutes[t.name] || ""; });
  };
})(window.Room);
