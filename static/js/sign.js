// The drawn signature: signature_pad (npm) on a canvas. What travels with every press of a
// button is the strokes themselves (signature_pad's toData(), in a hidden field) and their
// PNG (what is signed). Asking for the code shows the page again: the strokes are drawn
// anew at this screen's pixel ratio and size, never a picture scaled a second time (a PNG
// made on a 2x screen drawn back "at ratio 1" came back twice as large and cut off).
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("sign-form");
  var field = form && form.querySelector("input[name=drawing]");
  var kept = form && form.querySelector("input[name=strokes]");
  if (!canvas || !field || !window.SignaturePad) return;
  var pad = new window.SignaturePad(canvas, { penColor: "#111", minWidth: 1, maxWidth: 3 });
  var MAX_STROKES = 300 * 1024; // as the server keeps at most (forms.MAX_STROKES)

  // The strokes in the coordinates of the pad they were drawn on ({w, h} in CSS pixels):
  // on another size (rotating the phone, a window made narrower) they are scaled by one
  // factor, so the drawing is neither cut off nor distorted, and scaling back restores it.
  var base = { w: 0, h: 0, groups: [] };
  var scale = 1;
  var size = { w: 0, h: 0, ratio: 0 };
  var picture = null; // a PNG without strokes (from a page without this script's field)

  function mapGroups(groups, f) {
    return groups.map(function (g) {
      var copy = {};
      Object.keys(g).forEach(function (k) { copy[k] = g[k]; });
      copy.minWidth = g.minWidth * f;
      copy.maxWidth = g.maxWidth * f;
      copy.dotSize = (g.dotSize || 0) * f;
      copy.points = g.points.map(function (p) {
        return { x: p.x * f, y: p.y * f, pressure: p.pressure, time: p.time };
      });
      return copy;
    });
  }

  function draw() {
    pad.clear();
    if (base.groups.length) {
      pad.fromData(mapGroups(base.groups, scale));
    } else if (picture) {
      // Fitted into the pad at this screen's ratio, its proportions kept.
      var w = canvas.offsetWidth, h = canvas.offsetHeight;
      var f = Math.min(w / picture.w, h / picture.h, 1);
      pad.fromDataURL(picture.url, {
        ratio: size.ratio, width: picture.w * f, height: picture.h * f,
      });
    }
  }

  // A sharp line on high-density phone screens, without losing what is drawn.
  function fit() {
    var w = canvas.offsetWidth, h = canvas.offsetHeight;
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    if (!w || !h || (w === size.w && h === size.h && ratio === size.ratio)) return;
    size = { w: w, h: h, ratio: ratio };
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    if (!base.w) base = { w: w, h: h, groups: base.groups };
    scale = Math.min(w / base.w, h / base.h);
    draw();
  }

  // After each stroke: everything drawn, back in the base coordinates.
  function remember() {
    base.groups = mapGroups(pad.toData(), 1 / scale);
    picture = null;
  }

  function save() {
    if (!kept) return;
    var text = base.groups.length
      ? JSON.stringify(base, function (k, v) {
        return k === "x" || k === "y" ? Math.round(v * 10) / 10 : v;
      })
      : "";
    kept.value = text.length <= MAX_STROKES ? text : "";
  }

  function restore() {
    var text = kept && kept.value;
    if (text) {
      try {
        var found = JSON.parse(text);
        if (found && found.w > 0 && found.h > 0 && Array.isArray(found.groups)) {
          base = { w: found.w, h: found.h, groups: found.groups };
          return;
        }
      } catch (e) { /* drawn again from the picture below */ }
    }
    if (field.value) {
      var image = new Image();
      image.onload = function () {
        // The PNG holds the pad's pixels at the ratio of the screen it was made on.
        picture = { url: field.value, w: image.naturalWidth, h: image.naturalHeight };
        var made = Math.max(Math.round(image.naturalWidth / (canvas.offsetWidth || 1)), 1);
        picture.w /= made;
        picture.h /= made;
        draw();
      };
      image.src = field.value;
    }
  }

  pad.addEventListener("endStroke", function () {
    remember();
    save();
  });
  window.addEventListener("resize", fit);
  window.addEventListener("orientationchange", fit);
  restore();
  fit();

  document.getElementById("clear-pad").addEventListener("click", function () {
    pad.clear();
    base = { w: size.w, h: size.h, groups: [] };
    scale = 1;
    picture = null;
    field.value = "";
    save();
  });
  form.addEventListener("submit", function () {
    if (base.groups.length) {
      // Drawn at the pad's present size from the strokes: the whole drawing, sharp.
      field.value = pad.toDataURL("image/png");
    }
    save();
  });
})();
