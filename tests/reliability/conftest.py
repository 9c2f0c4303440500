"""Fixtures of the reliability tests: the users in each role, the environments and the
small released pipeline of tests/pipelines_admin."""

from tests.pipelines_admin.conftest import *  # noqa: F403
