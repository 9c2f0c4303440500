"""A candidate config named in words against what is live now."""

from types import SimpleNamespace

import pytest

from pipelines_admin.configs.candidates import config_label

PRODUCTION = SimpleNamespace(name="production")
PATCH = {"stages": {"a": {"enabled": False}}}


def live(effective_hash="sha256:live", override=None):
    return SimpleNamespace(effective_hash=effective_hash, override=override or {})


@pytest.mark.parametrize(
    "override, effective_hash, now, label",
    [
        ({}, "sha256:x", None, "v3 in production (not released there)"),
        (PATCH, "sha256:x", None, "v3 with a proposed override of production (not released there)"),
        ({}, "sha256:x", live("sha256:x"), "live in production (v3)"),
        (PATCH, "sha256:x", live("sha256:x", PATCH), "live in production (v3)"),
        ({}, "sha256:x", live(), "v3 in production"),
        (PATCH, "sha256:x", live(override=PATCH), "v3 with production's override"),
        (PATCH, "sha256:x", live(), "v3 with a proposed override of production"),
        ({}, "sha256:x", live(override=PATCH), "v3 in production without its override"),
    ],
)
def test_config_label__against_what_is_live__named_as_it_is_now(override, effective_hash, now, label):
    # Given v3 with an override, and what runs in production now / When it is named / Then
    assert config_label(PRODUCTION, 3, override, effective_hash, now) == label
