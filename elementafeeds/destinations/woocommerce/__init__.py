"""WooCommerce stores through REST v3: the `woocommerce` destination."""

from __future__ import annotations

from elementafeeds.destinations.woocommerce.destination import WooCommerceDestination

__all__ = ["WooCommerceDestination"]
