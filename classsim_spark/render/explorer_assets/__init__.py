"""The explorer page: script, style and HTML shell (read by ``render.explorer``)."""
