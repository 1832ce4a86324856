"""The WordPress destination: posts and custom post types through the WP REST API."""

from elementafeeds.destinations.wordpress.destination import WordPressDestination

__all__ = ["WordPressDestination"]
