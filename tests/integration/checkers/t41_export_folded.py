# t41_export_folded.py: checks of tests/integration/t41_export_folded.sh, fed on stdin there.
raw = open(sys.argv[1], "rb").read()
res("LF line endings, last line terminated", b"\r" not in raw and (not raw or raw.endswith(b"\n")))
lines = raw.decode("utf-8").splitlines()
res("not empty", len(lines) > 0 or "tokens" in L or "cost" in L, "no lines")
# flamegraph.pl: ^(.*)\s+?(\d+(?:\.\d*)?)$ ; the stack part must not match it again (differential)
FG = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")
# speedscope (bg-flamegraph.ts): ^(.*) (\d+)$ ; inferno: integer counts
SS = re.compile(r"^(.*) (\d+)$")
bad_fg, bad_diff, bad_ss, bad_frames, seen = [], [], [], [], set()
for l in lines:
    m = FG.match(l)
    if not m:
        bad_fg.append(l); continue
    if FG.match(m.group(1)):
        bad_diff.append(l)
    s = SS.match(l)
    if not s or s.group(1) != m.group(1):
        bad_ss.append(l); continue
    if int(s.group(2)) <= 0:
        bad_ss.append(l)
    frames = s.group(1).split(";")
    if any(f == "" or f != f.strip() for f in frames):
        bad_frames.append(l)
    seen.add(s.group(1))
res("every line parses as flamegraph.pl input", not bad_fg, repr(bad_fg[:3]))
res("no line is read as a differential (frame ending in ' <digits>')", not bad_diff, repr(bad_diff[:3]))
res("speedscope/inferno: one space, positive integer count", not bad_ss, repr(bad_ss[:3]))
res("no empty or space-padded frame", not bad_frames, repr(bad_frames[:3]))
res("each stack once (merged)", len(seen) == len(lines))
leaves = {l.rsplit(" ", 1)[0].split(";")[-1] for l in lines}
res("endpoint leaves", all(x.startswith("[") for x in leaves), repr(sorted(leaves)[:5]))
if L.startswith("synth --weight time"):
    want = {"agent_step;path_plan;[llm] openai gpt-4o", "agent_step;path_review;[llm] anthropic claude-sonnet-4-5",
            "agent_step;path_search;[llm] gemini gemini-2.0-flash", "agent_step;path_search;[tool] api.github.com"}
    res("synthetic stacks symbolized from the generator binary", want <= seen, repr(sorted(seen)))
if L.startswith("odd --weight time"):
    res("';' in a model name is not a frame separator", any("a:b c_7" in l for l in lines), repr(lines[:4]))
    res("model 'my model 42' kept readable as 'my model_42'", any(l.rsplit(" ", 1)[0].endswith("my model_42") for l in lines), repr(lines[:4]))
