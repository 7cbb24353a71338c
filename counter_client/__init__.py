"""Counter-window client for 跨省通办: see README.md and ../shared/design/architecture.md."""

__version__ = "0.1.0"
