// The room's own media: the camera and microphone (asked for once), the queue that every
// change to the media connections waits in, and the mediator's screen share.
(function (room) {
  "use strict";
  var $ = room.$, text = room.text;

  var acquiring = null;
  function acquire() {
    // One request for the camera, whoever asks first; later callers share it.
    if (acquiring) return acquiring;
    if (room.over) return Promise.resolve(new MediaStream());
    // 24-30 frames a second: a keyframe comes soon after a connection opens; on a weak
    // network or a slow phone WebRTC lowers the rate and the resolution by itself.
    var video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };
    if (!navigator.mediaDevices) { // not https, or a browser without WebRTC
      room.notice(text.no_media);
      room.local = new MediaStream();
      acquiring = Promise.resolve(room.local);
      return acquiring;
    }
    acquiring = navigator.mediaDevices.getUserMedia({ audio: true, video: video })
      .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })
      .catch(function () { room.notice(text.no_media); return new MediaStream(); })
      .then(function (stream) {
        // The camera came after the end (the permission prompt was slow): off at once.
        if (room.over) { stopTracks(stream); return new MediaStream(); }
        room.local = stream;
        $("self-video").srcObject = stream;
        return stream;
      });
    return acquiring;
  }

  // Everything that touches peer connections runs one after another, once the camera is
  // ready: a layout and the offers that follow it are applied in the order they came.
  var work = Promise.resolve();
  room.later = function (task) {
    work = work.then(function () { if (!room.over) return acquire().then(task); })
      .catch(function (error) { console.warn(error); });
  };

  function stopTracks(stream) {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
  }
  room.stopTracks = stopTracks;

  // Mute, camera off: the track stays on every connection, silent or black.
  room.toggle = function (kind, pressed) {
    if (!room.local) return;
    room.local.getTracks().forEach(function (t) { if (t.kind === kind) t.enabled = !pressed; });
  };

  // The mediator's screen, in place of the camera on every connection.
  room.toggleShare = function () {
    if (room.screen) { stopShare(); return; }
    navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (stream) {
      room.screen = stream;
      var track = stream.getVideoTracks()[0];
      track.onended = stopShare;
      room.peers.replaceVideo(track);
      $("share").setAttribute("aria-pressed", "true");
    }).catch(function () {});
  };

  function stopShare() {
    if (!room.screen) return;
    room.screen.getTracks().forEach(function (t) { t.stop(); });
    room.screen = null;
    var camera = room.local && room.local.getVideoTracks()[0];
    if (camera) room.peers.replaceVideo(camera);
    $("share").setAttribute("aria-pressed", "false");
  }
})(window.Room);
