"""Encrypted ring-buffer store on SQLite: key hierarchy, retention, holds, evidence, access log."""
