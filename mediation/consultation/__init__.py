"""Consultation (在线咨询): a question to the region's expert pool, answered in writing."""
