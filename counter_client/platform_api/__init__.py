"""platform_api."""
