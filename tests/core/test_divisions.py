"""Divisions named as people name them (core.divisions, GB/T 2260), never by a bare code."""

from __future__ import annotations

from flask_babel import force_locale

from mediation.core import divisions


def test_a_listed_division_is_named_alone_or_with_its_parents(app_ctx):
    with app_ctx.test_request_context():
        assert divisions.name("32") == "江苏省"
        assert divisions.name("3201") == "南京市"
        assert divisions.name("320102") == "玄武区"
        assert divisions.name("320102", full=True) == "江苏省南京市玄武区"
    with app_ctx.test_request_context(), force_locale("en"):
        assert divisions.name("320102") == "Xuanwu District"
        assert divisions.name("320102", full=True) == "Xuanwu District, Nanjing, Jiangsu"


def test_one_not_listed_is_named_by_its_nearest_listed_parent_and_its_code(app_ctx):
    with app_ctx.test_request_context():
        # A street (GB/T 10114): its district, and the code that tells which street.
        assert divisions.name("320102007") == "玄武区下辖区划320102007"
        assert divisions.name("3301", full=True) == "浙江省下辖区划330100"
    with app_ctx.test_request_context(), force_locale("en"):
        assert divisions.name("320102007") == "Xuanwu District, division 320102007"


def test_every_province_has_a_name():
    assert len(divisions.PROVINCES) == 34
    assert all(code in divisions.NAMES for code, _zh, _en in divisions.PROVINCES)
