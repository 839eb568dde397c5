"""Reading a class order a user gives (``--order-file``): JSON or one class name per line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from classsim_spark.core.seriation import Seriation, given_order

__all__ = ["read_order_file"]


def read_order_file(path: str | Path, class_names: Sequence[str]) -> Seriation:
    """Read an order from a file and check it with
    :func:`~classsim_spark.core.seriation.given_order`.

    Accepted formats: a JSON list of names or indices; a JSON object with an ``"order"`` list
    (as classsim writes ``order-<transform>.json``); or plain text with one class name per line
    (surrounding whitespace stripped, blank lines skipped). A file ending in ``.json``, or whose
    first non-blank character is ``[`` or ``{`` and which parses as JSON, is read as JSON.

    Parameters
    ----------
    path : str or Path
    class_names : sequence of str

    Returns
    -------
    Seriation
        As :func:`~classsim_spark.core.seriation.given_order`, with ``params["file"]``.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    data = None
    if path.suffix.lower() == ".json" or stripped[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if path.suffix.lower() == ".json":
                raise ValueError(f"{path}: not valid JSON ({e})") from e
    if data is None:
        items = [line.strip() for line in text.splitlines() if line.strip()]
    elif isinstance(data, dict):
        if "order" not in data or not isinstance(data["order"], list):
            raise ValueError(f"{path}: a JSON object needs an 'order' list")
        items = data["order"]
    elif isinstance(data, list):
        items = data
    else:
        raise ValueError(f"{path}: expected a JSON list or an object with 'order'")
    try:
        s = given_order(items, class_names)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return Seriation(s.order, None, "given", {**s.params, "file": str(path)})
