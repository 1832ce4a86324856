"""The sandbox workspace of the pipeline tests."""

from tests.pipeline.conftest import workspace  # noqa: F401
