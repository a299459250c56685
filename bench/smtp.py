"""SMTP intake throughput: our receiver storing durably, beside aiosmtpd's bare Sink.

Run: ``.venv/bin/python -m bench.smtp`` (from the repository root). Each
round sends the same number of distinct ~50 KB messages to three servers on
loopback, in shuffled order:

- ``sink``: aiosmtpd's ``Sink`` handler, which accepts and forgets (the floor);
- ``sqlite``: our ``IntakeHandler`` storing each message (fsynced blob plus a
  committed row) in SQLite before answering 250;
- ``postgresql``: the same with the store on PostgreSQL
  (``INCASSO_BENCH_POSTGRES_URL``, default database ``test`` on 127.0.0.1;
  left out when unreachable).

Messages go over one connection, and again over four concurrent
connections. The clients run in processes of their own, as real senders
do, so they do not compete with the servers for the interpreter lock. The
output gives messages per second as medians over the rounds and each
server's ratio to the sink of the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import smtplib
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from incasso.app.context import build_application
from incasso.app.settings import Settings
from incasso.intake.receive import ReceiveBatcher
from incasso.intake.smtp import IntakeHandler, make_controller
from incasso.store.models import Channel

MESSAGES = 200
ROUNDS = 5
CLIENTS = 4
BODY_BYTES = 50 * 1024
POSTGRES_URL = os.environ.get(
    "INCASSO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_messages(count: int, tag: str) -> list[bytes]:
    line = b"Factuur 2026-0412, te betalen voor 15 oktober: 184,50 EUR. " * 16 + b"\r\n"
    body = line * (BODY_BYTES // len(line))
    return [
        b"From: ap@acme.test\r\nTo: intake@incasso.test\r\nSubject: Factuur\r\n"
        + f"Message-ID: <{tag}-{number}@bench.example>\r\n\r\n".encode()
        + body
        for number in range(count)
    ]


@contextmanager
def sink_server() -> Iterator[int]:
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def store_server(database_url: str, folder: Path) -> Iterator[int]:
    app = build_application(Settings(data_dir=folder / "var", database_url=database_url))
    batcher = ReceiveBatcher(app.factory, app.rawstore, channel=Channel.SMTP)
    batcher.start()
    port = free_port()
    controller = make_controller(
        IntakeHandler(batcher.submit, ["incasso.test"]),
        host="127.0.0.1",
        port=port,
        max_message_bytes=32 * 1024 * 1024,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
        batcher.stop()
        app.close()


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        connection = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        yield None
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as cleanup:
            cleanup.execute(f'DROP SCHEMA "{schema}" CASCADE')


def client_work(port: int, share: list[bytes], ready: Barrier) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("bench.example")
        ready.wait()
        for raw in share:
            client.sendmail("ap@acme.test", ["intake@incasso.test"], raw)


def send_with_clients(port: int, messages: list[bytes], clients: int) -> float:
    """Send ``messages`` from ``clients`` processes at once; return messages per second."""
    shares = [messages[number::clients] for number in range(clients)]
    ready = multiprocessing.Barrier(clients + 1)
    processes = [
        multiprocessing.Process(target=client_work, args=(port, share, ready)) for share in shares
    ]
    for process in processes:
        process.start()
    ready.wait()  # every client is connected; the clock starts with the first message
    start = time.perf_counter()
    for process in processes:
        process.join()
    return len(messages) / (time.perf_counter() - start)


def send_sequential(port: int, messages: list[bytes]) -> float:
    return send_with_clients(port, messages, 1)


def send_concurrent(port: int, messages: list[bytes]) -> float:
    return send_with_clients(port, messages, CLIENTS)


def one_round(number: int, targets: dict[str, int]) -> dict[tuple[str, str], float]:
    results: dict[tuple[str, str], float] = {}
    modes: dict[str, Callable[[int, list[bytes]], float]] = {
        "one connection": send_sequential,
        f"{CLIENTS} connections": send_concurrent,
    }
    jobs = [(server, mode) for server in targets for mode in modes]
    random.Random(number).shuffle(jobs)
    for server, mode in jobs:
        messages = make_messages(MESSAGES, f"r{number}-{server}-{mode[0]}")
        results[(server, mode)] = modes[mode](targets[server], messages)
    return results


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        postgres_schema() as postgres_url,
        sink_server() as sink_port,
        store_server("", Path(folder) / "sqlite") as sqlite_port,
    ):
        targets = {"sink": sink_port, "sqlite": sqlite_port}
        with (
            store_server(postgres_url, Path(folder) / "pg") if postgres_url else nullcontext()
        ) as postgres_port:
            if postgres_port:
                targets["postgresql"] = postgres_port
            rounds = [one_round(number, targets) for number in range(ROUNDS)]

    print(f"{MESSAGES} messages of ~{BODY_BYTES // 1024} KB per round, {ROUNDS} rounds, loopback")
    print(f"{'server':<12}{'mode':<16}{'median msg/s':>14}{'min':>8}{'max':>8}{'x sink':>8}")
    for mode in ("one connection", f"{CLIENTS} connections"):
        floor = statistics.median(result[("sink", mode)] for result in rounds)
        for server in targets:
            values = [result[(server, mode)] for result in rounds]
            median = statistics.median(values)
            print(
                f"{server:<12}{mode:<16}{median:>14.0f}{min(values):>8.0f}{max(values):>8.0f}"
                f"{median / floor:>8.2f}"
            )


if __name__ == "__main__":
    main()
