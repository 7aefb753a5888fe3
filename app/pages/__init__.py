"""The public map and the managers' console, served by the API (router.py)."""
