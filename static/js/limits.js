// How much of a text box's limit is used, shown under it, and a clear word when a paste is
// longer than what is left: the browser's maxlength cuts such a paste without a sign, and a
// person who pasted a long account of their dispute would not see that its end was lost.
// The words come in the page's language from #text-limits (templates/base.html); without
// this script the boxes still keep to their limits.
(function () {
  "use strict";
  var source = document.getElementById("text-limits");
  if (!source) return;
  var words = JSON.parse(source.textContent);

  function say(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  }

  function watch(box, index) {
    var max = box.maxLength;
    if (!(max > 0)) return;
    var counter = document.createElement("small");
    counter.className = "text-counter";
    // Unique even where two boxes share a name (a judge's page has two "reasons").
    counter.id = (box.id || "text-box-" + index) + "-counter";
    box.after(counter);
    box.setAttribute(
      "aria-describedby", ((box.getAttribute("aria-describedby") || "") + " " + counter.id).trim()
    );
    // Made when a paste is cut, and gone once the text fits: no empty error stays on the
    // page for tools (or tests) that look for the page's errors.
    var warning = null;
    function drop() {
      if (warning) warning.remove();
      warning = null;
    }
    function count() {
      counter.textContent = say(words.count, { n: box.value.length, max: max });
      if (box.value.length < max) drop();
    }
    box.addEventListener("input", count);
    // A page's own script may fill the box (the room's minutes): counted again when used.
    // (Not on "change" as well: with that listener the consultation form, sent again after
    // an error, was not sent at all in tests/journeys/test_consultation.py; why is not
    // understood, so it is left out.)
    box.addEventListener("focus", count);
    box.addEventListener("paste", function (event) {
      var pasted = (event.clipboardData || window.clipboardData).getData("text");
      var kept = box.value.length - (box.selectionEnd - box.selectionStart);
      if (kept + pasted.length <= max) {
        drop();
        return;
      }
      if (!warning) {
        warning = document.createElement("small");
        warning.className = "field-error text-cut";
        warning.setAttribute("role", "alert");
        counter.after(warning);
      }
      warning.textContent = say(words.cut, { max: max });
      // Under a tall box the word can be below the screen: brought up once the paste is in.
      setTimeout(function () { if (warning) warning.scrollIntoView({ block: "nearest" }); }, 0);
    });
    count();
  }

  document.querySelectorAll("textarea[maxlength]").forEach(watch);
})();
