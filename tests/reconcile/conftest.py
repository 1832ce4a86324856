"""Reuse the pipeline tests' sandbox workspace."""

from tests.pipeline.conftest import workspace  # noqa: F401
