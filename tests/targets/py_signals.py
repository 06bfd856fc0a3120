"""py_signals.py: signal-context wrappers from Python: asyncio's signal wake-up fd write()s
from inside the C signal handler (add_signal_handler + os.kill), while the loop does HTTP on
a tracked socket; then a handler that raises must interrupt a blocking recv (EINTR passed
through). Usage: py_signals.py PORT. Output has no pids, ports or times."""
import asyncio, os, signal, socket, sys, time

PORT = int(sys.argv[1])


async def http_get(reader, writer):
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    await reader.readexactly(n)
    return head.split(b" ")[1]


async def main():
    loop = asyncio.get_running_loop()
    got = 0

    def on_usr1():
        nonlocal got
        got += 1

    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    statuses = set()
    for i in range(200):
        os.kill(os.getpid(), signal.SIGUSR1)
        statuses.add(await http_get(reader, writer))
        await asyncio.sleep(0)
    for _ in range(100):
        if got >= 200:
            break
        await asyncio.sleep(0.01)
    writer.close()
    print("asyncio signals handled", got, "statuses", sorted(s.decode() for s in statuses))


asyncio.run(main())


class Interrupted(Exception):
    pass


def on_alarm(sig, frm):
    raise Interrupted()


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.create_connection(srv.getsockname())
signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(1)
t0 = time.monotonic()
try:
    c.recv(1)
    print("recv returned (wrong)")
except Interrupted:
    print("recv interrupted by the raising handler", "within 5 s" if time.monotonic() - t0 < 5 else "LATE")
