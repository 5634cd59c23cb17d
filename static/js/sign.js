// The drawn signature: signature_pad (npm) on a canvas; its PNG travels in a hidden field
// with every press of a button, so asking for the code keeps the drawing.
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("sign-form");
  var field = form && form.querySelector("input[name=drawing]");
  if (!canvas || !field || !window.SignaturePad) return;
  var pad = new window.SignaturePad(canvas, { penColor: "#111", minWidth: 1, maxWidth: 3 });

  // A sharp line on high-density phone screens, without losing what is drawn.
  function fit() {
    var data = pad.toData();
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (data.length) pad.fromData(data);
  }
  window.addEventListener("resize", fit);
  fit();
  if (field.value) pad.fromDataURL(field.value, { ratio: 1 });

  document.getElementById("clear-pad").addEventListener("click", function () {
    pad.clear();
    field.value = "";
  });
  form.addEventListener("submit", function () {
    field.value = pad.isEmpty() ? field.value : pad.toDataURL("image/png");
  });
})();
