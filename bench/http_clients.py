"""HTTP clients for the webhook sender, side by side: CPU per request of aiohttp (the sender's client, used as the
sender uses it: one session, uvloop, a bound on requests in flight) and of libcurl through pycurl, both bare (a
multi handle driven by its own select loop) and on the same uvloop loop as the sender (its sockets and timers
handed to the loop). Same body, same headers, same nginx receiver, the clients alternating in one run; keep-alive,
a pinned address (curl's RESOLVE), timeouts and no redirects in every case. No Django, no database.

pycurl is not a dependency of the service (docs/profiles/README.md, "Issue 20: other HTTP clients"); install it
into the venv to run this: `.venv/bin/pip install pycurl==7.49.0 && .venv/bin/python -m bench.http_clients`.

    python -m bench.http_clients [--requests 20000] [--rounds 3] [--in-flight 64]
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import uvloop

from bench import infra

try:
    import pycurl
except ImportError:
    pycurl = None

BODY = json.dumps({"type": "TRANSACTION", "eventId": "evt_1", "data": {"note": "x" * 400}}).encode()
HEADERS = {"content-type": "application/json", "webhook-id": "evt_1", "webhook-timestamp": "1700000000",
           "webhook-signature": "v1,abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG="}
CHUNK = 1000  # requests handed over at a time, like a worker's batches


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _timed_on_loop(one: Callable[[], Awaitable[int]], count: int) -> tuple[float, float]:
    """Seconds and CPU seconds of `count` requests made by `one()`, CHUNK at a time, after a warm-up."""
    await asyncio.gather(*(one() for _ in range(200)))  # warm-up: connections
    cpu, started = _cpu(), time.perf_counter()
    for _ in range(0, count, CHUNK):
        statuses = await asyncio.gather(*(one() for _ in range(CHUNK)))
        assert set(statuses) == {204}, set(statuses)
    return time.perf_counter() - started, _cpu() - cpu


def aiohttp_on_uvloop(url: str, count: int, in_flight: int) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=10)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            bound = asyncio.Semaphore(in_flight)

            async def one() -> int:
                async with bound, session.post(url, data=BODY, headers=HEADERS, allow_redirects=False,
                                               timeout=timeout) as response:
                    await response.content.read(2048)
                    return response.status

            return await _timed_on_loop(one, count)

    return uvloop.run(main())


def _curl_handle(url: str, resolve: list[str]):
    handle = pycurl.Curl()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.RESOLVE, resolve)
    handle.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in HEADERS.items()])
    handle.setopt(pycurl.POSTFIELDS, BODY)
    handle.setopt(pycurl.FOLLOWLOCATION, 0)
    handle.setopt(pycurl.CONNECTTIMEOUT_MS, 5000)
    handle.setopt(pycurl.TIMEOUT_MS, 10000)
    handle.body = bytearray()
    handle.setopt(pycurl.WRITEFUNCTION, handle.body.extend)
    return handle


def curl_select_loop(url: str, resolve: list[str], count: int, in_flight: int) -> tuple[float, float]:
    multi = pycurl.CurlMulti()
    handles = [_curl_handle(url, resolve) for _ in range(in_flight)]

    def run(n: int) -> None:
        free, queued, done = list(handles), n, 0
        while done < n:
            while free and queued:
                handle = free.pop()
                handle.body.clear()
                multi.add_handle(handle)
                queued -= 1
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                left, ok, failed = multi.info_read()
                for handle in ok:
                    assert handle.getinfo(pycurl.RESPONSE_CODE) == 204
                    multi.remove_handle(handle)
                    free.append(handle)
                    done += 1
                assert not failed, failed
                if not left:
                    break
            if done < n:
                multi.select(1.0)

    run(200)
    cpu, started = _cpu(), time.perf_counter()
    for _ in range(0, count, CHUNK):
        run(CHUNK)
    return time.perf_counter() - started, _cpu() - cpu


class _CurlOnLoop:
    """A curl multi handle whose sockets and timer are watched by an asyncio loop (libcurl's socket interface)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.multi, self.timer, self.watched = loop, pycurl.CurlMulti(), None, {}
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._timer)

    def _socket(self, what: int, fd: int, _multi, _data) -> None:
        mask = self.watched.pop(fd, 0)
        if mask & 1:
            self.loop.remove_reader(fd)
        if mask & 2:
            self.loop.remove_writer(fd)
        if what == pycurl.POLL_REMOVE:
            return
        mask = {pycurl.POLL_IN: 1, pycurl.POLL_OUT: 2, pycurl.POLL_INOUT: 3}.get(what, 0)
        if mask & 1:
            self.loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
        if mask & 2:
            self.loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
        self.watched[fd] = mask

    def _timer(self, ms: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if ms >= 0:
            self.timer = self.loop.call_later(ms / 1000, self._act, pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        self.multi.socket_action(fd, event)
        while True:
            left, ok, failed = self.multi.info_read()
            for handle in ok:
                self.multi.remove_handle(handle)
                handle.future.set_result(handle.getinfo(pycurl.RESPONSE_CODE))
            for handle, code, message in failed:
                self.multi.remove_handle(handle)
                handle.future.set_exception(OSError(code, message))
            if not left:
                break

    def post(self, handle) -> asyncio.Future:
        handle.body.clear()
        handle.future = self.loop.create_future()
        self.multi.add_handle(handle)
        return handle.future


def curl_on_uvloop(url: str, resolve: list[str], count: int, in_flight: int) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        curl = _CurlOnLoop(asyncio.get_running_loop())
        free = [_curl_handle(url, resolve) for _ in range(in_flight)]
        available = asyncio.Semaphore(in_flight)

        async def one() -> int:
            async with available:
                handle = free.pop()
                try:
                    return await curl.post(handle)
                finally:
                    free.append(handle)

        return await _timed_on_loop(one, count)

    return uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    if pycurl is None:
        sys.exit("pycurl is not installed: .venv/bin/pip install pycurl==7.49.0")
    receiver = infra.start_receiver("http-clients")
    url = receiver.url("hook")
    resolve = [f"127.0.0.1:{receiver.port}:127.0.0.1"]
    clients = {
        "aiohttp on uvloop (the sender's client)": lambda: aiohttp_on_uvloop(url, args.requests, args.in_flight),
        "libcurl multi, its own select loop": lambda: curl_select_loop(url, resolve, args.requests, args.in_flight),
        "libcurl multi on uvloop": lambda: curl_on_uvloop(url, resolve, args.requests, args.in_flight),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    try:
        for _ in range(args.rounds):
            for name, run in clients.items():
                seconds, cpu = run()
                results[name].append((args.requests / seconds, cpu / args.requests * 1e6))
                print(f"  {name:42s} {results[name][-1][0]:9,.0f} requests/s {results[name][-1][1]:7.1f} µs CPU",
                      flush=True)
    finally:
        receiver.stop()
    base = sorted(r[1] for r in results[next(iter(clients))])[len(results[next(iter(clients))]) // 2]
    print(f"\nmedian of {args.rounds} rounds, {args.requests:,} requests each, {args.in_flight} in flight:")
    for name, runs in results.items():
        rate = sorted(r[0] for r in runs)[len(runs) // 2]
        cpu = sorted(r[1] for r in runs)[len(runs) // 2]
        print(f"  {name:42s} {rate:9,.0f} requests/s {cpu:7.1f} µs CPU per request ({cpu / base:.2f} of aiohttp's)")


if __name__ == "__main__":
    main()
