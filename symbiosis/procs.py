"""Small process helpers shared by the local services: pid files, liveness, waiting, log tails."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from domain.errors import StackError


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that process is still alive, else ``None``."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def terminate(pid: int, *, timeout_s: float = 30.0) -> None:
    """Send SIGTERM to ``pid`` (and its process group), then SIGKILL if it outlives the timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + (timeout_s if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)
    raise StackError(f"process {pid} survived SIGKILL")


def port_open(host: str, port: int, *, timeout_s: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def apt_install(*packages: str, binary: Path, setting: str) -> None:
    """Install Debian packages when ``binary`` is missing (as root, with apt-get).

    Args:
        packages: The Debian packages, e.g. ``mosquitto``.
        binary: A file the package provides; nothing is done when it exists.
        setting: The setting pointing at the binary, named in the error for non-root users.

    Raises:
        StackError: the binary is missing and we are not root or have no apt-get, apt failed,
            or the package did not provide the binary.
    """
    if binary.exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            f"{binary} not found; install it with 'apt-get install {' '.join(packages)}' "
            "(as root) "
            f"or set {setting}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise StackError(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    if not binary.exists():
        raise StackError(f"{' '.join(packages)} installed but {binary} is still missing")
