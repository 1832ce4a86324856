"""ElementaFeeds: syndicate product feeds into WooCommerce stores and WordPress sites."""

from __future__ import annotations

__version__ = "0.1.0"
