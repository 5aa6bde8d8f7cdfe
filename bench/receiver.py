"""A Python webhook receiver: answers every POST with 204 after `--delay` seconds and logs each arrival as
`<unix time with ms> <webhook-id> <status>`, the same line nginx writes (bench/infra.py).

Used for the slow endpoint (nginx from Debian has no module that delays an answer), and as the fast receiver when
nginx cannot be installed (BENCH_RECEIVER=python). It is an asyncio server (aiohttp's low-level server: no routing,
no middleware), so thousands of sleeping requests cost sockets, not threads.

    python -m bench.receiver --port 8081 --delay 5 --log /tmp/slow.log
"""

import argparse
import asyncio
import time

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    log = open(args.log, "a", buffering=1 << 16)  # noqa: SIM115 - flushed by the periodic task below

    async def handle(request: web.BaseRequest) -> web.Response:
        arrived = time.time()
        await request.read()
        log.write(f"{arrived:.3f} {request.headers.get('webhook-id', '-')} 204\n")
        if args.delay:
            await asyncio.sleep(args.delay)
        return web.Response(status=204)

    async def flush_forever() -> None:
        while True:
            await asyncio.sleep(0.5)
            log.flush()

    async def serve() -> None:
        server = web.Server(handle, access_log=None)
        runner = web.ServerRunner(server)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096).start()
        await flush_forever()

    try:
        import uvloop  # optional

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve())


if __name__ == "__main__":
    main()
