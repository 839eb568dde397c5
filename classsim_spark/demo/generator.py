"""The invented classifier: its taxonomy, latent factors, scores, labels and known answers
(:class:`DemoSpec` -> :func:`generate`), deterministic in the seed."""

from __future__ import annotations

import itertools
import math
import numbers
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from classsim_spark.errors import ClasssimError

BLOCK_ROWS = 4096
"""Rows per random stream; fixed so that values do not depend on the write chunk size."""

START_DATE = np.datetime64("2026-01-01", "D")
"""Date of the first partition; partition ``k`` holds day ``START_DATE + k``."""

LAYOUTS = ("array", "wide", "long")

_WORKERS = 2  # blocks generated concurrently (numpy's generators release the GIL)

# Multi-label: each extra positive comes from the first positive's middle group with this
# probability, else from its top group with the next, else from all classes (by class prior).
_SAME_MID, _SAME_TOP = 0.5, 0.3

# Readable group names: top group -> middle-group words. Beyond these, names are numbered.
_TOPICS: dict[str, tuple[str, ...]] = {
    "animal": ("bird", "fish", "insect", "reptile", "mammal", "amphibian", "mollusc", "crab"),
    "vehicle": ("car", "truck", "boat", "aircraft", "train", "bicycle", "bus", "tractor"),
    "music": ("guitar", "piano", "drum", "violin", "choir", "trumpet", "flute", "organ"),
    "food": ("fruit", "bread", "cheese", "soup", "pasta", "salad", "cake", "sushi"),
    "plant": ("tree", "flower", "grass", "fern", "cactus", "moss", "vine", "shrub"),
    "building": ("house", "tower", "church", "bridge", "castle", "barn", "stadium", "temple"),
    "tool": ("hammer", "saw", "drill", "wrench", "knife", "shovel", "ladder", "clamp"),
    "sport": ("tennis", "soccer", "golf", "skiing", "boxing", "rowing", "sailing", "archery"),
    "clothing": ("hat", "shoe", "shirt", "dress", "coat", "glove", "scarf", "belt"),
    "weather": ("rain", "snow", "fog", "storm", "rainbow", "hail", "lightning", "frost"),
    "furniture": ("chair", "table", "sofa", "bed", "shelf", "lamp", "desk", "wardrobe"),
    "landscape": ("mountain", "beach", "desert", "forest", "river", "glacier", "canyon", "island"),
}


class DemoSpecError(ClasssimError, ValueError):
    """A demo specification (or write option) that cannot be generated, naming the field."""


@dataclass(frozen=True)
class DemoSpec:
    """Size, taxonomy, planted extras and latent-model knobs of a synthetic classifier.

    Parameters
    ----------
    samples, classes : int
        Rows ``n`` and score columns ``m``.
    top_groups, mid_groups : int
        Groups of the two taxonomy levels above the classes; middle groups nest in top groups
        (every top group has at least one, sizes differ by at most one), classes in middle
        groups (every middle group has at least two, random sizes).
    multi_label : bool
        False: one true class per sample. True: 1..``max_labels`` positives per sample, extra
        positives biased toward the first one's middle and top group.
    seed : int
        Everything (taxonomy, planted extras, values) is a function of the spec.
    days : int
        Date partitions, one per day from 2026-01-01; samples fill them in ``sample_id`` order.
    near_duplicates : int
        Disjoint class pairs, each inside one middle group, with near-identical latent vectors.
    cross_cutting : int
        Classes over at least three top groups sharing a "wears glasses" factor (0: none).
    zipf_exponent : float
        Class prior ``p_j`` proportional to ``1 / rank_j ** zipf_exponent``, ranks a random
        permutation; 0 gives balanced classes.
    latent_dim : int
        Dimension of the latent space; factors are random, so larger means closer to orthogonal.
    top_share, mid_share, own_share : float
        Weights (squared norms) of a class vector's top-group, middle-group and own factors
        before it is scaled to unit length. Two class vectors' expected cosine is
        ``(top + mid) / total`` in one middle group, ``top / total`` in one top group, else 0;
        the logit correlations follow that order.
    cross_cutting_share, split_share : float
        Squared norms of the cross-cutting and split-group factors added to their classes.
    duplicate_noise : float
        Near-duplicates: the second class's own factor is ``sqrt(1-e**2) * own_a + e * fresh``.
    signal_scale : float
        Weight of the positives' class vectors in the sample's latent state.
    latent_noise, logit_noise : float
        Standard deviation of the latent-state noise (Gaussian, shared through the class
        vectors) and of the independent per-logit noise (uniform, which is cheap to draw; the
        logits stay near-normal because the latent term dominates).
    prior_bias : float
        Logits carry ``prior_bias * log(prior)`` (centred), as a trained classifier's do.
    max_labels : int
        Most positives per sample when ``multi_label``.

    Examples
    --------
    >>> DemoSpec(samples=1_000, classes=60, top_groups=3, mid_groups=10).validate()
    """

    samples: int = 20_000
    classes: int = 300
    top_groups: int = 6
    mid_groups: int = 25
    multi_label: bool = False
    seed: int = 0
    days: int = 4
    near_duplicates: int = 3
    cross_cutting: int = 8
    zipf_exponent: float = 1.0
    latent_dim: int = 128
    top_share: float = 0.2
    mid_share: float = 0.3
    own_share: float = 0.5
    cross_cutting_share: float = 0.35
    split_share: float = 0.25
    duplicate_noise: float = 0.1
    signal_scale: float = 3.0
    latent_noise: float = 1.0
    logit_noise: float = 0.35
    prior_bias: float = 0.5
    max_labels: int = 4

    @classmethod
    def sized(
        cls,
        classes: int,
        top_groups: int | None = None,
        mid_groups: int | None = None,
        **fields_: Any,
    ) -> DemoSpec:
        """A spec for ``classes`` classes whose group counts, when not given, are the defaults
        or as many as ``classes`` allows (each middle group needs two classes), and whose
        planted extras shrink to fit small taxonomies.

        >>> s = DemoSpec.sized(12)
        >>> (s.mid_groups, s.top_groups, s.near_duplicates, s.cross_cutting)
        (6, 6, 3, 0)
        >>> DemoSpec.sized(4).validate()
        """
        mid = mid_groups or max(2, min(cls.mid_groups, classes // 2))
        top = top_groups or max(2, min(cls.top_groups, mid))
        near = min(fields_.pop("near_duplicates", cls.near_duplicates), mid)
        cross = fields_.pop("cross_cutting", cls.cross_cutting)
        if top < 3 or not 3 <= cross <= classes - 2 * near:
            cross = 0
        return cls(
            classes=classes,
            top_groups=top,
            mid_groups=mid,
            near_duplicates=near,
            cross_cutting=cross,
            **fields_,
        )

    def validate(self) -> None:
        """Raise :class:`DemoSpecError` naming the first bad field; return None for a usable
        spec.

        Besides ranges, this checks that the planted extras fit the taxonomy the spec draws
        (e.g. enough classes outside the near-duplicate pairs for the cross-cutting set).

        Examples
        --------
        >>> try:
        ...     DemoSpec(mid_groups=3).validate()
        ... except DemoSpecError as err:
        ...     print(err)
        DemoSpec.mid_groups=3: must be >= top_groups (6)
        """
        for f in fields(self):  # kinds from the defaults: bool, int or float
            value, kind = getattr(self, f.name), type(f.default)
            if kind is bool and not isinstance(value, bool | np.bool_):
                raise DemoSpecError(f"DemoSpec.{f.name}={value!r}: must be a bool")
            if kind is int and (not isinstance(value, numbers.Integral) or isinstance(value, bool)):
                raise DemoSpecError(f"DemoSpec.{f.name}={value!r}: must be an int")
            if kind is float and not (
                isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0
            ):
                raise DemoSpecError(f"DemoSpec.{f.name}={value!r}: must be a finite number >= 0")
        checks = (
            ("samples", self.samples >= 2, "must be >= 2"),
            ("top_groups", self.top_groups >= 2, "must be >= 2 (the split group spans two)"),
            (
                "top_groups",
                self.cross_cutting == 0 or self.top_groups >= 3,
                "must be >= 3 when cross_cutting > 0 (it spans three top groups)",
            ),
            (
                "mid_groups",
                self.mid_groups >= self.top_groups,
                f"must be >= top_groups ({self.top_groups})",
            ),
            (
                "classes",
                self.classes >= 2 * self.mid_groups,
                f"must be >= 2 * mid_groups "
                f"({2 * self.mid_groups}): every middle group has two classes",
            ),
            ("seed", self.seed >= 0, "must be >= 0"),
            ("days", 1 <= self.days <= self.samples, "must be between 1 and samples"),
            (
                "near_duplicates",
                0 <= self.near_duplicates <= self.mid_groups,
                "must be between 0 and mid_groups (one pair per middle group)",
            ),
            (
                "cross_cutting",
                self.cross_cutting == 0
                or 3 <= self.cross_cutting <= self.classes - 2 * self.near_duplicates,
                "must be 0 or between 3 and classes - 2 * near_duplicates",
            ),
            ("latent_dim", self.latent_dim >= 2, "must be >= 2"),
            ("own_share", self.own_share > 0, "must be > 0 (classes need their own factor)"),
            ("duplicate_noise", 0 < self.duplicate_noise < 1, "must be in (0, 1)"),
            ("logit_noise", self.logit_noise > 0, "must be > 0 (keeps duplicates apart)"),
            ("max_labels", self.max_labels >= 1, "must be >= 1"),
        )
        for name, ok, why in checks:
            if not ok:
                raise DemoSpecError(f"DemoSpec.{name}={getattr(self, name)!r}: {why}")
        _plan(self, _model_rng(self))


@dataclass
class DemoData:
    """A synthetic classifier's outputs held in memory, with the planted truth.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(n, m)`` float32 logits; column ``j`` is class ``j`` of ``taxonomy``.
    labels : numpy.ndarray or list of numpy.ndarray
        Single-label: ``(n,)`` int32 true class per sample. Multi-label: a list of ``n`` int32
        arrays, each the sample's positive classes, sorted ascending and unique.
    dates : numpy.ndarray
        ``(n,)`` datetime64[D], non-decreasing in sample order.
    taxonomy : pandas.DataFrame
        One row per class in class-id order: ``class_id, name, level1, level2``.
    answers : dict
        JSON-serialisable planted truth (see :func:`generate`).
    """

    scores: np.ndarray
    labels: np.ndarray | list[np.ndarray]
    dates: np.ndarray
    taxonomy: pd.DataFrame
    answers: dict


@dataclass(frozen=True)
class _Model:
    """Fixed part of the classifier: taxonomy, class prior, class vectors, planted truth."""

    names: np.ndarray  # (m,) class names by class id
    mid_of: np.ndarray  # (m,) middle-group index of each class
    top_of_mid: np.ndarray  # (M,) top-group index of each middle group
    mid_names: list[str]
    top_names: list[str]
    order: np.ndarray  # class ids in taxonomy order (each group a contiguous range)
    cum_prior: np.ndarray  # cumulative prior along ``order``, ends at 1
    mid_bounds: np.ndarray  # (M, 2) [start, stop) of each middle group along ``order``
    top_bounds: np.ndarray  # (T, 2) same for top groups
    vectors: np.ndarray  # (m, d) float32 class latent vectors
    bias: np.ndarray  # (m,) float32
    duplicates: np.ndarray  # (near_duplicates, 2) class ids
    cross_cutting: np.ndarray  # class ids
    split_mids: tuple[int, int]


def _model_rng(spec: DemoSpec) -> np.random.Generator:
    return np.random.default_rng([spec.seed, 0])


def _plan(spec: DemoSpec, rng: np.random.Generator) -> dict:
    """Draw the taxonomy and choose the planted classes; raise ValueError if they do not fit."""
    n_top, n_mid, m = spec.top_groups, spec.mid_groups, spec.classes
    top_of_mid = np.arange(n_mid) * n_top // n_mid  # balanced, contiguous
    sizes = 2 + rng.multinomial(m - 2 * n_mid, rng.dirichlet(np.full(n_mid, 2.0)))
    mid_tax = np.repeat(np.arange(n_mid), sizes)  # middle group of each taxonomy position
    order = rng.permutation(m)  # class id at each taxonomy position
    mid_of = np.empty(m, dtype=np.int64)
    mid_of[order] = mid_tax
    top_of = top_of_mid[mid_of]

    # Near-duplicate pairs go to middle groups of 3+ classes first: those keep a class free for
    # the cross-cutting set, which needs free classes in three top groups.
    dup_mids = np.lexsort((rng.random(n_mid), sizes == 2))[: spec.near_duplicates]
    duplicates = np.array(
        [rng.choice(np.flatnonzero(mid_of == g), 2, replace=False) for g in dup_mids],
        dtype=np.int64,
    ).reshape(-1, 2)
    # Cross-cutting members: deal eligible classes round-robin over the top groups, in random
    # order, so the set spreads over as many top groups as it can.
    eligible = rng.permutation(np.setdiff1d(np.arange(m), duplicates.ravel()))
    top_rank = rng.permutation(n_top)[top_of[eligible]]
    turn = np.zeros(len(eligible), dtype=np.int64)
    for t in range(n_top):
        mask = top_of[eligible] == t
        turn[mask] = np.arange(mask.sum())
    cross = np.sort(eligible[np.lexsort((top_rank, turn))][: spec.cross_cutting])
    if spec.cross_cutting and len(np.unique(top_of[cross])) < 3:
        raise DemoSpecError(
            f"DemoSpec.cross_cutting={spec.cross_cutting}: fewer than three top groups have "
            "classes outside the near-duplicate pairs; raise classes or lower near_duplicates"
        )
    split_a = int(rng.integers(n_mid))
    others = np.flatnonzero(top_of_mid != top_of_mid[split_a])
    split_b = int(rng.choice(others))
    return {
        "sizes": sizes,
        "order": order,
        "mid_of": mid_of,
        "top_of_mid": top_of_mid,
        "duplicates": duplicates,
        "cross_cutting": cross,
        "split_mids": (split_a, split_b),
    }


def _names(
    n_top: int, sizes: np.ndarray, top_of_mid: np.ndarray
) -> tuple[list[str], list[str], list[str]]:
    """Unique plain-ASCII names ``[a-z0-9_]`` of top groups, middle groups and classes.

    Classes are named in taxonomy order: ``<top>_<middle>_<index within middle group>``.
    """
    topics = list(_TOPICS.items())
    top_names = [topics[t][0] if t < len(topics) else f"group{t:02d}" for t in range(n_top)]
    mid_names = []
    for g, t in enumerate(top_of_mid):
        k = g - int(np.searchsorted(top_of_mid, t))  # index within its top group
        words = topics[t][1] if t < len(topics) else ()
        mid_names.append(f"{top_names[t]}_{words[k] if k < len(words) else f'{k:02d}'}")
    width = max(2, len(str(int(sizes.max()) - 1)))
    class_tax = [f"{mid_names[g]}_{i:0{width}d}" for g, s in enumerate(sizes) for i in range(s)]
    return top_names, mid_names, class_tax


def build_model(spec: DemoSpec) -> _Model:
    """Taxonomy, prior and class vectors of the spec's classifier (cheap: O(m * latent_dim))."""
    rng = _model_rng(spec)
    plan = _plan(spec, rng)
    order, mid_of, top_of_mid = plan["order"], plan["mid_of"], plan["top_of_mid"]
    m, d = spec.classes, spec.latent_dim
    top_names, mid_names, class_tax = _names(spec.top_groups, plan["sizes"], top_of_mid)
    names = np.empty(m, dtype=object)
    names[order] = class_tax

    prior = (rng.permutation(m) + 1.0) ** -spec.zipf_exponent
    prior /= prior.sum()
    cum_prior = np.cumsum(prior[order])
    cum_prior /= cum_prior[-1]
    mid_stop = np.cumsum(plan["sizes"])
    mid_bounds = np.stack([mid_stop - plan["sizes"], mid_stop], axis=1)
    top_bounds = np.array(
        [
            [mid_bounds[top_of_mid == t, 0].min(), mid_bounds[top_of_mid == t, 1].max()]
            for t in range(spec.top_groups)
        ]
    )

    def factors(k: int) -> np.ndarray:  # random unit directions, near-orthogonal for large d
        f = rng.standard_normal((k, d))
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    own = factors(m)
    for a, b in plan["duplicates"]:
        e = spec.duplicate_noise
        own[b] = math.sqrt(1 - e * e) * own[a] + e * own[b]
    vectors = (
        math.sqrt(spec.top_share) * factors(spec.top_groups)[top_of_mid[mid_of]]
        + math.sqrt(spec.mid_share) * factors(spec.mid_groups)[mid_of]
        + math.sqrt(spec.own_share) * own
    )
    # Unit norm before the extras: every class gets the same signal variance, so correlations
    # follow the shared factors rather than random differences in vector length.
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[plan["cross_cutting"]] += math.sqrt(spec.cross_cutting_share) * factors(1)[0]
    vectors[np.isin(mid_of, plan["split_mids"])] += math.sqrt(spec.split_share) * factors(1)[0]
    log_prior = np.log(prior)
    return _Model(
        names=names,
        mid_of=mid_of,
        top_of_mid=top_of_mid,
        mid_names=mid_names,
        top_names=top_names,
        order=order,
        cum_prior=cum_prior,
        mid_bounds=mid_bounds,
        top_bounds=top_bounds,
        vectors=vectors.astype(np.float32),
        bias=(spec.prior_bias * (log_prior - log_prior.mean())).astype(np.float32),
        duplicates=plan["duplicates"],
        cross_cutting=plan["cross_cutting"],
        split_mids=plan["split_mids"],
    )


def _draw(model: _Model, bounds: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Class ids drawn by prior restricted to taxonomy ranges ``bounds[..., 0:2]``."""
    cum = model.cum_prior
    start, stop = bounds[..., 0], bounds[..., 1]
    lo = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    pos = np.searchsorted(cum, lo + u * (cum[stop - 1] - lo), side="right")
    return model.order[np.clip(pos, start, stop - 1)]


def _block(spec: DemoSpec, model: _Model, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(rows, m)`` float32 and positives ``(rows, k)`` int32 (-1 = none) of block b."""
    rng = np.random.default_rng([spec.seed, 1, b])
    rows = min(BLOCK_ROWS, spec.samples - b * BLOCK_ROWS)
    m = spec.classes
    first = _draw(model, np.array([0, m]), rng.random(rows))
    if spec.multi_label and spec.max_labels > 1:
        k = spec.max_labels
        count_p = 0.5 ** np.arange(k)
        count = 1 + np.searchsorted(np.cumsum(count_p / count_p.sum()), rng.random(rows))
        scope = rng.random((rows, k - 1))
        mid = model.mid_of[first][:, None]
        bounds = np.where(
            (scope < _SAME_MID)[..., None],
            model.mid_bounds[mid],
            np.where(
                (scope < _SAME_MID + _SAME_TOP)[..., None],
                model.top_bounds[model.top_of_mid[mid]],
                np.array([0, m]),
            ),
        )
        extra = _draw(model, bounds, rng.random((rows, k - 1)))
        extra[np.arange(1, k) >= count[:, None]] = -1
        positives = np.sort(np.column_stack([first, extra]), axis=1)
        positives[:, 1:][positives[:, 1:] == positives[:, :-1]] = -1
        positives = np.sort(positives, axis=1)
    else:
        positives = first[:, None]
    padded = np.vstack([model.vectors, np.zeros((1, spec.latent_dim), np.float32)])
    state = spec.signal_scale * padded[positives].sum(axis=1)
    state += spec.latent_noise * rng.standard_normal(state.shape, dtype=np.float32)
    logits = state @ model.vectors.T
    logits += model.bias
    noise = rng.random(logits.shape, dtype=np.float32)  # uniform: 4x cheaper than normal
    noise -= 0.5
    noise *= spec.logit_noise * math.sqrt(12)  # standard deviation logit_noise
    logits += noise
    return logits, positives.astype(np.int32)


def sample_blocks(spec: DemoSpec, model: _Model) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """All blocks in order, a few generated ahead on worker threads (bounded memory)."""
    n_blocks = -(-spec.samples // BLOCK_ROWS)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        ahead: deque = deque()
        for b in range(n_blocks):
            ahead.append(pool.submit(_block, spec, model, b))
            if len(ahead) > _WORKERS:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def pieces(
    spec: DemoSpec, model: _Model, chunk_rows: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray, bool]]:
    """Blocks cut at chunk and date boundaries: ``(first sample_id, logits, positives, ends)``.

    ``ends`` marks a piece that ends a chunk (a multiple of ``chunk_rows``, a date boundary or
    the last sample): the pieces since the previous end form one Parquet row group of one date
    partition. Slicing, not copying, keeps memory at one chunk plus the blocks generated ahead.
    """
    boundaries = {-(-k * spec.samples // spec.days) for k in range(1, spec.days)}
    boundaries.add(spec.samples)
    start = 0
    for logits, positives in sample_blocks(spec, model):
        stop = start + len(logits)
        cuts = [i for i in boundaries if start < i < stop]
        cuts += range((start // chunk_rows + 1) * chunk_rows, stop, chunk_rows)
        edges = [start, *sorted(set(cuts)), stop]
        for lo, hi in itertools.pairwise(edges):
            ends = hi in boundaries or hi % chunk_rows == 0
            yield lo, logits[lo - start : hi - start], positives[lo - start : hi - start], ends
        start = stop


def day_index(spec: DemoSpec, sample_ids):
    """Date partition of each sample: contiguous ranges of sample ids, sizes differ by <= 1."""
    return sample_ids * spec.days // spec.samples


def planted_answers(spec: DemoSpec, model: _Model) -> dict:
    """The planted truth, by class id and name, JSON-serialisable."""

    def named(ids) -> dict:
        ids = [int(i) for i in ids]
        return {"class_ids": ids, "names": [str(model.names[i]) for i in ids]}

    top_of = model.top_of_mid[model.mid_of]
    a, b = model.split_mids
    return {
        "description": (
            f"Synthetic classifier: {spec.samples} samples x {spec.classes} classes "
            f"({'multi' if spec.multi_label else 'single'}-label), logits of a latent model in "
            f"which classes share factors of their taxonomy (level1 = {spec.top_groups} top "
            f"groups, level2 = {spec.mid_groups} middle groups; classes.csv). Planted: "
            "near-duplicate class pairs (the most similar pairs of all), a cross-cutting factor "
            "over several top groups, and a split group (two middle groups in different top "
            "groups sharing a factor). Class ids are a random permutation of the taxonomy."
        ),
        "n": spec.samples,
        "m": spec.classes,
        "multi_label": spec.multi_label,
        "taxonomy_levels": ["level1", "level2"],
        "dates": [str(START_DATE + k) for k in range(spec.days)],
        "near_duplicates": [
            {**named(pair), "level2": model.mid_names[model.mid_of[pair[0]]]}
            for pair in model.duplicates
        ],
        "cross_cutting": {
            "factor": "wears_glasses",
            **named(model.cross_cutting),
            "level1": [model.top_names[top_of[i]] for i in model.cross_cutting],
            "top_groups": sorted({model.top_names[top_of[i]] for i in model.cross_cutting}),
        },
        "split_group": {
            "factor": "monochrome",
            "level2": [model.mid_names[a], model.mid_names[b]],
            "level1": [model.top_names[model.top_of_mid[g]] for g in (a, b)],
            "members": [named(np.flatnonzero(model.mid_of == g)) for g in (a, b)],
        },
        "spec": {f.name: type(f.default)(getattr(spec, f.name)) for f in fields(spec)},
    }


def taxonomy_table(model: _Model) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "class_id": np.arange(len(model.names), dtype=np.int64),
            "name": model.names.astype(str),
            "level1": [model.top_names[model.top_of_mid[g]] for g in model.mid_of],
            "level2": [model.mid_names[g] for g in model.mid_of],
        }
    )


def generate(spec: DemoSpec) -> DemoData:
    """Generate the whole synthetic dataset in memory (for small sizes and tests).

    Parameters
    ----------
    spec : DemoSpec
        Validated first; ``ValueError`` names a bad field.

    Returns
    -------
    DemoData
        Logits, labels, dates, taxonomy and ``answers``, a dict with ``description``, ``n``,
        ``m``, ``multi_label``, ``taxonomy_levels``, ``dates``, ``near_duplicates`` (list of
        ``{class_ids, names, level2}``), ``cross_cutting`` (``{factor, class_ids, names, level1,
        top_groups}``), ``split_group`` (``{factor, level2, level1, members: [{class_ids,
        names}] * 2}``) and ``spec``. Identical to what
        :func:`~classsim_spark.demo.writer.write_demo` writes.

    Examples
    --------
    >>> data = generate(DemoSpec(samples=500, classes=60, top_groups=3, mid_groups=10))
    >>> data.scores.shape, data.scores.dtype.name
    ((500, 60), 'float32')
    """
    spec.validate()
    model = build_model(spec)
    parts = list(sample_blocks(spec, model))
    scores = np.concatenate([p[0] for p in parts])
    positives = np.concatenate([p[1] for p in parts])
    if spec.multi_label:
        labels: np.ndarray | list[np.ndarray] = [row[row >= 0] for row in positives]
    else:
        labels = positives[:, 0].copy()
    dates = START_DATE + day_index(spec, np.arange(spec.samples))
    return DemoData(scores, labels, dates, taxonomy_table(model), planted_answers(spec, model))
