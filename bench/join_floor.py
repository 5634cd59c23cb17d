"""The floor under ``bench/room_join.py``: the same two Chromium browsers, fake cameras and
WebRTC steps as the room's lobby link, with no server between them.

Each page takes its camera and microphone, and the two make a connection that sends and
receives sound and picture with no track on its senders (as ``static/js/peers.js`` does for a
person waiting in the lobby: the mediator's side offers). The offer, answer and candidates
are handed over by this script before the clock starts, and the connection is up (ICE and
DTLS done). The clock starts when the mediator's page puts its camera and microphone on
(``replaceTrack``); the party's page does the same one script call later, where the
platform's does it when the server tells it it was let in. Each page then shows what it
receives, and the first decoded frame is noted as on the platform's pages.

So a platform run minus a floor run of the same moment is what the platform itself adds:
the let-in's round trip through the server, and the pages' own work on it. What is left
in the floor is the camera's next frame, the encoder's start and the transport, which no
server can shorten, and which depend on the machine's load at that moment (issue 18)."""

from __future__ import annotations

# Run in each page: its camera and microphone, and a connection without media on it.
PREPARE = """async (offerer) => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
  const pc = new RTCPeerConnection({iceServers: []});
  const ref = window.floor = {stream, pc, candidates: [], remote: null, firstFrameAt: null};
  pc.onicecandidate = (e) => { if (e.candidate) ref.candidates.push(e.candidate.toJSON()); };
  pc.ontrack = (e) => { ref.remote = e.streams[0] || new MediaStream([e.track]); };
  if (offerer) {
    for (const kind of ['audio', 'video']) {
      pc.addTransceiver(kind, {direction: 'sendrecv', streams: [stream]});
    }
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.toJSON();
  }
  return null;
}"""
ANSWER = """async (offer) => {
  const {pc, stream} = window.floor;
  await pc.setRemoteDescription(offer);
  for (const t of pc.getTransceivers()) {  // sent back, as peers.js's sendBack
    t.direction = 'sendrecv';
    if (t.sender.setStreams) t.sender.setStreams(stream);
  }
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.toJSON();
}"""
ANSWERED = "async (answer) => { await window.floor.pc.setRemoteDescription(answer); }"
GATHERED = "() => window.floor.pc.iceGatheringState === 'complete'"
CANDIDATES = "() => window.floor.candidates"
ADD_CANDIDATES = """async (candidates) => {
  for (const c of candidates) await window.floor.pc.addIceCandidate(c);
}"""
CONNECTED = "() => window.floor.pc.connectionState === 'connected'"
# The let-in on this page: the camera and microphone put on the connection, the peer's
# picture shown, and the first decoded frame noted (polled every 2 ms, as room_join's
# FIRST_FRAME). Returns when it started, on the machine's one clock.
MEDIA_ON = """() => {
  const ref = window.floor;
  const started = performance.timeOrigin + performance.now();
  for (const t of ref.pc.getTransceivers()) {
    const track = ref.stream.getTracks().find((s) => s.kind === t.receiver.track.kind);
    t.sender.replaceTrack(track);
  }
  const video = document.createElement('video');
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.srcObject = ref.remote;
  document.body.append(video);
  const watch = setInterval(() => {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      ref.firstFrameAt = performance.timeOrigin + performance.now();
      clearInterval(watch);
    }
  }, 2);
  return started;
}"""
FIRST_FRAME = "() => window.floor.firstFrameAt !== null"
CLOSE = """() => {
  window.floor.pc.close();
  window.floor.stream.getTracks().forEach((t) => t.stop());
}"""


def floor_run(browsers, url: str) -> tuple[float, float]:
    """One join without the platform: (party sees mediator, mediator sees party), in ms
    after the mediator's page put its media on. ``url``: any page of a secure origin (the
    camera is asked for there); its own scripts do not take part."""
    mediator, party = (browser.new_context().new_page() for browser in browsers)
    try:
        for page in (mediator, party):
            page.goto(f"{url}/login")
        offer = mediator.evaluate(PREPARE, True)
        party.evaluate(PREPARE, False)
        mediator.evaluate(ANSWERED, party.evaluate(ANSWER, offer))
        for page in (mediator, party):
            page.wait_for_function(GATHERED, timeout=10_000)
        mediator.evaluate(ADD_CANDIDATES, party.evaluate(CANDIDATES))
        party.evaluate(ADD_CANDIDATES, mediator.evaluate(CANDIDATES))
        for page in (mediator, party):
            page.wait_for_function(CONNECTED, timeout=10_000)
        started = mediator.evaluate(MEDIA_ON)
        party.evaluate(MEDIA_ON)
        for page in (party, mediator):
            page.wait_for_function(FIRST_FRAME, timeout=10_000)
        return (
            party.evaluate("window.floor.firstFrameAt") - started,
            mediator.evaluate("window.floor.firstFrameAt") - started,
        )
    finally:
        for page in (mediator, party):
            page.evaluate(CLOSE)
            page.context.close()
