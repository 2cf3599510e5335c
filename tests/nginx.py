"""Debian's nginx for the tests, configured exactly as README.md's "Deployment: nginx and
systemd" shows it, with a certificate of a test CA: only its name, certificate, log, ports and
upstream servers are replaced."""
from __future__ import annotations

import datetime
import ipaddress
import os
import re
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import ROOT

NGINX = "/usr/sbin/nginx"  # Debian's, installed by ./dev test
README = (ROOT / "README.md").read_text()


def readme_block(language: str) -> str:
    """The README's one fenced block of `language`: what an operator copies."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", README, re.S | re.M)
    assert len(blocks) == 1, f"README.md has {len(blocks)} ```{language} blocks, not one"
    return blocks[0]


def substituted(text: str, replacements: dict[str, str]) -> str:
    """`text` with each of the README's example values replaced; each must be there."""
    for example, value in replacements.items():
        assert example in text, f"{example!r} is not in the README's configuration"
        text = text.replace(example, value)
    return text


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA's certificate; the chain of one for localhost it signed; that one's key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "telverify test CA")])

    def certificate(subject: str, public_key):
        return (x509.CertificateBuilder().issuer_name(ca_name).public_key(public_key)
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False))

    ca = (certificate("telverify test CA", ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (certificate("localhost", key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "fullchain.pem", folder / "privkey.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def nginx_configuration(folder: Path, site: str) -> Path:
    """nginx's main file, of this folder alone (pid, logs, temporary files), holding `site` in its
    http block as Debian's holds sites-enabled/."""
    (folder / "site.conf").write_text(site)
    # As root, nginx's workers would run as nobody, who cannot enter pytest's private folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temporary = "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
                    f"error_log {folder}/error.log info;\nevents {{ worker_connections 256; }}\n"
                    f"http {{\n{temporary}    include {folder}/site.conf;\n}}\n")
    return main


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def nginx(folder: Path, https_port: int, http_port: int, *upstream_ports: int):
    """Debian's nginx with the README's configuration, its name localhost, on these ports of
    127.0.0.1, in front of 127.0.0.1:`upstream_ports` (the upstream's one server line made one
    per instance, as an operator adds them): the test CA's certificate."""
    if not os.access(NGINX, os.X_OK):  # fail, never skip: ./dev test installs it
        pytest.fail(f"{NGINX} is missing: run ./dev test, which installs Debian's nginx")
    _, chain, key = make_certificates(folder)
    site = substituted(readme_block("nginx"), {
        "/etc/letsencrypt/live/verify.example.com/fullchain.pem": str(chain),
        "/etc/letsencrypt/live/verify.example.com/privkey.pem": str(key),
        "/var/log/nginx/telverify.access.log": str(folder / "access.log"),
        "verify.example.com": "localhost",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "server 127.0.0.1:8000;": " ".join(f"server 127.0.0.1:{port};" for port in upstream_ports),
    })
    main = nginx_configuration(folder, site)
    with (folder / "nginx.out").open("w") as out:
        process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(main), "-e", str(folder / "error.log")],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (listening(https_port) and listening(http_port)):
            assert process.poll() is None, (folder / "nginx.out").read_text() + (folder / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not listen within 30 s"
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(30)
