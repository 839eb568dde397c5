"""Real Spark servers for integration tests: a Spark Connect server and a standalone cluster.

Plain Python (no pytest), so ``.ci`` scripts and benchmarks can reuse it::

    with connect_server(workdir=tmp / "connect") as url:          # 'sc://127.0.0.1:PORT'
        with remote_session(url) as spark:   # builder.remote(url) + env clean-up on exit
            spark.addArtifacts("pkg.zip", pyfile=True)

    with standalone_cluster(workdir=tmp / "cluster") as master:   # 'spark://127.0.0.1:PORT'
        subprocess.run([spark_home() / "bin" / "spark-submit", "--master", master, ...])

Everything binds to 127.0.0.1 on free ports (never 7077/8080/15002), so two test sessions on one
machine do not collide. All logs, pid files, work and scratch directories live under ``workdir``.
The servers run with a cleaned environment: ``PYTHONPATH`` and any Spark Connect client settings
of the calling process are dropped, so Python workers see only the interpreter named by
``python`` plus what a job ships (``addArtifacts``, ``--py-files``), as on a real cluster.

Every server JVM is started in a new session (process group); on exit the JVM gets SIGTERM
(SIGKILL after 20 s), then its process group (executors) and any process whose environment
names ``workdir`` (PySpark's Python daemon leaves the group) get SIGTERM, then SIGKILL, so
nothing outlives the ``with`` block, even when the body raises. A port taken between
:func:`free_port` and the JVM's bind makes the start fail fast; it is retried on new ports.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "ServerStartError",
    "connect_server",
    "free_port",
    "leftover_processes",
    "remote_session",
    "spark_env",
    "spark_home",
    "standalone_cluster",
]

HOST = "127.0.0.1"
_IDENT = "classsim-test"
_CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
# Variables of the calling process that must not leak into server JVMs / their Python workers.
_DROP_ENV = (
    "PYTHONPATH",
    "PYSPARK_SUBMIT_ARGS",
    "SPARK_REMOTE",
    "SPARK_CONNECT_MODE_ENABLED",
    "SPARK_LOCAL_REMOTE",
    "SPARK_API_MODE",
    "SPARK_NO_DAEMONIZE",
    "SPARK_CONF_DIR",
    "SPARK_MASTER_OPTS",
    "SPARK_WORKER_OPTS",
    "SPARK_DAEMON_JAVA_OPTS",
    "MASTER",
)


class ServerStartError(RuntimeError):
    """A server did not become ready in time, or died while starting (message has its log)."""

    #: Whether the failure was a port taken by someone else (the start is then retried).
    port_conflict: bool = False


def spark_home() -> Path:
    """The folder of the pip-installed ``pyspark`` package (it holds ``bin/``, ``sbin/``,
    ``jars/``), found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyspark is not installed in this interpreter")
    return Path(spec.origin).resolve().parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    return _free_ports(1)[0]


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: all sockets are held open until every port is picked."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port: int, host: str = HOST) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- processes


def _proc_state(pid: int) -> str | None:
    """Linux process state letter ('R', 'S', 'Z', ...), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        # No /proc (not Linux): fall back to a signal-0 probe.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "S"
        return "S"
    # Field 3, after the ')' that closes the command name.
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is running (a zombie counts as dead: some container inits never reap)."""
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _group_members(pgid: int) -> list[int]:
    """Live pids in process group ``pgid`` (Linux /proc scan; elsewhere a killpg probe)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After ')': state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _wait_gone(pids: list[int], pgids: list[int], timeout_s: float) -> bool:
    """Wait until none of ``pids`` and no member of ``pgids`` is alive; True if they are gone."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = [p for p in pids if _alive(p)] + [m for g in pgids for m in _group_members(g)]
        if not left:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _terminate(pids: list[int], pgids: list[int], grace_s: float = 20.0) -> None:
    """SIGTERM ``pids`` (JVMs shut down cleanly and stop their children), wait up to
    ``grace_s``, then SIGKILL whatever is left of them and of their process groups."""
    for pid in pids:
        _signal_pid(pid, signal.SIGTERM)
    if not _wait_gone(pids, [], grace_s):
        for pid in pids:
            _signal_pid(pid, signal.SIGKILL)
    # Children that outlived their JVM (Python workers, executors): TERM, short grace, KILL.
    for pgid in pgids:
        _signal_group(pgid, signal.SIGTERM)
    if not _wait_gone(pids, pgids, 5.0):
        for pgid in pgids:
            _signal_group(pgid, signal.SIGKILL)
        _wait_gone(pids, pgids, 5.0)


def _workdir_processes(workdir: Path) -> dict[int, str]:
    """Live processes started for ``workdir``: ``{pid: cmdline}`` of every process (but this
    one) whose environment holds the ``SPARK_PID_DIR`` that :func:`spark_env` sets, or whose
    command line mentions ``workdir``. Linux only (reads /proc)."""
    root = str(Path(workdir).resolve())
    marker = f"SPARK_PID_DIR={root}/pids".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (marker in environ.split(b"\0") or root.encode() in cmdline) and _alive(int(entry.name)):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def leftover_processes(workdir: Path) -> list[str]:
    """Live processes started for ``workdir`` (server JVMs, executors, Python workers) as
    ``['PID CMDLINE', ...]``; empty when all are gone. Linux only (reads /proc)."""
    return [f"{pid} {cmd[:200]}" for pid, cmd in sorted(_workdir_processes(workdir).items())]


def _reap_workdir(workdir: Path, grace_s: float = 5.0) -> None:
    """Stop stragglers of ``workdir`` once its JVMs are gone. PySpark's Python daemon moves
    itself into its own process group (``os.setpgid(0, 0)``), so killing a JVM's group does
    not reach it; it exits by itself when the JVM closes its stdin, usually within a second.
    Whatever is still there after ``grace_s`` gets SIGTERM, then SIGKILL."""
    if not Path("/proc").is_dir():  # pragma: no cover - not Linux
        return
    deadline = time.monotonic() + grace_s
    while _workdir_processes(workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = list(_workdir_processes(workdir))
        if not pids:
            return
        for pid in pids:
            _signal_pid(pid, sig)
        _wait_gone(pids, [], 5.0)


def _tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (or a note that it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"<no log at {path}>"
    return "\n".join(text.splitlines()[-lines:])


def _logs_report(logs: list[Path], lines: int = 40) -> str:
    return "\n".join(f"--- last lines of {log} ---\n{_tail(log, lines)}" for log in logs)


# --------------------------------------------------------------------------- environment


def spark_env(workdir: Path, python: str = sys.executable) -> dict[str, str]:
    """Environment for Spark processes started under ``workdir``: server JVMs (and through
    them their Python workers) or a ``spark-submit`` driver. Creates the ``logs``, ``pids``,
    ``conf`` (empty), ``local`` and ``work`` folders under ``workdir``."""
    workdir = Path(workdir).resolve()
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    for sub in ("logs", "pids", "conf", "local", "work"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        SPARK_HOME=str(spark_home()),
        PYSPARK_PYTHON=python,
        PYSPARK_DRIVER_PYTHON=python,
        SPARK_LOCAL_IP=HOST,
        SPARK_LOCAL_HOSTNAME=HOST,
        SPARK_IDENT_STRING=_IDENT,
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_PID_DIR=str(workdir / "pids"),
        # An empty conf dir: no spark-defaults.conf / spark-env.sh of the machine leaks in.
        SPARK_CONF_DIR=str(workdir / "conf"),
        SPARK_LOCAL_DIRS=str(workdir / "local"),
        SPARK_WORKER_DIR=str(workdir / "work"),
    )
    return env


# --------------------------------------------------------------------------- start-up retries

# A port picked by free_port() is released before the JVM binds it, so another process can
# grab it in between (unlikely, but two test sessions may run side by side). Servers are
# started with no port fallback (Spark would otherwise silently move to PORT+1 and the URL
# would be wrong), and a start that fails to bind is retried on fresh ports.
_START_ATTEMPTS = 3
_BIND_ERRORS = ("BindException", "Address already in use", "Failed to bind")


def _port_conflict(logs: list[Path]) -> bool:
    """Whether a failed start's logs show a port that was already taken."""
    return any(marker in _tail(log, 400) for log in logs for marker in _BIND_ERRORS)


# --------------------------------------------------------------------------- Spark Connect


def _connect_rpc_ok(url: str) -> bool:
    """Whether the Connect server answers an AnalyzePlan(spark_version) RPC within 10 s.

    Uses a bare client: no SparkSession is registered in this process, and no
    ``SPARK_CONNECT_MODE_ENABLED`` is set (the builder sets it and never unsets it).
    """
    import warnings

    from pyspark.sql.connect.client import SparkConnectClient

    kwargs: dict = {"retry_policy": {"max_retries": 0}}
    try:  # pyspark >= 4.3: bound the RPC, in case something else answers on the port
        from pyspark.sql.connect.client.core import RpcDeadlines

        kwargs["rpc_deadlines"] = RpcDeadlines(analyze_plan=10.0)
    except ImportError:  # pragma: no cover - older pyspark
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RETRIES_EXCEEDED while the server is not up yet
        client = SparkConnectClient(url, **kwargs)
        try:
            return bool(client._analyze(method="spark_version").spark_version)
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                client.close()


@contextmanager
def connect_server(
    *,
    workdir: Path,
    python: str = sys.executable,
    master: str = "local[2]",
    extra_conf: dict[str, str] | None = None,
    timeout_s: float = 90,
) -> Iterator[str]:
    """Start a Spark Connect server on 127.0.0.1 on a free port, yield its URL
    'sc://127.0.0.1:PORT', stop it (by its pid file) on exit, even on errors.

    The server is started with ``sbin/start-connect-server.sh`` (daemon mode: pid file in
    ``workdir/pids``, log ``workdir/logs/*.out``). It is ready when its gRPC port answers a
    ``spark_version`` RPC; on timeout or early death :class:`ServerStartError` carries the
    tail of the server log. ``extra_conf`` entries override the defaults (e.g. a
    ``spark.sql.shuffle.partitions`` of 4). ``master`` may be ``local[N]`` or the URL of a
    :func:`standalone_cluster`.
    """
    workdir = Path(workdir).resolve()
    env = spark_env(workdir, python)
    deadline = time.monotonic() + timeout_s
    for attempt in range(1, _START_ATTEMPTS + 1):
        try:
            url, pid_file, pgid = _start_connect(workdir, env, master, extra_conf, deadline)
            break
        except ServerStartError as err:
            if not err.port_conflict or attempt == _START_ATTEMPTS:
                raise
    try:
        yield url
    finally:
        _stop_connect(pid_file, pgid)


def _stop_connect(pid_file: Path, pgid: int) -> None:
    """Stop the server whose JVM pid is in ``pid_file``, then whatever is left in ``pgid``."""
    pids = []
    with contextlib.suppress(OSError, ValueError):
        pids.append(int(pid_file.read_text().strip()))
    _terminate(pids, [pgid])
    _reap_workdir(pid_file.parent.parent)
    with contextlib.suppress(OSError):
        pid_file.unlink()


def _start_connect(
    workdir: Path,
    env: dict[str, str],
    master: str,
    extra_conf: dict[str, str] | None,
    deadline: float,
) -> tuple[str, Path, int]:
    """Start one server on a fresh free port and wait until it is ready.

    Returns ``(url, pid_file, process_group)``; on any failure the server is stopped first.
    """
    port = free_port()
    url = f"sc://{HOST}:{port}"
    conf = {
        "spark.connect.grpc.binding.address": HOST,
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.local.dir": str(workdir / "local"),
        "spark.sql.warehouse.dir": str(workdir / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={workdir / 'derby'}",
    }
    conf.update(extra_conf or {})
    cmd = [str(spark_home() / "sbin" / "start-connect-server.sh"), "--master", master]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]

    pid_file = workdir / "pids" / f"spark-{_IDENT}-{_CONNECT_CLASS}-1.pid"
    log_file = workdir / "logs" / f"spark-{_IDENT}-{_CONNECT_CLASS}-1-{socket.gethostname()}.out"
    launcher_log = workdir / "logs" / "start-connect-server.log"
    logs = [log_file, launcher_log]
    pid_file.unlink(missing_ok=True)
    # The daemon script rotates an existing .out to .out.1: each attempt gets a fresh log.
    with open(launcher_log, "wb") as out:
        # New session: the launcher's pid is also the process group of the daemonized JVM.
        launcher = subprocess.Popen(
            cmd,
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_connect_ready(url, port, launcher, pid_file, logs, deadline)
    except BaseException as err:
        _stop_connect(pid_file, launcher.pid)
        if isinstance(err, ServerStartError):
            err.port_conflict = _port_conflict(logs)
        raise
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            launcher.wait(timeout=10)  # reap it: it exits once the JVM is daemonized
    return url, pid_file, launcher.pid


def _wait_connect_ready(
    url: str,
    port: int,
    launcher: subprocess.Popen[bytes],
    pid_file: Path,
    logs: list[Path],
    deadline: float,
) -> None:
    """Poll until the server at ``url`` answers an RPC; raise ServerStartError otherwise."""
    start = time.monotonic()
    jvm_pid: int | None = None
    while True:
        if jvm_pid is None and pid_file.exists():
            with contextlib.suppress(ValueError):
                jvm_pid = int(pid_file.read_text().strip())
        returncode = launcher.poll()
        if returncode is not None and returncode != 0:
            raise ServerStartError(
                f"start-connect-server.sh exited with {returncode}\n" + _logs_report(logs)
            )
        if jvm_pid is not None and not _alive(jvm_pid):
            raise ServerStartError(
                f"Spark Connect server (pid {jvm_pid}) died while starting\n" + _logs_report(logs)
            )
        if returncode is not None and jvm_pid is None:
            raise ServerStartError(
                "start-connect-server.sh wrote no pid file\n" + _logs_report(logs)
            )
        if _port_open(port) and _connect_rpc_ok(url):
            return
        if time.monotonic() >= deadline:
            raise ServerStartError(
                f"Spark Connect server at {url} not ready after "
                f"{time.monotonic() - start:.0f} s\n" + _logs_report(logs)
            )
        time.sleep(0.25)


@contextmanager
def remote_session(url: str) -> Iterator[SparkSession]:
    """A Spark Connect client session on ``url``, stopped on exit, leaving this process's
    classic PySpark usable.

    ``SparkSession.builder.remote(url)`` sets ``SPARK_CONNECT_MODE_ENABLED=1`` in
    ``os.environ`` and ``stop()`` never removes it for an ``sc://`` URL. While it is set,
    ``pyspark.sql.functions`` build Connect columns (a classic DataFrame then fails with
    "'Column' object is not callable") and a classic ``SparkSession.builder.getOrCreate()``
    fails with CONNECT_URL_NOT_SET. This helper restores the variable on exit. It uses
    ``builder.remote(url).create()``, which (unlike ``getOrCreate()``) also works while a
    classic SparkContext is alive in the process and never returns a session on another URL.
    """
    from pyspark.sql import SparkSession

    previous = os.environ.get("SPARK_CONNECT_MODE_ENABLED")
    session = None
    try:
        session = SparkSession.builder.remote(url).create()
        yield session
    finally:
        try:
            if session is not None:
                session.stop()
        finally:
            if previous is None:
                os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
            else:
                os.environ["SPARK_CONNECT_MODE_ENABLED"] = previous


# --------------------------------------------------------------------------- standalone


def _alive_workers(ui_port: int) -> int:
    """Number of ALIVE workers the master's /json/ endpoint lists (0 while it is not up)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as resp:
            state = json.load(resp)
    except (OSError, urllib.error.URLError, ValueError):
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@contextmanager
def standalone_cluster(
    *,
    workdir: Path,
    workers: int = 2,
    cores_per_worker: int = 1,
    memory_per_worker: str = "2g",
    python: str = sys.executable,
    timeout_s: float = 90,
) -> Iterator[str]:
    """Start a standalone master + N workers on 127.0.0.1 (free ports for master, master web
    UI, worker UIs), yield 'spark://127.0.0.1:PORT' once /json/ on the master UI shows N ALIVE
    workers; kill the JVMs on exit.

    The master's REST submission server (port 6066 by default) is disabled. Pid files:
    ``workdir/pids/master.pid`` and ``workdir/pids/worker-<i>.pid`` (i = 1..N; each pid is
    also the process group of that JVM and of the executors it launches), so a test can kill
    one worker to inject a fault. Logs: ``workdir/logs/{master,worker-<i>}.log``. Applications
    take every core by default: give each one ``spark.cores.max``.
    """
    workdir = Path(workdir).resolve()
    env = spark_env(workdir, python)
    # No silent PORT+1 fallback (the URL would be wrong): a taken port fails, and is retried.
    env["SPARK_MASTER_OPTS"] = "-Dspark.master.rest.enabled=false -Dspark.port.maxRetries=0"
    env["SPARK_WORKER_OPTS"] = "-Dspark.port.maxRetries=0"
    deadline = time.monotonic() + timeout_s
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for attempt in range(1, _START_ATTEMPTS + 1):
        try:
            url = _start_cluster(
                workdir, env, workers, cores_per_worker, memory_per_worker, deadline, procs
            )
            break
        except ServerStartError as err:
            _stop_cluster(workdir, procs)
            if not err.port_conflict or attempt == _START_ATTEMPTS:
                raise
        except BaseException:
            _stop_cluster(workdir, procs)
            raise
    try:
        yield url
    finally:
        _stop_cluster(workdir, procs)


def _stop_cluster(workdir: Path, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Stop the workers (they stop their executors), then the master; forget them."""
    worker_pids = [p.pid for n, p in procs.items() if n != "master"]
    _terminate(worker_pids, worker_pids)
    if "master" in procs:
        _terminate([procs["master"].pid], [procs["master"].pid])
    for name, proc in procs.items():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # reap our children
        (workdir / "pids" / f"{name}.pid").unlink(missing_ok=True)
    procs.clear()
    _reap_workdir(workdir)


def _start_cluster(
    workdir: Path,
    env: dict[str, str],
    workers: int,
    cores_per_worker: int,
    memory_per_worker: str,
    deadline: float,
    procs: dict[str, subprocess.Popen[bytes]],
) -> str:
    """Start master + workers on fresh free ports (recorded in ``procs`` as they start) and
    wait until all workers are ALIVE; return the master URL."""
    ports = _free_ports(2 + 2 * workers)
    master_port, master_ui = ports[0], ports[1]
    url = f"spark://{HOST}:{master_port}"
    spark_class = str(spark_home() / "bin" / "spark-class")
    logs_dir, pids_dir = workdir / "logs", workdir / "pids"
    timeout_s = deadline - time.monotonic()

    def launch(name: str, args: list[str]) -> None:
        with open(logs_dir / f"{name}.log", "wb") as out:
            # spark-class ends in `exec java`: the Popen pid becomes the JVM's pid.
            procs[name] = subprocess.Popen(
                [spark_class, *args],
                env=env,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (pids_dir / f"{name}.pid").write_text(f"{procs[name].pid}\n")

    def fail(message: str) -> ServerStartError:
        logs = [logs_dir / f"{n}.log" for n in procs]
        err = ServerStartError(f"standalone cluster at {url}: {message}\n" + _logs_report(logs))
        err.port_conflict = _port_conflict(logs)
        return err

    def check(waiting_for: str) -> None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise fail(f"{name} exited with {proc.returncode} while starting")
        if time.monotonic() >= deadline:
            raise fail(f"{waiting_for} after {timeout_s:.0f} s")
        time.sleep(0.2)

    launch(
        "master",
        ["org.apache.spark.deploy.master.Master", "--host", HOST,
         "--port", str(master_port), "--webui-port", str(master_ui)],
    )  # fmt: skip
    # Workers started before the master listens back off for 5-15 s: wait for it first.
    while not _port_open(master_port):
        check(f"master not listening on {master_port}")
    for i in range(1, workers + 1):
        worker_port, worker_ui = ports[2 * i], ports[2 * i + 1]
        work_dir = workdir / "work" / f"worker-{i}"
        work_dir.mkdir(parents=True, exist_ok=True)
        launch(
            f"worker-{i}",
            ["org.apache.spark.deploy.worker.Worker", "--host", HOST,
             "--port", str(worker_port), "--webui-port", str(worker_ui),
             "--cores", str(cores_per_worker), "--memory", memory_per_worker,
             "--work-dir", str(work_dir), url],
        )  # fmt: skip
    while _alive_workers(master_ui) < workers:
        check(f"fewer than {workers} ALIVE workers")
    return url
