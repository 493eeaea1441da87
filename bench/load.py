"""The load generator: N client processes, each with one keep-alive HTTP/1.1 connection,
sending prepared requests as fast as answers come back (closed loop).

Requests are serialised to bytes before the clock starts, and the client is a minimal
socket loop rather than httpx: on this 2-core machine httpx spent ~500 us of CPU per request
(as much as the server's trivial endpoint), http.client ~140 us, this loop ~50 us. Each
client reports its own CPU time so the run shows what the load generator took."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

__all__ = ["LoadResult", "Request", "run_load"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    units: int = 1  # events in an ingest batch; 1 for a read


@dataclass
class ClientResult:
    latencies_s: list[float] = field(default_factory=list)
    units: int = 0
    errors: int = 0
    first_error: str = ""
    cpu_s: float = 0.0
    started: float = 0.0
    ended: float = 0.0


@dataclass
class LoadResult:
    clients: int
    requests: int
    units: int
    errors: int
    first_error: str
    wall_s: float
    p50_ms: float
    p99_ms: float
    client_cpu_s: float
    server_cpu_s: float  # CPU time the server's processes used over the same window
    machine_cpu_s: float  # CPU time every process of the machine used (others' too)
    postgres_cpu_s: float  # CPU time of every PostgreSQL process (others' databases too)

    @property
    def units_per_s(self) -> float:
        return self.units / self.wall_s if self.wall_s else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Connection:
    """One keep-alive HTTP/1.1 connection; answers must carry Content-Length (Starlette's
    always do)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        head = buffer[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"no Content-Length in {head[:200]!r}")
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end > 0 else None])
        total = end + 4 + length
        while len(buffer) < total:
            buffer += self._recv()
        self.buffer = buffer[total:]
        return int(head[9:12]), buffer[end + 4 : total]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk


Job = tuple[str, int, list[Request], list[bytes], int, float, float, int]


def _client(job: Job) -> ClientResult:
    host, port, requests, raws, total, start_at, cap_s, warmup = job
    result = ClientResult()
    connection = _Connection(host, port)
    for raw in raws[:warmup]:  # connect and warm caches, not measured
        connection.exchange(raw)
    time.sleep(max(0.0, start_at - time.time()))
    cpu0, result.started = _cpu(), time.perf_counter()
    deadline = result.started + cap_s
    for i in range(warmup, total):
        request, raw = requests[i % len(requests)], raws[i % len(raws)]
        t0 = time.perf_counter()
        status, body = connection.exchange(raw)
        t1 = time.perf_counter()
        if status == 200 and _complete(request, body):
            result.latencies_s.append(t1 - t0)
            result.units += request.units
        else:
            result.errors += 1
            result.first_error = result.first_error or f"{status} {body[:300]!r}"
        if t1 > deadline:
            break
    result.ended, result.cpu_s = time.perf_counter(), _cpu() - cpu0
    connection.sock.close()
    return result


def _complete(request: Request, body: bytes) -> bool:
    """An ingest batch counts only if every event was stored (none a duplicate)."""
    return request.units == 1 or orjson.loads(body).get("inserted") == request.units


def _serialise(request: Request, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if request.body is not None:
        lines.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (request.body or b"")


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def run_load(
    base_url: str,
    headers: dict[str, str],
    per_client: Sequence[list[Request]],
    cap_s: float,
    server_cpu: Callable[[], float],
    warmup: int = 2,
    cycle: bool = False,
) -> LoadResult:
    """Run one closed-loop client per list in ``per_client`` (each list's first ``warmup``
    requests are not measured); each client sends its list once, or round and round when
    ``cycle``, and stops after ``cap_s`` seconds."""
    host, port = base_url.removeprefix("http://").split(":")
    prepared = [(list(reqs), [_serialise(r, host, headers) for r in reqs]) for reqs in per_client]
    start_at = time.time() + 1.0 + 0.2 * len(per_client)
    jobs: list[Job] = [
        (host, int(port), reqs, raws, 1 << 40 if cycle else len(reqs), start_at, cap_s, warmup)
        for reqs, raws in prepared
    ]
    cpu_at_start: list[float] = []

    def sample_at_start() -> None:
        time.sleep(max(0.0, start_at - time.time()))
        cpu_at_start.extend((server_cpu(), machine_busy_s(), postgres_cpu_s()))

    sampler = threading.Thread(target=sample_at_start)
    sampler.start()
    context = multiprocessing.get_context("fork")
    with context.Pool(len(jobs)) as pool:
        results = pool.map(_client, jobs)
    sampler.join()
    server_cpu_s = server_cpu() - cpu_at_start[0]
    machine_cpu_s = machine_busy_s() - cpu_at_start[1]
    pg_cpu_s = postgres_cpu_s() - cpu_at_start[2]
    latencies = [value for result in results for value in result.latencies_s]
    return LoadResult(
        clients=len(results),
        requests=len(latencies),
        units=sum(result.units for result in results),
        errors=sum(result.errors for result in results),
        first_error=next((r.first_error for r in results if r.first_error), "")[:300],
        # Clients start together; the run lasts until the last one finishes.
        wall_s=max(r.ended for r in results) - min(r.started for r in results),
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        client_cpu_s=sum(result.cpu_s for result in results),
        server_cpu_s=server_cpu_s,
        machine_cpu_s=machine_cpu_s,
        postgres_cpu_s=pg_cpu_s,
    )


def postgres_cpu_s() -> float:
    """CPU seconds used so far by processes named postgres (the server's backends)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name, _, rest = text.partition(" (")[2].partition(") ")
        if name == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat, not idle/iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
