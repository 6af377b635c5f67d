"""Shared fixtures. Tests write only under tmp_path and never touch ../shared/data."""
