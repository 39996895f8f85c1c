"""Run untrusted commands (rustc, compiled test binaries) under hard limits.

Every command runs:

- in its own process group / session (``start_new_session``), so a timeout kills the whole
  group (``killpg(SIGKILL)``), children and grandchildren included;
- with a wall-clock limit, after which the group is killed;
- with rlimits set in the child before ``exec``: CPU time, address space (memory),
  file size, number of processes, core dumps off;
- with stdout/stderr captured and capped (the rest is read and discarded, so a huge
  output costs time, never memory);
- with the strongest isolation this machine allows, detected once: ``bwrap`` (no network,
  its own PID namespace) when installed and working, else ``unshare -rn --pid --fork``
  (a private network and PID namespace, unprivileged), else none. `detect_isolation`
  says which one is in force; reports record it.

The caller owns the working directory (one temporary directory per check).
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qwen2_rust.log import get_logger

log = get_logger(__name__)

ISOLATION_NONE = "none"
ISOLATION_UNSHARE = "unshare"
ISOLATION_BWRAP = "bwrap"

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed command."""

    wall_s: float = 20.0
    cpu_s: int | None = None  # default: wall limit + 1 s
    memory_mb: int = 2048  # address space (RLIMIT_AS)
    file_size_mb: int = 256  # largest file the command may write
    processes: int = 256  # processes/threads on top of those the user already runs
    output_bytes: int = 256 * 1024  # captured per stream; the rest is discarded


@dataclass
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    wall_s: float
    truncated: bool = False
    signal: int | None = None
    isolation: str = ISOLATION_NONE
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


_task_count_cache: tuple[float, int] = (0.0, 0)
_TASK_COUNT_TTL_S = 2.0


def _user_task_count() -> int:
    """Processes + threads of this user (RLIMIT_NPROC counts them all), cached for 2 s."""
    global _task_count_cache
    now = time.monotonic()
    stamp, value = _task_count_cache
    if now - stamp < _TASK_COUNT_TTL_S:
        return value
    value = _count_user_tasks()
    _task_count_cache = (now, value)
    return value


def _count_user_tasks() -> int:
    uid = os.getuid()
    count = 0
    try:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != uid:
                    continue
                count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    except OSError:
        return 0
    return count


def _probe(argv: Sequence[str]) -> bool:
    try:
        result = subprocess.run(
            list(argv), capture_output=True, timeout=10, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def isolation_prefix(kind: str) -> list[str]:
    """The command prefix that puts a command into the given isolation."""
    if kind == ISOLATION_BWRAP:
        return [
            "bwrap",
            "--dev-bind",
            "/",
            "/",
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--new-session",
        ]
    if kind == ISOLATION_UNSHARE:
        return ["unshare", "-rn", "--pid", "--fork", "--kill-child"]
    return []


@functools.cache
def detect_isolation() -> str:
    """The strongest isolation that works here: "bwrap", "unshare" or "none" (cached).

    ``QWEN2_RUST_SANDBOX`` forces one of them (e.g. ``none`` to compare overheads).
    """
    forced = os.environ.get("QWEN2_RUST_SANDBOX", "").strip().lower()
    if forced in (ISOLATION_NONE, ISOLATION_UNSHARE, ISOLATION_BWRAP):
        return forced
    true = shutil.which("true") or "/bin/true"
    if shutil.which("bwrap") and _probe([*isolation_prefix(ISOLATION_BWRAP), true]):
        return ISOLATION_BWRAP
    if shutil.which("unshare") and _probe([*isolation_prefix(ISOLATION_UNSHARE), true]):
        return ISOLATION_UNSHARE
    log.warning(
        "sandbox: neither bwrap nor unprivileged `unshare -rn` works here; "
        "generated code runs with rlimits and timeouts but WITHOUT network isolation"
    )
    return ISOLATION_NONE


def describe_isolation(kind: str | None = None) -> str:
    kind = kind or detect_isolation()
    return {
        ISOLATION_BWRAP: "bwrap (private network + PID namespace), process group, rlimits",
        ISOLATION_UNSHARE: "unshare -rn --pid (private network + PID namespace), "
        "process group, rlimits",
        ISOLATION_NONE: "process group + rlimits only (no network isolation available)",
    }[kind]


def _make_preexec(limits: Limits, nproc: int):
    cpu = int(limits.cpu_s if limits.cpu_s is not None else limits.wall_s + 1)
    settings = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (limits.memory_mb * _MIB,) * 2),
        (resource.RLIMIT_FSIZE, (limits.file_size_mb * _MIB,) * 2),
        (resource.RLIMIT_NPROC, (nproc, nproc)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]

    def preexec() -> None:  # only async-signal-safe-ish C calls: no imports, no locks
        for which, value in settings:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, value)

    return preexec


def _reader(stream, cap: int, sink: list[bytes], flags: dict[str, bool]) -> None:
    kept = 0
    try:
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            if kept < cap:
                piece = chunk[: cap - kept]
                sink.append(piece)
                kept += len(piece)
                if len(piece) < len(chunk):
                    flags["truncated"] = True
            else:
                flags["truncated"] = True
    except (OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


def run_sandboxed(
    argv: Sequence[str],
    cwd: str | os.PathLike[str],
    limits: Limits,
    env: Mapping[str, str] | None = None,
    isolation: str | None = None,
) -> SandboxResult:
    """Run ``argv`` in ``cwd`` under ``limits``; never raises for what the command does."""
    kind = isolation if isolation is not None else detect_isolation()
    nproc = _user_task_count() + limits.processes
    full = [*isolation_prefix(kind), *argv]
    child_env = dict(env) if env is not None else _default_env()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            full,
            cwd=os.fspath(cwd),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_make_preexec(limits, nproc),
        )
    except OSError as exc:
        return SandboxResult(
            returncode=None,
            stdout="",
            stderr=f"sandbox: could not start {argv[0]!r}: {exc}",
            timed_out=False,
            wall_s=time.monotonic() - start,
            isolation=kind,
        )
    out: list[bytes] = []
    err: list[bytes] = []
    flags: dict[str, bool] = {"truncated": False}
    threads = [
        threading.Thread(target=_reader, args=(proc.stdout, limits.output_bytes, out, flags)),
        threading.Thread(target=_reader, args=(proc.stderr, limits.output_bytes, err, flags)),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    # A timer kills the group at the deadline; the main thread blocks in waitpid, so a
    # quick command returns at once (Popen.wait(timeout=...) polls with sleeps of up to
    # 50 ms, which would dominate a 50 ms rustc call).
    state = {"done": False, "timed_out": False}
    lock = threading.Lock()

    def on_deadline() -> None:
        with lock:
            if state["done"]:
                return
            state["timed_out"] = True
        _kill_group(proc)

    timer = threading.Timer(limits.wall_s, on_deadline)
    timer.daemon = True
    timer.start()
    proc.wait()
    with lock:
        state["done"] = True
    timer.cancel()
    timed_out = state["timed_out"]
    # Kill whatever is left of the group either way (a daemonised grandchild included).
    _kill_group(proc)
    for t in threads:
        t.join(timeout=2)
    wall = time.monotonic() - start
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if kind == ISOLATION_UNSHARE and rc is not None and rc > 128 and not timed_out:
        sig = rc - 128  # unshare --fork reports a signalled child as 128 + signal
    return SandboxResult(
        returncode=rc,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace"),
        timed_out=timed_out,
        wall_s=wall,
        truncated=flags["truncated"],
        signal=sig,
        isolation=kind,
    )


def _default_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "RUSTUP_HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["RUST_BACKTRACE"] = "0"
    return env
