"""A throwaway Dovecot IMAP server on 127.0.0.1, for tests and benchmarks.

``Dovecot`` runs Debian's ``/usr/sbin/dovecot`` (2.3) in the foreground in
a temporary folder of its own, with a passwd-file of users (PLAIN scheme),
Maildir storage with ``/`` as the hierarchy separator and no listener on
any address but 127.0.0.1. As root, the folder is handed to
``nobody:nogroup`` and the server runs as that user through ``setpriv``.
As any other user, it runs as that user. The folder is made by
``tempfile.mkdtemp`` rather than under pytest's ``tmp_path``, because
``nobody`` cannot enter root's pytest folders.

The server is stopped by its process id. Dovecot 2.3 takes one to several
seconds to stop, so tests share one server. The passwd-file lists
``users`` users, each with a random password, written before the start
(Dovecot 2.3 checks that file for changes at most once a second, so users
added later may not log in yet). ``new_mailbox`` hands out the next unused
user, so no test sees another test's mail.

Options:

- ``tls``: also listen with implicit TLS and offer STARTTLS, with the given
  PEM certificate and key (trustme makes them in tests).
- ``oauth2_introspection_url``: accept XOAUTH2. Dovecot 2.3 checks each
  token by POSTing it to this URL (RFC 7662 token introspection), so a small
  HTTP server on loopback (``TokenIntrospection``) decides which tokens are
  valid.

Changing UIDVALIDITY (``Mailbox.reset_uidvalidity``): with the server
stopped, delete the folder's ``dovecot-uidlist`` and ``dovecot.index*``
files, then start it again. Dovecot 2.3.19 then rebuilds the folder's UID
list under a new UIDVALIDITY and numbers the same message files from UID 1
again. The files, and the flags kept in their names, stay as they were.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from imapclient import IMAPClient
from imapclient.imap_utf7 import encode as encode_utf7

from tests.conftest import free_port

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
DOMAIN = "incasso.test"
# Users in the passwd-file, each one mailbox for one test.
DEFAULT_USERS = 200
# Seconds to wait for the server to accept connections, and for it to exit after SIGTERM.
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of the server certificate (with its chain) and its private key."""

    certificate: Path
    key: Path


class Dovecot:
    """One Dovecot server in a temporary folder of its own."""

    def __init__(
        self,
        *,
        tls: TlsFiles | None = None,
        oauth2_introspection_url: str | None = None,
        users: int = DEFAULT_USERS,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="incasso-dovecot-"))
        self.unused = [
            (f"user{number:04d}@{DOMAIN}", f"pw-{uuid.uuid4().hex[:12]}") for number in range(users)
        ]
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.tls = tls
        self.oauth2_introspection_url = oauth2_introspection_url
        self.process: subprocess.Popen[bytes] | None = None
        self._write_files()

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def new_mailbox(self) -> Mailbox:
        """Return the mailbox of a user no one has used yet: empty, with its own password."""
        if not self.unused:
            raise RuntimeError(
                f"all users of the Dovecot in {self.root} are taken; "
                "pass a larger users= when creating it"
            )
        user, password = self.unused.pop(0)
        return Mailbox(self, user, password)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        if self.process is not None:
            raise RuntimeError(f"Dovecot in {self.root} runs already as pid {self.process.pid}")
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody:nogroup", str(self.root)], check=True)
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        else:
            command = []
        command += [str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")]
        with (self.root / "master.out").open("ab") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        self._wait_until_listening()

    def stop(self) -> None:
        """Stop the server by its process id and wait until it has exited."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def session_pids(self, user: str) -> list[int]:
        """Return the ids of the ``imap`` processes serving ``user``.

        ``verbose_proctitle`` makes Dovecot put the user name in the command
        line of each ``imap`` process.
        """
        master = self.process.pid if self.process else None
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                command_line = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we read it
            if (
                parent == master
                and command_line.startswith("dovecot/imap ")
                and user in command_line
            ):
                pids.append(int(stat.parent.name))
        return pids

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.log_path, self.root / "master.out"):
            if path.exists():
                text += "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
        return text

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Dovecot exited with status {self.process.returncode} at start-up; "
                    f"the end of its log in {self.root}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"Dovecot did not accept connections on {HOST}:{self.port} within "
            f"{START_TIMEOUT_SECONDS:.0f} s; the end of its log in {self.root}:\n{self.log_tail()}"
        )

    def _write_files(self) -> None:
        for name in ("run", "state", "home"):
            (self.root / name).mkdir()
        lines = [f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self.unused]
        (self.root / "passwd").write_text("".join(lines))
        (self.root / "dovecot.conf").write_text(self._config())
        if self.oauth2_introspection_url:
            (self.root / "oauth2.conf").write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )

    def _config(self) -> str:
        root = self.root
        if os.geteuid() == 0:
            user, group = "nobody", "nogroup"
        else:
            user = _current_user()
            group = _current_group()
        mechanisms = "plain login" + (" xoauth2" if self.oauth2_introspection_url else "")
        lines = [
            "protocols = imap",
            f"listen = {HOST}",
            f"base_dir = {root}/run",
            f"state_dir = {root}/state",
            f"log_path = {root}/dovecot.log",
            "disable_plaintext_auth = no",
            f"auth_mechanisms = {mechanisms}",
            # Reject a wrong password at once instead of after Dovecot's default 2 seconds.
            "auth_failure_delay = 0",
            f"default_internal_user = {user}",
            f"default_internal_group = {group}",
            f"default_login_user = {user}",
            "mail_location = maildir:~/Maildir",
            # Fall back to checking for new mail each second if inotify is unavailable.
            "mailbox_idle_check_interval = 1 secs",
            # Name the user in the command line of its imap process (see session_pids).
            "verbose_proctitle = yes",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
            "}",
        ]
        lines += self._tls_config()
        lines += [
            "service imap-login {",
            "  chroot =",
            "  inet_listener imap {",
            f"    address = {HOST}",
            f"    port = {self.port}",
            "  }",
            "  inet_listener imaps {",
            f"    address = {HOST}",
            f"    port = {self.tls_port or 0}",
            "  }",
            "}",
            "service anvil {",
            "  chroot =",
            # Mode 0 turns off the auth penalty, which delays every login from
            # an address after a failed one (tests fail logins on purpose).
            "  unix_listener anvil-auth-penalty {",
            "    mode = 0",
            "  }",
            "}",
            "service stats {",
            "  unix_listener stats-reader {",
            "    mode = 0600",
            "  }",
            "  unix_listener stats-writer {",
            "    mode = 0600",
            "  }",
            "}",
            "passdb {",
            "  driver = passwd-file",
            "  mechanisms = plain login",
            f"  args = scheme=PLAIN username_format=%u {root}/passwd",
            "}",
        ]
        if self.oauth2_introspection_url:
            lines += [
                "passdb {",
                "  driver = oauth2",
                "  mechanisms = xoauth2",
                f"  args = {root}/oauth2.conf",
                "}",
            ]
        lines += [
            "userdb {",
            "  driver = static",
            f"  args = uid={user} gid={group} home={root}/home/%u",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _tls_config(self) -> list[str]:
        if self.tls is None:
            return ["ssl = no"]
        certificate = self.root / "server.pem"
        key = self.root / "server.key"
        shutil.copyfile(self.tls.certificate, certificate)
        shutil.copyfile(self.tls.key, key)
        return ["ssl = yes", f"ssl_cert = <{certificate}", f"ssl_key = <{key}"]


@dataclass(frozen=True)
class Mailbox:
    """One user's mailbox on a ``Dovecot`` server, with helpers to seed and inspect it."""

    server: Dovecot
    user: str
    password: str

    @property
    def maildir(self) -> Path:
        return self.server.root / "home" / self.user / "Maildir"

    def client(self) -> IMAPClient:
        """Return a logged-in plain-text client; use it in a ``with`` block."""
        client = IMAPClient(HOST, self.server.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, folder: str, raw: bytes, flags: Sequence[bytes] = ()) -> int:
        """Append ``raw`` to ``folder`` (created when missing) and return its UID."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw, flags=tuple(flags))
        # Dovecot returns the UIDPLUS code: b"[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(response.split(b"]")[0].split()[-1])

    def messages(self, folder: str) -> dict[int, bytes]:
        """Return the bytes of every message in ``folder`` by UID, without setting \\Seen."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            response = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
            return {uid: data[b"BODY[]"] for uid, data in response.items()}

    def flags(self, folder: str) -> dict[int, set[bytes]]:
        """Return the flags of every message in ``folder`` by UID."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            return {uid: set(flags) for uid, flags in client.get_flags(uids).items()}

    def folder_exists(self, folder: str) -> bool:
        with self.client() as client:
            return bool(client.folder_exists(folder))

    def uidvalidity(self, folder: str) -> int:
        with self.client() as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def kill_sessions(self) -> int:
        """Kill the ``imap`` processes serving this user, which drops their clients."""
        pids = self.server.session_pids(self.user)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return len(pids)

    def reset_uidvalidity(self, folder: str) -> None:
        """Give ``folder`` a new UIDVALIDITY: stop, delete its UID list and indexes, start."""
        self.server.stop()
        folder_path = self.folder_path(folder)
        (folder_path / "dovecot-uidlist").unlink()
        for index in folder_path.glob("dovecot.index*"):
            index.unlink()
        self.server.start()

    def folder_path(self, folder: str) -> Path:
        """Return the Maildir++ folder of ``folder``: a dot and its modified UTF-7 name."""
        if folder.upper() == "INBOX":
            return self.maildir
        encoded = encode_utf7(folder).decode("ascii")
        return self.maildir / ("." + encoded.replace("/", "."))


@contextmanager
def running_dovecot(
    *,
    tls: TlsFiles | None = None,
    oauth2_introspection_url: str | None = None,
    users: int = DEFAULT_USERS,
) -> Iterator[Dovecot]:
    """Yield a started ``Dovecot``; stop it and delete its folder afterwards."""
    server = Dovecot(tls=tls, oauth2_introspection_url=oauth2_introspection_url, users=users)
    try:
        server.start()
        yield server
    finally:
        server.close()


class TokenIntrospection:
    """An RFC 7662 token introspection endpoint on loopback.

    ``tokens`` maps each valid token to its user; any other token is inactive.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer((HOST, free_port()), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/introspect"

    def __enter__(self) -> TokenIntrospection:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("ascii"))
                token = form.get("token", [""])[0]
                endpoint.requests.append(token)
                user = endpoint.tokens.get(token)
                answer = {"active": "true" if user else "false", "username": user or ""}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        return Handler


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _current_group() -> str:
    return grp.getgrgid(os.getegid()).gr_name
