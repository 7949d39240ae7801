"""The trusted side of one submission (see docs/ARCHITECTURE.md)."""
