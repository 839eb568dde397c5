"""How big a local session must be for a scan, and whether this machine can hold it.

In local mode one machine holds everything: Spark's JVM (driver and executor in one heap), one
Python worker per task running at once, each with a co-moment matrix per transform and part,
and the driver's Python with the finished matrices. Spark's defaults (``local[*]``, a 1 GiB
heap) fit none of that to the job: at 3,755 classes the heap ran out while results came back,
and at 10,000 classes sixteen cores would start sixteen 4 GiB workers.

:func:`size_local_session` decides, before the session starts, the heap and how many tasks run
at once, so the job fits the memory this machine has free; when even one task cannot fit it
raises :class:`ScanMemoryError` saying what would (less per task, or a cluster). Sessions that
classsim does not start (an active one, ``spark-submit``'s, a cluster's, Spark Connect) keep
their own sizes.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from classsim_spark.errors import ClasssimError

log = logging.getLogger("classsim")

GIB = 1 << 30
MIN_HEAP = 512 << 20
"""Smallest heap a scan is started with: Spark itself needs about 450 MiB; the merge's
partitions shrink with the heap (:func:`~classsim_spark.spark.scan.merge_budget`)."""
WORKER_BASE = 256 << 20
"""A Python worker before its matrices: the interpreter, numpy, pyarrow, a chunk of scores in
float64 and its transform (:data:`~classsim_spark.executor.partials.CHUNK_ELEMENTS`)."""


class ScanMemoryError(ClasssimError, MemoryError):
    """The scan cannot fit this machine's memory in local mode."""


@dataclass(frozen=True)
class ScanJob:
    """What one scan holds, known before a session starts.

    Attributes
    ----------
    m : int
        Classes.
    transforms : int
        Transforms computed.
    parts : int
        Stability parts kept of one transform (0: none).
    labels : bool
        Whether the tasks count label pairs (an m x m int64 matrix).
    driver_bytes : int
        What the driver's Python holds for the results
        (:func:`~classsim_spark.api.driver_bytes_needed`).
    """

    m: int
    transforms: int
    parts: int
    labels: bool
    driver_bytes: int

    @property
    def task_bytes(self) -> int:
        """About the most one task's Python worker holds: one co-moment per transform (the
        parted one in ``parts`` pieces instead), one more while it finishes them, the label
        pair counts, and :data:`WORKER_BASE`."""
        matrices = self.transforms + (self.parts - 1 if self.parts else 0) + 1 + self.labels
        return 8 * self.m * self.m * matrices + WORKER_BASE

    def describe(self) -> str:
        parts = f" and {self.parts} stability parts" if self.parts else ""
        labels = " with label counts" if self.labels else ""
        return f"{self.m} classes x {self.transforms} transform(s){parts}{labels}"


@dataclass(frozen=True)
class LocalSession:
    """A local session's size: tasks at once and the JVM's heap, in bytes."""

    slots: int
    heap: int

    @property
    def master(self) -> str:
        return f"local[{self.slots}]"

    @property
    def driver_memory(self) -> str:
        """``spark.driver.memory`` for the heap (whole MiB)."""
        return f"{self.heap >> 20}m"


def size_local_session(
    job: ScanJob,
    available: int,
    cores: int,
    heap: int | None = None,
    slots: int | None = None,
) -> LocalSession:
    """The largest local session the job fits in: ``available`` bytes must hold the heap, the
    driver's results and one worker per task slot.

    Parameters
    ----------
    job : ScanJob
    available : int
        Memory free for this command (:func:`available_memory`).
    cores : int
        Cores, the most tasks worth running at once.
    heap : int, optional
        The heap the user set (``spark.driver.memory``); default :func:`default_heap`, lowered
        (not below :data:`MIN_HEAP`) when that lets one task fit; 0 for a scan without a JVM
        (then ``slots`` are threads of this process).
    slots : int, optional
        The tasks at once the user set (``local[N]``); fewer run when N workers do not fit.

    Returns
    -------
    LocalSession

    Raises
    ------
    ScanMemoryError
        Not even one task fits beside the heap and the driver's results: the message gives
        each need and what would make room.

    Examples
    --------
    >>> job = ScanJob(m=10_000, transforms=3, parts=0, labels=False, driver_bytes=7_200_000_000)
    >>> size_local_session(job, available=24 * GIB, cores=16)
    LocalSession(slots=3, heap=6442450944)
    """
    wanted = slots or cores
    chosen_heap = heap if heap is not None else default_heap(available)
    room = available - chosen_heap - job.driver_bytes
    if heap is None and room < job.task_bytes:  # a smaller heap, if that lets a task fit
        chosen_heap = max(MIN_HEAP, available - job.driver_bytes - job.task_bytes)
        room = available - chosen_heap - job.driver_bytes
    fit = max(0, room // job.task_bytes)
    if fit < 1:
        raise ScanMemoryError(_too_large(job, available, chosen_heap))
    size = LocalSession(min(wanted, fit), chosen_heap)
    if size.slots < wanted:
        log.info(
            "%s: each scan task needs about %.1f GiB; %d of %d fit in %.1f GiB free beside "
            "Spark's %.1f GiB heap and the driver's %.1f GiB: running %s",
            job.describe(),
            job.task_bytes / GIB,
            size.slots,
            wanted,
            available / GIB,
            size.heap / GIB,
            job.driver_bytes / GIB,
            size.master,
        )
    return size


def _too_large(job: ScanJob, available: int, heap: int) -> str:
    need = job.task_bytes + heap + job.driver_bytes
    per_matrix = 8 * job.m * job.m / GIB
    jvm = f" and Spark's JVM {heap / GIB:.1f} GiB" if heap else ""
    return (
        f"{job.describe()} do not fit this machine in local mode: one scan task needs about "
        f"{job.task_bytes / GIB:.1f} GiB, the driver {job.driver_bytes / GIB:.1f} GiB for the "
        f"results{jvm} ({need / GIB:.1f} GiB in all), and "
        f"{available / GIB:.1f} GiB are free. Each transform or part dropped saves "
        f"{per_matrix:.1f} GiB a task: compute fewer transforms (--transform logit), keep no "
        "stability parts (--stability-parts 0), count no labels (--labels none) or select "
        "fewer classes; or free memory; or run the scan on a cluster whose executors hold "
        f"{job.task_bytes / GIB:.1f} GiB per task (--master spark://HOST:7077, "
        "--remote sc://HOST:15002)."
    )


def local_threads(master: str) -> int | None:
    """Tasks a ``local`` master runs at once: ``local`` 1, ``local[N]`` (or ``local[N,F]``) N,
    ``local[*]`` the cores; None for any other master.

    >>> local_threads("local[3]"), local_threads("local"), local_threads("spark://h:7077")
    (3, 1, None)
    """
    match = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if match is None:
        return None
    if match.group(1) in (None, ""):
        return 1
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def default_heap(memory: int) -> int:
    """A local JVM's heap when none is set: a quarter of ``memory``, 1 to 16 GiB (Spark's
    1 GiB default ran out while reducing the tiles of 3,755 classes)."""
    return max(GIB, min(16 * GIB, memory // 4 // GIB * GIB))


def physical_memory() -> int | None:
    """This machine's physical memory in bytes, when the OS says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory() -> int | None:
    """Memory free for new work (Linux ``MemAvailable``, or a cgroup's limit less its use when
    lower), else physical memory; None when unknown."""
    free = None
    try:
        with open("/proc/meminfo") as f:
            match = re.search(r"^MemAvailable:\s+(\d+) kB", f.read(), re.MULTILINE)
        free = int(match.group(1)) * 1024 if match else None
    except OSError:
        pass
    limit = _cgroup_room()
    if limit is not None:
        free = limit if free is None else min(free, limit)
    return free if free is not None else physical_memory()


def _cgroup_room() -> int | None:
    """A cgroup v2 memory limit less what the group uses, when one is set."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            return int(text) - int(f.read().strip())
    except (OSError, ValueError):
        return None
