// The agreement editor's live preview: the document as it would be printed, from the
// fields as they are now (nothing is saved until the mediator presses a button).
(function () {
  "use strict";
  var form = document.getElementById("agreement-form");
  var frame = document.getElementById("preview");
  var status = document.getElementById("preview-status");
  if (!form || !frame) return;
  var timer = null;
  var asked = 0;

  function refresh() {
    var mine = ++asked;
    var body = new FormData(form);
    fetch(form.dataset.preview, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (result) {
        if (mine !== asked) return; // a newer preview is on its way
        if (result.ok) { frame.srcdoc = result.text; status.textContent = ""; }
        else status.textContent = result.text;
      })
      .catch(function () { status.textContent = "…"; });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  });
  refresh();
})();
