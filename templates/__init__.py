"""Jinja2 templates of the digests, shipped as the package data of `digest.templates`."""
