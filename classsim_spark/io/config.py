"""Run configuration: built-in defaults < a TOML file < command-line overrides.

The TOML file has the sections of :data:`DEFAULTS` (see ``conf/class_similarity.toml``). TOML has
no null, so an empty string means "not set" for optional values. Unknown sections or keys are an
error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from classsim_spark.errors import ClasssimError

DEFAULTS: dict[str, dict[str, Any]] = {
    "input": {
        "source": None,
        "format": "parquet",
        "reader": "auto",
        "where": None,
        "layout": "array",
        "scores_col": "scores",
        "class_col": "class",
        "id_col": "sample_id",
        "classes": None,
        "prefix": None,
        "regex": None,
        "fill_value": None,
        "labels": "auto",
    },
    "scores": {"kind": "logits", "activation": "softmax", "eps": 1e-12},
    "similarity": {
        "transforms": "auto",
        "drop_invalid": False,
        "zero_variance": "zero",
        "tile_size": None,
        "driver_memory_limit_gib": None,
        "sample_rows": 1000,
        "stability_parts": "auto",
        "by": None,
        "windows_budget_gib": 4.0,
    },
    "analysis": {
        "taxonomy": None,
        "taxonomy_levels": None,
        "transform": "auto",
        "distance": "auto",
        "linkage": "auto",
        "criterion": "fixed",
        "clip_negative": False,
        "order_file": None,
        "fuzzy_groups": None,
        "core": 0.5,
        "seed": 0,
        "stability_resamples": 20,
    },
    "output": {"dir": None, "overwrite": False, "update": None},
    "render": {
        "vector": "svg",
        "transform": None,
        "diverging": False,
        "cutoff": None,
        "contrast": 1.0,
        "log_counts": False,
        "names_max": 150,
        "highlight": [],
        "coverage": 0.8,
        "distribution_class": None,
        "workers": None,
        "explorer": True,
        "explorer_budget_mb": 30.0,
    },
    "examples": {"pairs": 0, "top": 20},
    "spark": {"engine": "auto", "master": None, "remote": None, "conf": {}},
}


class ConfigError(ClasssimError, ValueError):
    """A configuration file or override that does not fit the schema."""


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Merge defaults, an optional TOML file and ``"section.key" -> value`` overrides.

    Overrides whose value is ``None`` are ignored (an option the user did not give).
    """
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path}: {err}") from None
        for section, values in data.items():
            if section not in config or not isinstance(values, dict):
                raise ConfigError(f"{path}: unknown section [{section}]; known: {list(config)}")
            for key, value in values.items():
                _set(config, section, key, value, str(path))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            section, _, key = dotted.partition(".")
            _set(config, section, key, value, "command line")
    return config


_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    "input.source": (str, list),
    "input.where": (str,),
    "input.classes": (str, list),
    "input.prefix": (str,),
    "input.regex": (str,),
    "input.fill_value": _NUMBER,
    "similarity.transforms": (list, str),
    "similarity.tile_size": (int,),
    "similarity.driver_memory_limit_gib": _NUMBER,
    "similarity.stability_parts": (str, int),
    "similarity.by": (str,),
    "analysis.taxonomy": (str,),
    "analysis.taxonomy_levels": (str, list),
    "analysis.order_file": (str,),
    "analysis.fuzzy_groups": (int,),
    "output.dir": (str,),
    "output.update": (str,),
    "render.transform": (str,),
    "render.cutoff": _NUMBER,
    "render.distribution_class": (str,),
    "render.workers": (int,),
    "spark.master": (str,),
    "spark.remote": (str,),
}
"""Types of the settings whose default does not say (None, or more than one type allowed);
the others must have their default's type (a float setting also takes an integer)."""

_TYPE_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
}


def _choices() -> dict[str, tuple[str, ...]]:
    """The values each enumerated setting allows, from the modules that define them."""
    from classsim_spark.core.moments import ZERO_VARIANCE_POLICIES
    from classsim_spark.core.seriation import CRITERIA, DISTANCES, LINKAGES
    from classsim_spark.core.transforms import ACTIVATIONS, SCORE_KINDS, TRANSFORMS

    return {
        "input.layout": ("array", "wide", "long"),
        "input.reader": ("auto", "spark", "arrow"),
        "spark.engine": ("auto", "spark", "python"),
        "scores.kind": SCORE_KINDS,
        "scores.activation": ACTIVATIONS,
        "similarity.transforms": ("auto", "all", *TRANSFORMS),
        "similarity.zero_variance": ZERO_VARIANCE_POLICIES,
        "analysis.transform": ("auto", *TRANSFORMS),
        "analysis.distance": ("auto", *DISTANCES),
        "analysis.linkage": ("auto", *LINKAGES),
        "analysis.criterion": CRITERIA,
        "render.vector": ("svg", "pdf"),
    }


def _check(name: str, value: Any, origin: str) -> None:
    """Refuse a value of the wrong type, or outside an enumerated setting's choices."""
    if value is None:
        return
    section, _, key = name.partition(".")
    default = DEFAULTS[section][key]
    types = _TYPES.get(name) or ((float, int) if type(default) is float else (type(default),))
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        named = [t for t in types if not (t is int and float in types)]  # a number covers it
        wanted = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in named)
        raise ConfigError(f"{origin}: {name} must be {wanted}, got {value!r}")
    allowed = _choices().get(name)
    for item in (value if isinstance(value, list) else [value]) if allowed else []:
        if item not in allowed:
            raise ConfigError(f"{origin}: {name} must be one of {', '.join(allowed)}; got {item!r}")


def _set(config: dict, section: str, key: str, value: Any, origin: str) -> None:
    if section not in config or key not in config[section]:
        raise ConfigError(f"{origin}: unknown setting {section}.{key}")
    value = None if value == "" else value
    _check(f"{section}.{key}", value, origin)
    config[section][key] = value


def analysis_kwargs(config: dict) -> dict[str, Any]:
    """Keyword arguments of :func:`classsim_spark.analysis.analyze` from a configuration."""
    kwargs = dict(config["analysis"])
    kwargs["overwrite"] = config["output"]["overwrite"]
    return kwargs


def stability_parts(value: Any) -> int | str:
    """``"auto"``, or the number of stability parts ``value`` gives (0 or >= 2; an integer or
    its digits, as the CLI and TOML give it); else :class:`ConfigError` (a ``ValueError``)."""
    if value in (None, "auto"):
        return "auto"
    try:
        parts = int(value)
    except (TypeError, ValueError):
        parts = -1
    if isinstance(value, bool | float) or parts < 0 or parts == 1:
        raise ConfigError(f"stability_parts must be 'auto', 0 or an integer >= 2, got {value!r}")
    return parts


def similarity_kwargs(config: dict) -> dict[str, Any]:
    """Keyword arguments of :func:`classsim_spark.similarity` from a merged configuration."""
    inp, scores, sim, out = (config[s] for s in ("input", "scores", "similarity", "output"))
    if not inp["source"]:
        raise ConfigError("no input: give --input (or input.source in the config file)")
    limit = sim["driver_memory_limit_gib"]
    if not isinstance(sim["sample_rows"], int) or sim["sample_rows"] < 0:
        raise ConfigError(
            f"similarity.sample_rows must be an integer >= 0, got {sim['sample_rows']!r}"
        )
    return {
        "data": inp["source"],
        "layout": inp["layout"],
        "scores_col": inp["scores_col"],
        "classes": inp["classes"],
        "prefix": inp["prefix"],
        "regex": inp["regex"],
        "class_col": inp["class_col"],
        "id_col": inp["id_col"],
        "fill_value": inp["fill_value"],
        "labels": inp["labels"],
        "where": inp["where"],
        "fmt": inp["format"],
        "reader": inp["reader"],
        "transforms": sim["transforms"],
        "scores": scores["kind"],
        "activation": scores["activation"],
        "eps": scores["eps"],
        "drop_invalid": sim["drop_invalid"],
        "zero_variance": sim["zero_variance"],
        "tile_size": sim["tile_size"],
        "driver_memory_limit": int(limit * 2**30) if limit else None,
        "sample_rows": sim["sample_rows"],
        "stability_parts": stability_parts(sim["stability_parts"]),
        "by": sim["by"],
        "windows_budget_gib": float(sim["windows_budget_gib"]),
        "out": out["dir"],
        "overwrite": out["overwrite"],
        "update": out["update"],
        "engine": scan_engine(config["spark"]),
    }


def scan_engine(spark: dict[str, Any]) -> str:
    """The engine of :func:`classsim_spark.similarity` for the ``[spark]`` settings: a master
    or Spark Connect URL given asks for Spark, unless the engine is set otherwise."""
    if spark["engine"] == "auto" and (spark["master"] or spark["remote"]):
        return "spark"
    return spark["engine"]
