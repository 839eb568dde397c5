"""The demo as a user gets it: a Hive-partitioned Parquet dataset of scores (and labels), the
class and taxonomy file, and the answers, streamed in bounded memory and written atomically."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from classsim_spark.demo.generator import (
    LAYOUTS,
    START_DATE,
    DemoSpec,
    DemoSpecError,
    build_model,
    day_index,
    pieces,
    planted_answers,
    taxonomy_table,
)
from classsim_spark.io.results import atomic_directory, foreign_entries

_SCORE_LIST = pa.list_(pa.field("element", pa.float32(), nullable=False))
_LABEL_LIST = pa.list_(pa.field("element", pa.int32(), nullable=False))


def _schemas(spec: DemoSpec, layout: str, names: list[str]) -> tuple[pa.Schema, pa.Schema | None]:
    """Schemas of the score files and (long layout) the label files; no field holds nulls."""
    sample = pa.field("sample_id", pa.int64(), nullable=False)
    label = pa.field(
        "labels" if spec.multi_label else "label",
        _LABEL_LIST if spec.multi_label else pa.int32(),
        nullable=False,
    )
    scores = {
        "array": [("scores", _SCORE_LIST)],
        "wide": [(name, pa.float32()) for name in names],
        "long": [("class", pa.string()), ("score", pa.float32())],
    }[layout]
    fields_ = [sample, *(pa.field(name, kind, nullable=False) for name, kind in scores)]
    if layout == "long":
        return pa.schema(fields_), pa.schema([sample, label])
    return pa.schema([*fields_, label]), None


def _score_columns(
    layout: str, names: pa.Array, ids: np.ndarray, logits: np.ndarray, top_k: int | None
) -> list[pa.Array]:
    """Columns ``sample_id`` and scores of one piece in ``layout`` (zero-copy where possible)."""
    rows, m = logits.shape
    if layout == "array":
        offsets = pa.array(np.arange(0, rows * m + 1, m, dtype=np.int32))
        return [pa.array(ids), pa.ListArray.from_arrays(offsets, logits.ravel(), _SCORE_LIST)]
    if layout == "wide":
        columns = np.asfortranarray(logits)
        return [pa.array(ids), *(pa.array(columns[:, j]) for j in range(m))]
    if top_k is None:
        classes = np.tile(np.arange(m), rows)
        values = logits.ravel()
    else:
        part = np.argpartition(-logits, top_k - 1, axis=1)[:, :top_k]
        top = np.take_along_axis(logits, part, axis=1)
        rank = np.argsort(-top, axis=1, kind="stable")
        classes = np.take_along_axis(part, rank, axis=1).ravel()
        values = np.take_along_axis(top, rank, axis=1).ravel()
    per_row = len(values) // rows
    return [pa.array(np.repeat(ids, per_row)), pc.take(names, classes), pa.array(values)]


def _label_column(spec: DemoSpec, positives: np.ndarray) -> pa.Array:
    if not spec.multi_label:
        return pa.array(positives[:, 0])
    valid = positives >= 0
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(offsets, positives[valid], _LABEL_LIST)


class _HiveWriter:
    """Appends row groups to ``root/date=YYYY-MM-DD/part-00000.parquet``, dates in order."""

    def __init__(self, root: Path, schema: pa.Schema, use_dictionary: bool | list[str]):
        self.root, self.schema, self.use_dictionary = root, schema, use_dictionary
        self.day: int | None = None
        self.writer: pq.ParquetWriter | None = None

    def write(self, day: int, pieces: list[list[pa.Array]]) -> None:
        """Write the pieces' columns, concatenated, as one row group of ``day``'s file."""
        if day != self.day:
            self.close()
            folder = self.root / f"date={START_DATE + day}"
            folder.mkdir(parents=True)
            self.writer = pq.ParquetWriter(
                folder / "part-00000.parquet", self.schema, use_dictionary=self.use_dictionary
            )
            self.day = day
        columns = [pa.chunked_array(column) for column in zip(*pieces, strict=True)]
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


DEMO_ENTRIES = re.compile(r"^(answers\.json|classes\.csv|scores|labels)$")
"""What a demo data directory holds."""


def demo_foreign_entries(path: Path) -> list[str]:
    """Entries of ``path`` that :func:`write_demo` would not have written, and missing ones."""
    return foreign_entries(path, DEMO_ENTRIES, ("answers.json", "classes.csv"))


def write_demo(
    spec: DemoSpec,
    out_dir: str | Path,
    *,
    layout: str = "array",
    top_k: int | None = None,
    overwrite: bool = False,
    chunk_rows: int = 100_000,
) -> Path:
    """Stream the synthetic dataset to ``out_dir`` as Parquet plus its taxonomy and answers.

    Writes, atomically (into a sibling temporary folder renamed at the end):

    * ``scores/``: Parquet, hive-partitioned ``date=YYYY-MM-DD/part-00000.parquet``, no nulls.
      Layout ``array``: ``sample_id`` int64, ``scores`` list<float32> (length m, class-id
      order), ``label`` int32 or ``labels`` list<int32>. ``wide``: ``sample_id``, one float32
      column per class named by class name (class-id order), label(s). ``long``: ``sample_id``
      int64, ``class`` string, ``score`` float32 -- per sample all classes in class-id order,
      or with ``top_k`` only the k largest scores in descending order; the labels then go to
      ``labels/`` (``sample_id``, label(s)), partitioned the same way.
    * ``classes.csv``: ``class_id,name,level1,level2``; class_id is the column of the scores.
    * ``answers.json``: :func:`~classsim_spark.demo.generator.generate`'s answers plus ``layout``,
      ``top_k``, ``label_column`` and ``fill_value`` (long top-k only: the smallest logit of the
      whole dataset, the recommended score for classes not written; otherwise null).

    Values equal :func:`~classsim_spark.demo.generator.generate`'s for any ``chunk_rows``; memory
    is about one chunk of logits (``chunk_rows * classes * 4`` bytes; twice that for ``wide``).

    Parameters
    ----------
    spec : DemoSpec
        What to generate; validated first.
    out_dir : str or Path
        Target folder; must not exist or be empty, or with ``overwrite`` hold earlier demo
        data and nothing else (:func:`demo_foreign_entries`).
    layout : {"array", "wide", "long"}
        Shape of the score table.
    top_k : int, optional
        ``long`` only: write the k highest-scoring classes per sample (1 <= k <= m).
    overwrite : bool
        Replace earlier demo data in ``out_dir``.
    chunk_rows : int
        Samples per Parquet row group (at most; row groups also end at date boundaries).

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> spec = DemoSpec(samples=1_000, classes=60, top_groups=3, mid_groups=10)
    >>> out = write_demo(spec, Path(tempfile.mkdtemp()) / "demo", layout="long", top_k=5)
    >>> sorted(p.name for p in out.iterdir())
    ['answers.json', 'classes.csv', 'labels', 'scores']
    """
    spec.validate()
    if layout not in LAYOUTS:
        raise DemoSpecError(f"layout={layout!r}: must be one of {LAYOUTS}")
    if top_k is not None and (layout != "long" or not 1 <= top_k <= spec.classes):
        raise DemoSpecError(f"top_k={top_k!r}: only for layout 'long', between 1 and classes")
    if chunk_rows < 1 or chunk_rows * spec.classes >= 2**31:
        raise DemoSpecError(
            f"chunk_rows={chunk_rows!r}: must be >= 1 with chunk_rows * classes < 2**31"
        )
    out = Path(out_dir)
    with atomic_directory(
        out, overwrite, foreign=demo_foreign_entries, what="classsim demo data directory"
    ) as tmp:
        model = build_model(spec)
        names = pa.array(model.names.astype(str))
        scores_schema, labels_schema = _schemas(spec, layout, names.to_pylist())
        scores_out = _HiveWriter(tmp / "scores", scores_schema, ["class"] if top_k else False)
        labels_out = _HiveWriter(tmp / "labels", labels_schema, False) if labels_schema else None
        scores_held: list[list[pa.Array]] = []
        labels_held: list[list[pa.Array]] = []
        lowest = math.inf
        for start, logits, positives, ends in pieces(spec, model, chunk_rows):
            ids = np.arange(start, start + len(logits), dtype=np.int64)
            lowest = min(lowest, float(logits.min()))
            columns = _score_columns(layout, names, ids, logits, top_k)
            label = _label_column(spec, positives)
            if labels_out:
                labels_held.append([pa.array(ids), label])
            else:
                columns.append(label)
            scores_held.append(columns)
            if ends:
                day = day_index(spec, start)
                scores_out.write(day, scores_held)
                if labels_out:
                    labels_out.write(day, labels_held)
                scores_held, labels_held = [], []
        scores_out.close()
        if labels_out:
            labels_out.close()
        taxonomy_table(model).to_csv(tmp / "classes.csv", index=False)
        answers = {
            **planted_answers(spec, model),
            "layout": layout,
            "top_k": top_k,
            "label_column": labels_schema[-1].name if labels_schema else scores_schema[-1].name,
            "fill_value": lowest if top_k is not None else None,
        }
        (tmp / "answers.json").write_text(json.dumps(answers, indent=2) + "\n")
    return out
