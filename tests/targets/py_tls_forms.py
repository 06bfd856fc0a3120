"""py_tls_forms.py: Python TLS in every form against a local TLS server: ssl.wrap_bio with
memory BIOs pumped by hand over a socket, a blocking ssl socket (http.client), and asyncio TLS.
Then subprocess.run (vfork child) between two exchanges on one keep-alive connection.
Usage: py_tls_forms.py TLS_PORT CA PLAIN_PORT. Output has no pids, ports or times."""
import asyncio, http.client, os, socket, ssl, subprocess, sys

PORT, CA, PLAIN = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=CA)


def wrap_bio_get(path):
    sock = socket.create_connection(("127.0.0.1", PORT))
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")

    def pump():
        data = out.read()
        if data:
            sock.sendall(data)

    def fill():
        data = sock.recv(65536)
        if not data:
            raise EOFError
        inc.write(data)

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump()
            fill()
    pump()
    obj.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    pump()
    resp = b""
    while True:
        try:
            chunk = obj.read(65536)
            if not chunk:
                break
            resp += chunk
        except ssl.SSLWantReadError:
            try:
                fill()
            except EOFError:
                break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
        if b"\r\n\r\n" in resp and b'"city"' in resp:
            break
    sock.close()
    return resp.split(b" ")[1].decode()


def blocking_get(path):
    c = http.client.HTTPSConnection("localhost", PORT, context=ctx, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return str(r.status)


async def asyncio_get(path):
    reader, writer = await asyncio.open_connection("localhost", PORT, ssl=ctx)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.split(b" ")[1].decode()


print("wrap_bio", wrap_bio_get("/tool/weather?city=wrapbio"))
print("blocking", blocking_get("/tool/weather?city=blocking"))
print("asyncio", asyncio.run(asyncio_get("/tool/weather?city=asyncio")))

c = http.client.HTTPConnection("127.0.0.1", PLAIN, timeout=10)
c.request("GET", "/tool/weather?city=before")
r = c.getresponse(); r.read()
print("before subprocess", r.status)
p = subprocess.run(["true"])
p2 = subprocess.run(["sh", "-c", "exit 3"])
print("subprocess", p.returncode, p2.returncode, file=sys.stdout)
with open(os.environ.get("CHILD_PIDS", os.devnull), "w") as f:
    q = subprocess.Popen(["true"])
    q.wait()
    f.write(f"{q.pid}\n")
c.request("GET", "/tool/weather?city=after")
r = c.getresponse(); r.read()
print("after subprocess", r.status)
