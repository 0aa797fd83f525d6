"""Throw-away TLS files for tests: a CA, a server certificate for localhost, a client one."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files; keys are unencrypted."""

    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl("req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
             cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
             cwd=directory)  # fmt: skip
    return directory / f"{name}.crt", directory / f"{name}.key"


def make_tls_files(directory: Path) -> TlsFiles:
    """Create the files in ``directory`` with the ``openssl`` command (Debian's package)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", *_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=symbiosis test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)  # fmt: skip
    server = _signed(directory, "server", "/CN=localhost",
                     "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                     "extendedKeyUsage=serverAuth")  # fmt: skip
    client = _signed(directory, "client", "/CN=symbiosis-bridge", "extendedKeyUsage=clientAuth")
    return TlsFiles(directory / "ca.crt", directory / "ca.key", *server, *client)
