"""A TCP relay that delays what a server sends, for kernels without ``tc netem``.

    python bench/delay_relay.py LISTEN_HOST:PORT TARGET_HOST:PORT CONTROL_FILE

Run on the server's host (its namespace), in front of the server: clients connect to
LISTEN, the relay connects to TARGET. Each chunk the server sends is passed on after
the delay CONTROL_FILE asks for (JSON ``{"delay_ms": 100, "jitter_ms": 20}``, read
every 0.2 s; absent or 0: no delay), in order, as a link with that one-way latency
would deliver it. Chunks to the server pass at once. A connection the target refuses
is closed at once, as the server's own refusal would be.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
import threading
import time
from collections import deque
from pathlib import Path

CHUNK = 65536
MAX_CONNECTIONS = 512  # a bound: more at once are refused


class Delay:
    """The delay the control file asks for, re-read in the background."""

    def __init__(self, control: Path) -> None:
        self.control = control
        self.delay_ms, self.jitter_ms = 0.0, 0.0
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            try:
                wanted = json.loads(self.control.read_text())
                self.delay_ms = float(wanted.get("delay_ms", 0))
                self.jitter_ms = float(wanted.get("jitter_ms", 0))
            except (OSError, ValueError):
                self.delay_ms, self.jitter_ms = 0.0, 0.0
            time.sleep(0.2)

    def seconds(self) -> float:
        if self.delay_ms <= 0:
            return 0.0
        return max(0.0, random.uniform(self.delay_ms - self.jitter_ms,
                                       self.delay_ms + self.jitter_ms)) / 1000  # fmt: skip


def pump_at_once(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source, sink)


def pump_delayed(source: socket.socket, sink: socket.socket, delay: Delay) -> None:
    """Read from ``source`` at once; send each chunk at its due time, in order."""
    due: deque[tuple[float, bytes]] = deque()
    ready = threading.Condition()
    done = False

    def send() -> None:
        while True:
            with ready:
                while not due and not done:
                    ready.wait(1.0)
                if not due:
                    break
                at, chunk = due[0]
            wait = at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with ready:
                due.popleft()
            try:
                sink.sendall(chunk)
            except OSError:
                break
        _close(source, sink)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    last = 0.0
    try:
        while chunk := source.recv(CHUNK):
            last = max(last, time.monotonic() + delay.seconds())  # in order, like a link
            with ready:
                due.append((last, chunk))
                ready.notify()
    except OSError:
        pass
    with ready:
        done = True
        ready.notify()
    sender.join(timeout=60)
    _close(source, sink)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()


def serve(listen: tuple[str, int], target: tuple[str, int], delay: Delay) -> None:
    server = socket.create_server(listen, reuse_port=False)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    while True:
        client, _ = server.accept()
        if not slots.acquire(blocking=False):
            client.close()
            continue
        threading.Thread(target=_relay, args=(client, target, delay, slots), daemon=True).start()


def _relay(client: socket.socket, target, delay: Delay, slots) -> None:
    try:
        try:
            upstream = socket.create_connection(target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        to_server = threading.Thread(target=pump_at_once, args=(client, upstream), daemon=True)
        to_server.start()
        pump_delayed(upstream, client, delay)
        to_server.join(timeout=60)
    finally:
        slots.release()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


if __name__ == "__main__":
    listen, target, control = sys.argv[1:4]
    serve(_address(listen), _address(target), Delay(Path(control)))
