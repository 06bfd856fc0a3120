"""py_mp.py: multiprocessing fork workers end with os._exit(); each does HTTP exchanges.
Usage: py_mp.py PORT. Prints the sum of statuses."""
import http.client, multiprocessing as mp, sys

PORT = int(sys.argv[1])


def work(i):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    c.request("GET", f"/tool/weather?city=worker{i}")
    r = c.getresponse()
    r.read()
    return r.status


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=work, args=(i,)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print("workers exit codes", [p.exitcode for p in procs])
