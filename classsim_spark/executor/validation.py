"""Row-level input checks and the report that carries their findings to the driver (pure numpy).

Every Spark task checks its own rows and returns a :class:`RowReport`: how many rows it read, how
many it kept, and for each problem the number of rows affected plus a few example sample ids.
Reports merge by addition, so the driver can name the problem, the total count and examples after
one scan — instead of failing on the first bad row with a stack trace from deep inside Spark.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from classsim_spark.errors import ClasssimError

MAX_EXAMPLES = 5

# Problem keys, in the order they are reported, with the sentence that explains each.
PROBLEMS: dict[str, str] = {
    "null_scores": "have a null score array or null class scores",
    "wrong_length": "have a score array whose length differs from the number of classes",
    "non_finite": "have NaN or infinite scores",
    "out_of_range": "have probabilities outside [0, 1]",
    "missing_classes": "lack a score for some classes and no fill value was given (long layout)",
    "duplicate_classes": "have more than one score for the same class (long layout)",
    "unknown_classes": "have scores for classes that are not in the class list (long layout)",
    "null_labels": "have a null label",
    "unknown_labels": "have labels outside the class list",
}


class InvalidInputError(ClasssimError, ValueError):
    """Input data that cannot be analysed as it is; the message says what, how many, and where."""


@dataclass
class RowReport:
    """Counts of rows read, rows kept, and rows per problem, with example sample ids; and of
    the scan tasks that reported, with how many of them were retries.

    ``tasks`` counts reports, one per partition: Spark keeps the output of one successful
    attempt of each. ``tasks_retried`` counts those that came from a retry (attempt number
    above 0), after an earlier attempt failed or its output was lost with its executor.
    Merging adds them like the row counts, so both are exact.
    """

    rows_read: int = 0
    rows_kept: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    tasks: int = 0
    tasks_retried: int = 0

    def add(self, problem: str, ids: np.ndarray | list, details: Sequence | None = None) -> None:
        """Record that the rows with these ids have ``problem``; ``details`` (one per id), when
        given, are shown in brackets after the example ids (only the first
        :data:`MAX_EXAMPLES` are needed)."""
        if problem not in PROBLEMS:
            raise KeyError(f"unknown problem {problem!r}")
        count = len(ids)
        if not count:
            return
        self.counts[problem] = self.counts.get(problem, 0) + count
        kept = self.examples.setdefault(problem, [])
        room = MAX_EXAMPLES - len(kept)
        kept.extend(
            str(i) if details is None else f"{i} ({details[k]})"
            for k, i in enumerate(list(ids[:room]))
        )

    def merge(self, other: RowReport) -> RowReport:
        """The report of both sets of rows."""
        merged = RowReport(
            self.rows_read + other.rows_read,
            self.rows_kept + other.rows_kept,
            tasks=self.tasks + other.tasks,
            tasks_retried=self.tasks_retried + other.tasks_retried,
        )
        for report in (self, other):
            for problem, count in report.counts.items():
                merged.counts[problem] = merged.counts.get(problem, 0) + count
                kept = merged.examples.setdefault(problem, [])
                kept.extend(report.examples.get(problem, [])[: MAX_EXAMPLES - len(kept)])
        return merged

    @property
    def rows_dropped(self) -> int:
        return self.rows_read - self.rows_kept

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> RowReport:
        return cls(**json.loads(text))

    def describe(self, id_label: str = "sample ids") -> list[str]:
        """One sentence per problem found, most important first."""
        lines = []
        for problem, sentence in PROBLEMS.items():
            count = self.counts.get(problem, 0)
            if count:
                examples = ", ".join(self.examples.get(problem, []))
                lines.append(
                    f"{count} of {self.rows_read} rows {sentence} (e.g. {id_label}: {examples})"
                )
        return lines

    def raise_if_invalid(self, drop_invalid: bool, id_label: str = "sample ids") -> None:
        """Raise :class:`InvalidInputError` for bad rows unless they may be dropped."""
        problems = self.describe(id_label)
        if problems and not drop_invalid:
            advice = "Fix the data, or pass --drop-invalid to skip these rows (they are counted)."
            if self.rows_read and self.counts.get("wrong_length") == self.rows_read:
                advice = (
                    "No row has one score per class: the class list (--classes) does not "
                    "match the scores, or the wrong column was read (--scores-col)."
                )
            raise InvalidInputError(
                "invalid input rows:\n  - " + "\n  - ".join(problems) + "\n" + advice
            )
        if self.rows_kept < 2:
            detail = f", {self.rows_dropped} dropped as invalid" if problems else ""
            raise InvalidInputError(
                f"too few rows: correlations need at least 2 valid rows, the input has "
                f"{self.rows_kept} ({self.rows_read} read{detail})"
            )


def check_scores(
    scores: np.ndarray, ids: np.ndarray, bounded: bool, report: RowReport
) -> np.ndarray:
    """Flag rows with non-finite scores, or probabilities outside [0, 1] when ``bounded``.

    Parameters
    ----------
    scores : ndarray, shape (n, m)
    ids : ndarray, shape (n,)
        Sample ids used as examples in the report.
    bounded : bool
        Whether the scores are probabilities.
    report : RowReport
        Updated in place.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the rows that passed.
    """
    finite = np.isfinite(scores).all(axis=1)
    report.add("non_finite", ids[~finite])
    keep = finite
    if bounded:
        with np.errstate(invalid="ignore"):
            in_range = ((scores >= 0.0) & (scores <= 1.0)).all(axis=1)
        report.add("out_of_range", ids[finite & ~in_range])
        keep = keep & in_range
    return keep
