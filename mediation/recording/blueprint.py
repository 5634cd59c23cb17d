"""URL rules of the recording feature."""

from flask import Blueprint

from . import views

bp = Blueprint("recording", __name__)

bp.add_url_rule("/cases/<int:case_id>/recordings", view_func=views.case_recordings)
bp.add_url_rule("/recordings/<int:recording_id>.webm", view_func=views.recording_file)
bp.add_url_rule("/institution/recording", view_func=views.caucus_setting, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/review.mp4", view_func=views.review_file)
