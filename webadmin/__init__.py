"""The local web console (aiohttp, server-rendered pages, JSON API under /api/v1)."""
