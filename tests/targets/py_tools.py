"""py_tools.py: an "agent" that uses subprocess tools: sh -c, git --version, os.system and
os.popen, around one HTTP call. Usage: py_tools.py PORT."""
import http.client, os, shutil, subprocess, sys

PORT = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
c.request("GET", "/tool/search?q=x")
r = c.getresponse(); r.read()
print("http", r.status)
print("sh", subprocess.run(["sh", "-c", "sleep 0.05; exit 2"]).returncode)
if shutil.which("git"):
    out = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    print("git", out.startswith("git version"))
print("system", os.system("exit 4") >> 8)
with os.popen("echo popen-ok") as p:
    print("popen", p.read().strip())
