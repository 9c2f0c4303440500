"""The Content-Security-Policy (django-csp): every page carries it, scripts come from the
console's own origin only (no inline script, no eval), and the templates hold nothing
the policy would block: no inline script or event handler, no inline style. Chromium
checks the pages themselves in test_browser_csp.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((REPO / "templates").rglob("*.html"))


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["login", "console:pipelines", "console:runs", "console:dashboards", "console:audit", "tokens:list"],
)
def test_csp_header__console_pages__scripts_and_styles_from_self_only(name, viewer):
    # Given a viewer's session (the login page: nobody's)
    client = Client()
    if name != "login":
        client.force_login(viewer)
    # When a page is served
    response = client.get(reverse(name))
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    # Then scripts and styles come only from the console itself: no inline code, no eval
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=|<style\b", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(REPO / "templates")))
def test_template__source__nothing_the_policy_blocks(template):
    # Given a template of the console / When its source is read
    source = template.read_text()
    # Then it has no inline script, event handler, inline style or javascript: URL
    # (json_script's data blocks are not scripts, and are not in the source)
    assert not INLINE_SCRIPT.search(source), "inline <script>: move it to static/js"
    assert not EVENT_HANDLER.search(source), "inline event handler: listen from static/js"
    assert not INLINE_STYLE.search(source), "inline style: use a class in static/css"
    assert not JS_URL.search(source)
    assert "hx-on" not in source and "js:" not in source, "htmx evaluates these: the policy forbids eval"


def test_htmx_config__base_template__no_injected_style_and_no_eval():
    # Given the page every console page extends
    source = (REPO / "templates" / "base.html").read_text()
    # Then htmx is told not to inject its indicator <style>, not to eval, not to run swapped-in scripts
    meta = re.search(r"""<meta name="htmx-config" content='([^']+)'>""", source)
    assert meta is not None
    import json

    config = json.loads(meta.group(1))
    assert config == {"includeIndicatorStyles": False, "allowEval": False, "allowScriptTags": False}
