"""What every scenario shares: the environment of the processes under test, starting and stopping them, and
reading their CPU time and memory from /proc.

The harness and every process it starts use `config.settings.production` (DEBUG off, JSON logs) with the few
variables production insists on, a dedicated PostgreSQL database and a dedicated Redis database:

    BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/notif_bench (created and migrated if missing)
    BENCH_REDIS_URL     default redis://127.0.0.1:6379/8 (flushed before each scenario: use a db of its own)
    BENCH_WORKDIR       default /tmp/notif-bench (logs of every process, receiver logs, results JSON)
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notif_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
WORKDIR = Path(os.environ.get("BENCH_WORKDIR", "/tmp/notif-bench"))
# Applied last by process_env(): lets the harness's own test (tests/bench) point everything at the test database.
OVERRIDES: dict[str, str] = {}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_env(**extra: str) -> dict[str, str]:
    """The environment of the processes under test: production settings, bench database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KAFKA_", "WEBHOOK_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        DJANGO_DEBUG="false",
        SECRETS_ENCRYPTION_KEYS="YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        CACHE_URL=REDIS_URL,
        # The receivers listen on 127.0.0.1; production blocks private addresses unless allow-listed.
        WEBHOOK_DESTINATION_ALLOWLIST="127.0.0.1/32",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    env.update(OVERRIDES)
    return env


def setup_django(**extra: str) -> None:
    """Configure Django in the harness process exactly like the processes under test."""
    os.environ.update(process_env(**extra))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}")


def procfile_commands(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """The Procfile's process types and their command lines, as `make run` (honcho) starts them with a shell."""
    commands: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and ":" in line:
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


class Process:
    """A process under test, its output in WORKDIR/logs/<name>.log."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT):
        self.name = name
        log_dir = WORKDIR / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env or process_env(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a worker finishes its tasks, the bridge its batch), then SIGKILL the whole session."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # children (prefork, nginx workers) too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self._log.close()


# ---------------------------------------------------------------------------------------------------------- /proc


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    children = _children_map()
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


def pids_matching(fragment: str) -> list[int]:
    """Processes whose command line contains `fragment` (PostgreSQL backends show their database name)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if fragment.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def system_cpu() -> tuple[float, float, float]:
    """(busy, total, steal) jiffies of the whole machine, for the machine-wide busy share during a run. Steal is
    time the hypervisor gave another guest while this one wanted the CPU (a VM shares its host's cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total, values[7]


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class Watched:
    """One role (bridge 1, worker 2, nginx, …): its processes are re-listed at every sample (children come and go)."""

    label: str
    root_pid: int | None = None
    pid_finder: Callable[[], list[int]] | None = None
    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0
    _pids: list[int] = field(default_factory=list)
    _listed_at: float = -1e9

    def pids(self) -> list[int]:
        # Listing means reading all of /proc: done every few seconds, not at every sample (it costs CPU too).
        if time.monotonic() - self._listed_at > 3.0:
            if self.pid_finder is not None:
                self._pids = self.pid_finder()
            else:
                self._pids = process_tree(self.root_pid) if self.root_pid else []
            self._listed_at = time.monotonic()
        return self._pids


class ResourceMonitor:
    """Samples CPU time and RSS of the watched processes every `interval` seconds in a background thread."""

    def __init__(self, watched: list[Watched], interval: float = 0.5):
        import threading

        self.watched = watched
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = self.stopped = 0.0
        self.loads: list[float] = []
        self._sys_start = self._sys_end = (0.0, 0.0, 0.0)

    def _sample(self, first: bool = False) -> None:
        for w in self.watched:
            rss = 0
            for pid in w.pids():
                cpu = cpu_seconds(pid)
                if first or pid not in w.cpu_start:
                    # A process born during the run counts from zero.
                    w.cpu_start.setdefault(pid, cpu if first else 0.0)
                w.cpu_last[pid] = max(cpu, w.cpu_last.get(pid, 0.0))
                rss += rss_bytes(pid)
            w.peak_rss = max(w.peak_rss, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()
            self.loads.append(load_average())

    def start(self) -> None:
        self.started = time.monotonic()
        self._sys_start = system_cpu()
        self._sample(first=True)
        self.loads.append(load_average())
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._sys_end = system_cpu()
        self.stopped = time.monotonic()

    def report(self) -> dict:
        elapsed = max(self.stopped - self.started, 1e-9)
        busy = self._sys_end[0] - self._sys_start[0]
        total = max(self._sys_end[1] - self._sys_start[1], 1)
        roles = {}
        for w in self.watched:
            cpu = sum(w.cpu_last[p] - w.cpu_start.get(p, 0.0) for p in w.cpu_last)
            roles[w.label] = {
                "cpu_seconds": round(cpu, 2),
                "cpu_percent": round(100 * cpu / elapsed, 1),  # of one core
                "peak_rss_mb": round(w.peak_rss / 2**20, 1),
            }
        return {
            "elapsed_s": round(elapsed, 2),
            "machine_busy_percent": round(100 * busy / total, 1),  # of all cores, everyone's processes
            "steal_percent": round(100 * (self._sys_end[2] - self._sys_start[2]) / total, 1),
            "load_avg_max": max(self.loads) if self.loads else None,
            "processes": roles,
        }
