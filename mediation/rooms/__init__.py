"""Rooms: the HTTP and state side of a video session: who is in the lobby and who was
admitted, identity confirmation on camera, the sham-mediation warning, consent to
recording, the caucus, chat, and the media layout the signaling server enforces."""
