"""Real crates for Rust checks: dependency inference and a prebuilt crate environment.

- `infer_dependencies`: a row's external crates: its ``crate_name`` (``-`` mapped to ``_``)
  plus the roots of ``use`` paths, ``extern crate`` and qualified paths (``tokio::spawn``,
  ``#[tokio::main]``, ``serde_json::json!``) in its code, minus std/core/alloc, ``crate``,
  ``self``, ``super``, primitive types, local modules and names a ``use`` binds.
- `CrateSource`: where crates come from: crates.io through cargo's normal cache (online),
  or a cargo directory source / vendor directory (offline), e.g. Debian's
  ``/usr/share/cargo/registry`` (``librust-*-dev`` packages). Versions are whatever the
  source provides (the newest one when it holds several).
- `CrateEnvironment`: a cargo package in a cache directory whose dependencies are the needed
  crates; ``cargo build`` builds each one once (rlib + dependencies, dev profile, no debug
  info). A check then stays a bare ``rustc`` call plus ``--extern name=lib.rlib`` and
  ``-L dependency=target/debug/deps``: no per-snippet cargo resolution.

Cache layout (under `qwen2_rust.modeling.cache_root()` / ``crates``): ``env-<key>/`` per
crate set (``Cargo.toml``, ``.cargo/config.toml``, ``environment.json``), ``<key>`` a hash of
the source (its ``Cargo.toml`` files), the crate set and the rustc version, so a
changed source or toolchain gives a new environment; one shared ``target-<key>/`` per source
and toolchain, so crates built for one set are reused by the next (cargo's own
fingerprints). Builds hold an ``fcntl.flock`` on the environment's lock file: parallel
checks and parallel processes share one build; a finished environment is read without
locking (``environment.json`` is written atomically).

Crate builds run their build scripts; they run *outside* the snippet sandbox, but under a
time limit, and offline with ``--offline`` / ``CARGO_NET_OFFLINE=true``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError
from qwen2_rust.io_utils import json_lines
from qwen2_rust.log import get_logger

log = get_logger(__name__)

MODE_OFF = "off"
MODE_ONLINE = "online"
MODE_OFFLINE = "offline"
MODES = (MODE_OFF, MODE_ONLINE, MODE_OFFLINE)
DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
# Features turned on where a crate declares them: what snippets usually assume
# (`#[tokio::main]`, `tokio::net`, `#[derive(Serialize)]`).
PREFERRED_FEATURES = ("full", "derive")
ENV_PACKAGE = "qwen2_rust_crate_env"
_LOCAL_SOURCE = "qwen2-rust-local"

_NOT_CRATES = frozenset(
    {
        "std",
        "core",
        "alloc",
        "crate",
        "self",
        "super",
        "Self",
        "proc_macro",
        "test",
    }
    | set(
        [
            "i8",
            "i16",
            "i32",
            "i64",
            "i128",
            "isize",
            "u8",
            "u16",
            "u32",
            "u64",
            "u128",
            "usize",
            "f32",
            "f64",
            "bool",
            "char",
            "str",
        ]
    )
)


class CrateError(UserFacingError):
    """The crate environment cannot be set up as asked (one line for the user)."""


# --------------------------------------------------------------------------- inference

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_USE_STMT = re.compile(r"\buse\s+([^;]*);")
_USE_ROOT = re.compile(rf"^\s*(?:::\s*)?({_IDENT})")
_EXTERN_CRATE = re.compile(rf"\bextern\s+crate\s+({_IDENT})(?:\s+as\s+({_IDENT}))?")
_MOD_DECL = re.compile(rf"\bmod\s+({_IDENT})")
_PATH_ROOT = re.compile(rf"(?<![\w:.$'])({_IDENT})\s*::\s*[A-Za-z_<{{*]")
_WORD = re.compile(_IDENT)


def crate_ident(name: str) -> str:
    """The name rustc knows a crate by: ``-`` mapped to ``_``."""
    return name.strip().replace("-", "_")


def infer_dependencies(crate_name: str, *texts: str) -> list[str]:
    """External crates a row needs: ``crate_name`` plus the roots found in ``texts``.

    Sorted, ``crate_name`` first; an empty/absent crate name is left out.
    """
    from qwen2_rust.evaluation.rust_check import mask_rust  # no import cycle at load time

    found: set[str] = set()
    bound: set[str] = set()
    for text in texts:
        if not text or not text.strip():
            continue
        masked = mask_rust(text)
        for m in _USE_STMT.finditer(masked):
            tree = m.group(1)
            root = _USE_ROOT.match(tree)
            if root:
                found.add(root.group(1))
            bound.update(_WORD.findall(tree))  # every name a use tree binds (or passes)
        for m in _EXTERN_CRATE.finditer(masked):
            found.add(m.group(1))
            if m.group(2):
                bound.add(m.group(2))
        bound.update(_MOD_DECL.findall(masked))
        rest = _USE_STMT.sub(lambda m: " " * len(m.group(0)), masked)
        rest = _EXTERN_CRATE.sub(lambda m: " " * len(m.group(0)), rest)
        for m in _PATH_ROOT.finditer(rest):
            name = m.group(1)
            if (name[0].islower() or name[0] == "_") and name not in bound:
                found.add(name)
    deps = sorted(n for n in found if n not in _NOT_CRATES and not n.startswith("__"))
    own = crate_ident(crate_name) if crate_name and crate_name.strip() else ""
    if own and own not in ("None",):
        deps = [own] + [d for d in deps if d != own]
    return deps


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class CrateInfo:
    """One crate a directory source holds."""

    package: str  # the package name (as in Cargo.toml)
    crate: str  # the library's crate name (what `use` sees)
    version: str
    path: str
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrateSource:
    """crates.io (``directory`` None) or a cargo directory source / vendor directory."""

    directory: Path | None = None

    @classmethod
    def online(cls) -> CrateSource:
        return cls(None)

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> CrateSource:
        p = Path(path).expanduser().resolve()
        if not p.is_dir():
            raise CrateError(f"crate source is not a directory: {p}")
        if not any(p.glob("*/Cargo.toml")):
            raise CrateError(
                f"crate source {p} holds no crates (expected <dir>/<crate>/Cargo.toml, like "
                "`cargo vendor` output or /usr/share/cargo/registry)"
            )
        return cls(p)

    @property
    def mode(self) -> str:
        return MODE_ONLINE if self.directory is None else MODE_OFFLINE

    def describe(self) -> str:
        return "crates.io (online)" if self.directory is None else f"{self.directory} (offline)"

    def manifests(self) -> list[Path]:
        if self.directory is None:
            return []
        return sorted(self.directory.glob("*/Cargo.toml"))

    def fingerprint(self) -> str:
        """Changes whenever a crate is added, removed or changed in the source."""
        h = hashlib.sha256(self.describe().encode())
        for manifest in self.manifests():
            with contextlib.suppress(OSError):
                st = manifest.stat()
                h.update(f"{manifest.parent.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    def index(self, cache: Path | None = None) -> dict[str, CrateInfo]:
        """crate name -> newest `CrateInfo` (directory sources; {} online)."""
        if self.directory is None:
            return {}
        fp = self.fingerprint()
        cached = cache / f"index-{fp}.json" if cache is not None else None
        if cached is not None and cached.is_file():
            with contextlib.suppress(OSError, ValueError, TypeError):
                raw = json.loads(cached.read_text(encoding="utf-8"))
                return {
                    k: CrateInfo(**{**v, "features": tuple(v["features"])}) for k, v in raw.items()
                }
        index: dict[str, CrateInfo] = {}
        for manifest in self.manifests():
            info = _read_manifest(manifest)
            if info is None:
                continue
            old = index.get(info.crate)
            if old is None or _version_key(info.version) > _version_key(old.version):
                index[info.crate] = info
        if cached is not None:
            _write_atomic(cached, json.dumps({k: asdict(v) for k, v in index.items()}))
        return index


def _read_manifest(manifest: Path) -> CrateInfo | None:
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pkg = data.get("package") or {}
    name, version = pkg.get("name"), pkg.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    lib = data.get("lib") or {}
    crate = lib.get("name") if isinstance(lib.get("name"), str) else crate_ident(name)
    features = tuple(sorted((data.get("features") or {}).keys()))
    return CrateInfo(name, crate_ident(crate), version, str(manifest.parent), features)


def _version_key(version: str) -> tuple[tuple[int, ...], int]:
    core, _, pre = version.partition("-")
    nums = tuple(int(x) if x.isdigit() else 0 for x in core.split("."))
    return (nums, 0 if pre else 1)


def default_source_dir() -> Path | None:
    """Debian's registry when it holds crates, else None."""
    return DEBIAN_REGISTRY if any(DEBIAN_REGISTRY.glob("*/Cargo.toml")) else None


# --------------------------------------------------------------------------- environment


@dataclass
class CrateArtifact:
    crate: str
    package: str
    version: str
    path: str  # the .rlib (or the proc-macro .so)


@dataclass
class EnvironmentState:
    """A built environment: what a check passes to rustc."""

    key: str
    requested: list[str]
    crates: dict[str, CrateArtifact] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # crate -> why (resolve/build)
    deps_dir: str = ""
    build_seconds: float = 0.0
    features: dict[str, list[str]] = field(default_factory=dict)

    def rustc_args(self) -> list[str]:
        if not self.crates:
            return []
        args = ["-L", f"dependency={self.deps_dir}"]
        for name in sorted(self.crates):
            args += ["--extern", f"{name}={self.crates[name].path}"]
        return args

    def valid(self) -> bool:
        return all(Path(a.path).is_file() for a in self.crates.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EnvironmentState:
        raw = json.loads(text)
        raw["crates"] = {k: CrateArtifact(**v) for k, v in raw["crates"].items()}
        return cls(**raw)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tool_version(tool: str, *args: str) -> str:
    try:
        out = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


_NETWORK_HINTS = (
    "failed to query replaced source",
    "failed to download",
    "failed to fetch",
    "failed to get",
    "spurious network error",
    "could not resolve host",
    "couldn't resolve host",
    "network failure",
    "failed to update registry",
    "attempting to make an http request",
)
_NO_MATCH = re.compile(r"no matching package named `([^`]+)` found")


@dataclass
class _Run:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


class CrateEnvironment:
    """Lazily built, cached, shared crate environment for one `CrateSource`.

    `ensure` grows the environment to cover the crates asked for (those the source has);
    `rustc_args` gives the ``--extern`` / ``-L`` arguments of the current one. Thread-safe.
    """

    def __init__(
        self,
        source: CrateSource,
        cache_dir: str | os.PathLike[str] | None = None,
        cargo: str = "cargo",
        rustc: str = "rustc",
        build_timeout_s: float = 900.0,
    ) -> None:
        if cache_dir is None:
            from qwen2_rust.modeling import cache_root

            cache_dir = cache_root() / "crates"
        self.source = source
        self.cache = Path(cache_dir)
        self.cargo = cargo
        self.rustc = rustc
        self.build_timeout_s = build_timeout_s
        self._lock = threading.RLock()
        self._state: EnvironmentState | None = None
        self._index: dict[str, CrateInfo] | None = None
        self._unavailable: dict[str, str] = {}  # crate -> why (never retried in this process)
        self._toolchain: str | None = None
        self.built_now = False  # this process ran a (non-trivial) cargo build

    # -- facts -----------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.source.mode

    @property
    def available(self) -> bool:
        return shutil.which(self.cargo) is not None

    def toolchain(self) -> str:
        if self._toolchain is None:
            self._toolchain = _tool_version(self.rustc, "-vV")  # what the artifacts depend on
        return self._toolchain

    def index(self) -> dict[str, CrateInfo]:
        with self._lock:
            if self._index is None:
                self._index = self.source.index(self.cache)
            return self._index

    def provides(self, crate: str) -> bool | None:
        """Whether the source has ``crate``; None when unknown (online, before resolving)."""
        if crate in self._unavailable:
            return False
        if self.source.directory is None:
            state = self._state
            return True if state and crate in state.crates else None
        return crate in self.index()

    @property
    def state(self) -> EnvironmentState | None:
        return self._state

    def crate_names(self) -> frozenset[str]:
        state = self._state
        return frozenset(state.crates) if state else frozenset()

    def rustc_args(self) -> list[str]:
        state = self._state
        return state.rustc_args() if state else []

    def resolve(self, deps: Iterable[str]) -> dict[str, str | None]:
        """crate -> version in the environment, None where unresolved."""
        state = self._state
        crates = state.crates if state else {}
        return {d: (crates[d].version if d in crates else None) for d in deps}

    def missing_reason(self, crate: str) -> str | None:
        state = self._state
        if state and crate in state.crates:
            return None
        if crate in self._unavailable:
            return self._unavailable[crate]
        if state and crate in state.failed:
            return state.failed[crate]
        return "not in the crate source"

    def summary(self) -> dict[str, Any]:
        state = self._state
        return {
            "mode": self.mode,
            "source": self.source.describe(),
            "versions": {k: v.version for k, v in sorted((state.crates if state else {}).items())},
            "features": dict(state.features) if state else {},
            "failed": dict(
                sorted({**self._unavailable, **(state.failed if state else {})}.items())
            ),
            "build_seconds": round(state.build_seconds, 2) if state else 0.0,
            "built_now": self.built_now,
            "cache": str(self.cache),
        }

    # -- building ----------------------------------------------------------------------

    def ensure(self, crates: Iterable[str]) -> EnvironmentState | None:
        """Make sure the environment covers ``crates`` the source has; build if needed."""
        wanted_now = {c for c in crates if c and c not in _NOT_CRATES}
        state = self._state
        if state is not None and wanted_now <= set(state.requested):
            return state
        with self._lock:
            state = self._state
            have = set(state.requested) if state else set()
            extra = {c for c in wanted_now - have if c not in self._unavailable}
            if self.source.directory is not None:
                index = self.index()
                for c in extra - set(index):
                    self._unavailable[c] = "not in the crate source"
                extra &= set(index)
            if not extra:
                return state
            self._state = self._build(sorted(have | extra))
            return self._state

    def _key(self, crates: list[str]) -> str:
        h = hashlib.sha256()
        for part in (self.source.describe(), self.source.fingerprint(), self.toolchain(), *crates):
            h.update(part.encode() + b"\0")
        return h.hexdigest()[:16]

    def _target_dir(self) -> Path:
        h = hashlib.sha256(f"{self.source.describe()}\0{self.toolchain()}".encode())
        return self.cache / f"target-{h.hexdigest()[:12]}"

    def _build(self, crates: list[str]) -> EnvironmentState:
        key = self._key(crates)
        env_dir = self.cache / f"env-{key}"
        manifest = env_dir / "environment.json"
        state = self._load(manifest)
        if state is not None:
            return state
        with _flock(self.cache / f"env-{key}.lock"):
            state = self._load(manifest)  # another process may have built it meanwhile
            if state is not None:
                return state
            if not self.available:
                raise CrateError(f"cargo ({self.cargo!r}) not found: it builds the crates")
            start = time.monotonic()
            state = self._build_locked(key, env_dir, crates)
            state.build_seconds = time.monotonic() - start
            self.built_now = True
            _write_atomic(manifest, state.to_json())
            log.info(
                "crate environment %s: %d crate(s) built in %.1f s (%d failed)",
                key,
                len(state.crates),
                state.build_seconds,
                len(state.failed),
            )
            return state

    @staticmethod
    def _load(manifest: Path) -> EnvironmentState | None:
        if not manifest.is_file():
            return None
        try:
            state = EnvironmentState.from_json(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return state if state.valid() else None

    def _packages(self, crates: list[str]) -> dict[str, str]:
        """crate -> package name to ask cargo for."""
        if self.source.directory is None:
            return {c: c for c in crates}
        index = self.index()
        return {c: index[c].package for c in crates if c in index}

    def _features(
        self, crates: list[str], info: Mapping[str, tuple[str, ...]]
    ) -> dict[str, list[str]]:
        return {c: [f for f in PREFERRED_FEATURES if f in info.get(c, ())] for c in crates}

    def _write_workspace(
        self, env_dir: Path, packages: Mapping[str, str], features: Mapping[str, list[str]]
    ) -> None:
        (env_dir / "src").mkdir(parents=True, exist_ok=True)
        (env_dir / "src" / "lib.rs").write_text("", encoding="utf-8")
        lines = [
            "[package]",
            f'name = "{ENV_PACKAGE}"',
            'version = "0.0.0"',
            'edition = "2021"',
            "publish = false",
            "",
            "[dependencies]",
        ]
        for crate in sorted(packages):
            feats = ", ".join(f'"{f}"' for f in features.get(crate, []))
            lines.append(f'{packages[crate]} = {{ version = "*", features = [{feats}] }}')
        lines += ["", "[profile.dev]", "debug = 0", "incremental = false", "", "[workspace]", ""]
        (env_dir / "Cargo.toml").write_text("\n".join(lines), encoding="utf-8")
        config = ["[net]", f"offline = {'true' if self.source.directory else 'false'}", ""]
        if self.source.directory is not None:
            vendor = self._vendor_dir()
            config = [
                "[source.crates-io]",
                f'replace-with = "{_LOCAL_SOURCE}"',
                "",
                f"[source.{_LOCAL_SOURCE}]",
                f"directory = {json.dumps(str(vendor))}",
                "",
                *config,
            ]
        (env_dir / ".cargo").mkdir(exist_ok=True)
        (env_dir / ".cargo" / "config.toml").write_text("\n".join(config), encoding="utf-8")

    def _vendor_dir(self) -> Path:
        """The source itself when every crate has a ``.cargo-checksum.json``; else a mirror of
        symlinks that adds an empty one (cargo's directory sources insist on the file)."""
        assert self.source.directory is not None
        src = self.source.directory
        lacking = [
            m.parent
            for m in self.source.manifests()
            if not (m.parent / ".cargo-checksum.json").is_file()
        ]
        if not lacking:
            return src
        mirror = self.cache / f"vendor-{self.source.fingerprint()}"
        done = mirror / ".complete"
        if done.is_file():
            return mirror
        with _flock(self.cache / f"vendor-{self.source.fingerprint()}.lock"):
            if done.is_file():
                return mirror
            mirror.mkdir(parents=True, exist_ok=True)
            for manifest in self.source.manifests():
                pkg = manifest.parent
                dest = mirror / pkg.name
                if (pkg / ".cargo-checksum.json").is_file():
                    if not dest.exists():
                        dest.symlink_to(pkg, target_is_directory=True)
                    continue
                dest.mkdir(exist_ok=True)
                for entry in pkg.iterdir():
                    link = dest / entry.name
                    if not link.exists() and not link.is_symlink():
                        link.symlink_to(entry)
                (dest / ".cargo-checksum.json").write_text('{"files":{},"package":null}')
            done.write_text("")
        return mirror

    def _cargo(self, args: list[str], cwd: Path, timeout: float) -> _Run:
        env = dict(os.environ)
        env["CARGO_TARGET_DIR"] = str(self._target_dir())
        env.pop("RUSTFLAGS", None)
        env["CARGO_TERM_COLOR"] = "never"
        if self.rustc != "rustc":
            env["RUSTC"] = self.rustc  # build with the toolchain the checks use
        argv = [self.cargo, *args]
        if self.source.directory is not None:
            env["CARGO_NET_OFFLINE"] = "true"
            argv.append("--offline")
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise CrateError(f"could not run cargo ({self.cargo!r}): {exc}") from None
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return _Run(proc.returncode, out, err, timed_out, time.monotonic() - start)

    def _check_network(self, run: _Run) -> None:
        if self.source.directory is None and run.returncode != 0:
            low = run.stderr.lower()
            if any(h in low for h in _NETWORK_HINTS):
                raise CrateError(
                    "--crates online: cargo could not reach crates.io (no network?); use "
                    "--crates offline --crate-source DIR, or --crates off"
                )

    def _metadata(self, env_dir: Path) -> tuple[dict[str, Any] | None, _Run]:
        run = self._cargo(["metadata", "--format-version", "1"], env_dir, self.build_timeout_s)
        self._check_network(run)
        if run.returncode != 0 or run.timed_out:
            return None, run
        try:
            return json.loads(run.stdout), run
        except ValueError:
            return None, run

    def _resolvable(
        self, env_dir: Path, crates: list[str], packages: Mapping[str, str]
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Metadata of a workspace with the crates that resolve; crate -> why for the rest."""
        failed: dict[str, str] = {}
        current = list(crates)
        features: dict[str, list[str]] = {}
        self._write_workspace(env_dir, {c: packages[c] for c in current}, features)
        meta, run = self._metadata(env_dir)
        if meta is None and current:
            # Find the culprits one by one (cheap: resolution only).
            ok: list[str] = []
            probe = env_dir / "probe"
            for crate in current:
                self._write_workspace(probe, {crate: packages[crate]}, {})
                m, r = self._metadata(probe)
                if m is None:
                    failed[crate] = _first_error(r.stderr) or "does not resolve"
                else:
                    ok.append(crate)
            shutil.rmtree(probe, ignore_errors=True)
            current = ok
            self._write_workspace(env_dir, {c: packages[c] for c in current}, features)
            meta, run = self._metadata(env_dir)
            if meta is None:
                for crate in current:
                    failed[crate] = _first_error(run.stderr) or "does not resolve"
                return None, failed
        return meta, failed

    def _build_locked(self, key: str, env_dir: Path, crates: list[str]) -> EnvironmentState:
        packages = self._packages(crates)
        state = EnvironmentState(key=key, requested=list(crates))
        meta, failed = self._resolvable(env_dir, [c for c in crates if c in packages], packages)
        state.failed.update(failed)
        if meta is None:
            return state
        top = {c: packages[c] for c in crates if c in packages and c not in failed}
        declared = _declared_features(meta, set(top.values()))
        features = self._features(list(top), {c: declared.get(top[c], ()) for c in top})
        self._write_workspace(env_dir, top, features)
        if any(features.values()) and self._metadata(env_dir)[0] is None:
            log.info("crate environment: preferred features do not resolve; using defaults")
            features = {c: [] for c in top}
            self._write_workspace(env_dir, top, features)
        state.features = {c: f for c, f in features.items() if f}
        run = self._cargo(
            ["build", "--message-format=json", "--keep-going"], env_dir, self.build_timeout_s
        )
        self._check_network(run)
        if run.timed_out:
            log.warning("crate environment build timed out after %.0f s", self.build_timeout_s)
        by_package = {pkg: crate for crate, pkg in top.items()}
        errors: dict[str, list[str]] = {}
        for msg in json_lines(run.stdout):
            name, version = _package_of(str(msg.get("package_id", "")))
            if msg.get("reason") == "compiler-message":
                m = msg.get("message") or {}
                if m.get("level") == "error":
                    errors.setdefault(name, []).append(str(m.get("message", "")))
                continue
            if msg.get("reason") != "compiler-artifact" or name not in by_package:
                continue
            kinds = set((msg.get("target") or {}).get("kind") or [])
            if not kinds & {"lib", "rlib", "proc-macro"}:
                continue
            files = [f for f in msg.get("filenames") or [] if f.endswith((".rlib", ".so"))]
            if not files:
                continue
            path = Path(files[0])
            crate = by_package[name]
            state.crates[crate] = CrateArtifact(crate, name, version, str(path))
            state.deps_dir = str(path.parent)
        for crate, pkg in top.items():
            if crate not in state.crates:
                why = (
                    "build timed out"
                    if run.timed_out
                    else "; ".join(errors.get(pkg, [])[:2]) or _first_error(run.stderr)
                )
                state.failed[crate] = f"build failed: {why}" if why else "build failed"
        return state


def _declared_features(meta: Mapping[str, Any], packages: set[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for pkg in meta.get("packages") or []:
        name = pkg.get("name")
        if name in packages:
            feats = tuple(sorted((pkg.get("features") or {}).keys()))
            old = out.get(name)
            out[name] = feats if old is None else tuple(sorted(set(old) | set(feats)))
    return out


def _package_of(package_id: str) -> tuple[str, str]:
    """(name, version) of a cargo package id, new (``...#name@1.2.3``) or old format."""
    if "#" in package_id:
        tail = package_id.rsplit("#", 1)[1]
        if "@" in tail:
            name, version = tail.split("@", 1)
            return name, version
        return "", tail  # path packages: `path+file:///dir#0.0.0`
    parts = package_id.split()
    return (parts[0], parts[1]) if len(parts) >= 2 else (package_id, "")


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("error"):
            m = _NO_MATCH.search(line)
            if m:
                return f"no package `{m.group(1)}` in the source"
            return line[:200]
    return ""


# --------------------------------------------------------------------------- CLI helper


def make_environment(
    mode: str | None,
    source_dir: str | os.PathLike[str] | None = None,
    cargo: str = "cargo",
    rustc: str = "rustc",
    cache_dir: str | os.PathLike[str] | None = None,
    build_timeout_s: float = 900.0,
) -> CrateEnvironment | None:
    """The environment for ``--crates MODE [--crate-source DIR]``; None for ``off``.

    ``mode`` None picks: offline when ``source_dir`` is given or Debian's registry holds
    crates (and cargo is installed), else off.
    """
    if mode is None:
        if source_dir is None:
            source_dir = default_source_dir()
        if source_dir is None or shutil.which(cargo) is None:
            return None
        mode = MODE_OFFLINE
    if mode not in MODES:
        raise CrateError(f"unknown --crates mode {mode!r} (choose from {', '.join(MODES)})")
    if mode == MODE_OFF:
        return None
    if shutil.which(cargo) is None:
        raise CrateError(f"--crates {mode} needs cargo, and {cargo!r} was not found")
    if mode == MODE_ONLINE:
        if source_dir is not None:
            raise CrateError("--crate-source is for --crates offline; online uses crates.io")
        source = CrateSource.online()
    else:
        source_dir = source_dir if source_dir is not None else default_source_dir()
        if source_dir is None:
            raise CrateError(
                f"--crates offline needs --crate-source DIR ({DEBIAN_REGISTRY} holds no crates)"
            )
        source = CrateSource.from_directory(source_dir)
    return CrateEnvironment(
        source, cache_dir=cache_dir, cargo=cargo, rustc=rustc, build_timeout_s=build_timeout_s
    )
