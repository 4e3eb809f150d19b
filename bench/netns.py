"""Separate hosts on one machine: network namespaces on a private bridge, made and removed here.

Each host is a namespace with one veth interface on the bridge and an address in a
private /24 (10.213.N.0/24, N chosen free); the root namespace takes .1 to reach
them, and traffic goes only to these addresses. Faults:

- a host's link down and up (a partition);
- packet loss on a host's link, in the kernel (nftables: a share of packets dropped
  on the way in and out);
- latency: ``tc netem`` where the kernel has it. Kernels without ``sch_netem`` (such
  as this project's build machines) get it from :mod:`delay_relay`, a TCP relay on the
  host that holds each chunk for the delay before passing it on.

Everything made is removed by :meth:`Hosts.remove`, also after a failure (a
``with`` block, and ``atexit`` for an interpreter that is killed), and names carry
the process id, so namespaces left by a killed run are removed by the next one.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence

PREFIX = "psh"  # namespaces are psh<pid>-<host>
HOST_NUMBERS = {"lb": 10, "r1": 11, "r2": 12, "client": 20, "pg": 30}


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


def missing_tools() -> list[str]:
    """What this machine lacks to make hosts: root, ip(8), nft(8)."""
    lacking = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        lacking.append("root")
    return lacking


def has_netem() -> bool:
    """Whether the kernel has the netem queueing discipline (tried on a throwaway dummy)."""
    name = f"{PREFIX}probe{os.getpid() % 10000}"
    if run("ip", "link", "add", name, "type", "dummy", check=False).returncode != 0:
        return False
    try:
        added = run("tc", "qdisc", "add", "dev", name, "root", "netem", "delay", "1ms",
                    check=False)  # fmt: skip
        return added.returncode == 0
    finally:
        run("ip", "link", "del", name, check=False)


def remove_stale() -> None:
    """Namespaces and bridges of runs whose process is gone."""
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        match = re.match(rf"{PREFIX}(\d+)-\w+", line)
        if match and not _alive(int(match.group(1))):
            _remove_namespace(line.split()[0])
    for line in run("ip", "-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        match = re.search(rf"\b({PREFIX}(\d+)br)\b", line)
        if match and not _alive(int(match.group(2))):
            run("ip", "link", "del", match.group(1), check=False)


class Hosts:
    """The namespaces ``names`` on one bridge; ``with Hosts(...) as hosts:`` removes them."""

    def __init__(self, names: Sequence[str]) -> None:
        self.tag = f"{PREFIX}{os.getpid()}"
        self.names = list(names)
        self.subnet = _free_subnet()
        self.bridge = f"{self.tag}br"
        self.made: list[str] = []

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def address(self, host: str) -> str:
        number = 1 if host == "root" else HOST_NUMBERS[host]
        return str(self.subnet.network_address + number)

    def interface(self, host: str) -> str:
        return f"h{os.getpid() % 100000}{host}"[:15]

    def __enter__(self) -> Hosts:
        remove_stale()
        atexit.register(self.remove)
        try:
            self._make()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def _make(self) -> None:
        run("ip", "link", "add", self.bridge, "type", "bridge")
        self.made.append(self.bridge)
        run("ip", "addr", "add", f"{self.address('root')}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for host in self.names:
            namespace, inside = self.namespace(host), self.interface(host)
            outside = f"{inside[:13]}b"
            run("ip", "netns", "add", namespace)
            self.made.append(namespace)
            run("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
            run("ip", "link", "set", outside, "master", self.bridge, "up")
            run("ip", "link", "set", inside, "netns", namespace)
            run("ip", "-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", inside)
            run("ip", "-n", namespace, "link", "set", inside, "up")
            run("ip", "-n", namespace, "link", "set", "lo", "up")

    def many_connections(self, host: str) -> None:
        """Let ``host`` open connections as fast as a load generator does: the whole port
        range, and ports in TIME_WAIT reused (per namespace)."""
        namespace = self.namespace(host)
        run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w",
            "net.ipv4.ip_local_port_range=1024 65000", "net.ipv4.tcp_tw_reuse=1")  # fmt: skip

    def exec(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def link(self, host: str, up: bool) -> None:
        """Take ``host``'s link down (a partition) or bring it back."""
        state = "up" if up else "down"
        run("ip", "-n", self.namespace(host), "link", "set", self.interface(host), state)

    def loss(self, host: str, percent: int) -> None:
        """Drop ``percent``% of the packets into and out of ``host`` (0: none)."""
        namespace = self.namespace(host)
        run("ip", "netns", "exec", namespace, "nft", "delete", "table", "inet", "faults",
            check=False)  # fmt: skip
        if percent <= 0:
            return
        rules = "\n".join(
            f"add chain inet faults {hook} {{ type filter hook {hook} priority 0; }}\n"
            f"add rule inet faults {hook} iifname != lo oifname != lo "
            f"numgen random mod 100 < {percent} drop"
            for hook in ("input", "output")
        )
        subprocess.run(["ip", "netns", "exec", namespace, "nft", "-f", "-"],
                       input=f"add table inet faults\n{rules}\n", text=True, check=True,
                       capture_output=True, timeout=30)  # fmt: skip

    def netem(self, host: str, delay_ms: int, jitter_ms: int) -> None:
        """Delay every packet out of ``host`` (kernels with netem; 0 removes it)."""
        namespace, interface = self.namespace(host), self.interface(host)
        run("ip", "netns", "exec", namespace, "tc", "qdisc", "del", "dev", interface, "root",
            check=False)  # fmt: skip
        if delay_ms > 0:
            run("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", interface, "root",
                "netem", "delay", f"{delay_ms}ms", f"{jitter_ms}ms")  # fmt: skip

    def remove(self) -> None:
        """Kill what runs in the namespaces, delete them and the bridge (idempotent)."""
        for name in reversed(self.made):
            if name == self.bridge:
                run("ip", "link", "del", name, check=False)
            else:
                _remove_namespace(name)
        self.made.clear()


def _remove_namespace(namespace: str) -> None:
    for pid in run("ip", "netns", "pids", namespace, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run("ip", "netns", "del", namespace, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.213.N.0/24 no route of this machine uses."""
    used = run("ip", "-4", "route", "show", check=False).stdout
    for number in _candidates():
        subnet = ipaddress.ip_network(f"10.213.{number}.0/24")
        if str(subnet) not in used and f"10.213.{number}." not in used:
            return subnet
    raise RuntimeError("no free 10.213.N.0/24 subnet for the hosts")


def _candidates() -> Iterator[int]:
    start = os.getpid() % 250
    for offset in range(250):
        yield 1 + (start + offset) % 250
