"""Signed hotlists: loading and validation (parse), matching (matcher), alerts (manager).

docs/hotlists.md describes the file formats and the signature.
"""
