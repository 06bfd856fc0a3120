/* test_view_pystack.c: recorded Python stacks as display frames and call sites (pystack.c). */
#include <stdlib.h>

#include "pystack.h"
#include "unit.h"

static struct vpycode codes[8];
static struct vpystack stacks[4];
static struct vpyframe frames[32];

static void add_code(struct run *run, uint64_t id, int32_t proc, const char *qual, const char *file)
{
	struct vpycode *c = &codes[run->n_pycodes++];

	c->id = id;
	c->proc = proc;
	c->qualname = strtab_add(&run->st, qual);
	c->file = strtab_add(&run->st, file);
	c->firstline = 1;
}

/* frames given innermost first, as recorded: code id, line */
static void add_stack(struct run *run, uint64_t id, int32_t proc, int truncated, int n,
		      const uint64_t *code, const uint32_t *line)
{
	struct vpystack *s = &stacks[run->n_pystacks++];

	s->id = id;
	s->proc = proc;
	s->nframes = (uint32_t)n;
	s->truncated = (uint8_t)truncated;
	s->first = run->n_pyframes;
	for (int i = 0; i < n; i++) {
		frames[run->n_pyframes].code = code[i];
		frames[run->n_pyframes++].line = line[i];
	}
}

int main(void)
{
	struct run run;
	struct pystacks *p;
	const struct symframe *const *sf;
	char buf[256];
	size_t n;

	memset(&run, 0, sizeof(run));
	strtab_init(&run.st);
	run.pycodes = codes;
	run.pystacks = stacks;
	run.pyframes = frames;
	add_code(&run, 11, 0, "<module>", "/home/u/agent.py");
	add_code(&run, 12, 0, "Agent.run", "/home/u/agent.py");
	add_code(&run, 13, 0, "ask", "/home/u/tools/llm.py");
	add_code(&run, 14, 0, "HTTPConnection.send", "/usr/lib/python3.11/http/client.py");
	add_code(&run, 15, 0, "Session.request",
		 "/usr/lib/python3/dist-packages/requests/sessions.py");
	add_code(&run, 11, 1, "other_process", "/srv/other.py"); /* same id, another process */
	{
		const uint64_t c[] = {14, 15, 13, 12, 11};
		const uint32_t l[] = {998, 589, 7, 42, 3};

		add_stack(&run, 100, 0, 0, 5, c, l);
	}
	{
		const uint64_t c[] = {14, 99};
		const uint32_t l[] = {998, 0};

		add_stack(&run, 101, 0, 1, 2, c, l); /* truncated; code 99 never recorded */
	}
	{
		const uint64_t c[] = {14};
		const uint32_t l[] = {998};

		add_stack(&run, 102, 0, 0, 1, c, l); /* library frames only */
	}
	{
		const uint64_t c[] = {11};
		const uint32_t l[] = {5};

		add_stack(&run, 100, 1, 0, 1, c, l); /* same stack id in process 1 */
	}

	p = py_open(&run, NULL, 0);

	/* display frames: outermost first, FILE:QUALNAME:LINE, file and line kept */
	n = py_stack(p, NULL, 0, 0, 100, &sf);
	CHECK_EQ_INT(n, 5);
	if (n == 5) {
		CHECK_EQ_STR(sf[0]->name, "agent.py:<module>:3");
		CHECK_EQ_STR(sf[1]->name, "agent.py:Agent.run:42");
		CHECK_EQ_STR(sf[2]->name, "llm.py:ask:7");
		CHECK_EQ_STR(sf[3]->name, "sessions.py:Session.request:589");
		CHECK_EQ_STR(sf[4]->name, "client.py:HTTPConnection.send:998");
		CHECK_EQ_STR(sf[2]->file, "/home/u/tools/llm.py");
		CHECK_EQ_INT(sf[2]->line, 7);
	}
	/* the same call again: the cached frames */
	{
		const struct symframe *const *again;

		CHECK_EQ_INT(py_stack(p, NULL, 0, 0, 100, &again), 5);
		CHECK(again == sf);
	}
	/* ids are per process */
	n = py_stack(p, NULL, 1, 0, 100, &sf);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_EQ_STR(sf[0]->name, "other.py:other_process:5");
	/* truncated: a marker at the outer end; an unknown code object is named by its id */
	n = py_stack(p, NULL, 0, 0, 101, &sf);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_STR(sf[0]->name, "[python stack truncated]");
		CHECK_EQ_STR(sf[1]->name, "[python code 0000000000000063]");
		CHECK_EQ_STR(sf[2]->name, "client.py:HTTPConnection.send:998");
	}
	/* no Python stack and no symbolizer: nothing */
	CHECK_EQ_INT(py_stack(p, NULL, 0, 0, 555, &sf), 0);
	CHECK_EQ_INT(py_stack(p, NULL, 0, 0, 0, &sf), 0);

	/* call sites: the innermost frame of the program's own code, then two callers */
	CHECK_EQ_INT(py_call_site(p, 0, 100, 0, buf, sizeof(buf)), 1);
	CHECK_EQ_STR(buf, "llm.py:ask:7 < agent.py:Agent.run:42 < agent.py:<module>:3");
	CHECK_EQ_INT(py_call_site(p, 0, 100, 1, buf, sizeof(buf)), 1);
	CHECK_EQ_STR(buf, "client.py:HTTPConnection.send:998 < sessions.py:Session.request:589 < "
			  "llm.py:ask:7");
	/* only library frames: the innermost one */
	CHECK_EQ_INT(py_call_site(p, 0, 102, 0, buf, sizeof(buf)), 1);
	CHECK_EQ_STR(buf, "client.py:HTTPConnection.send:998");
	CHECK_EQ_INT(py_call_site(p, 0, 777, 0, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "");
	/* a small buffer truncates, never overflows */
	{
		char small[12];

		CHECK_EQ_INT(py_call_site(p, 0, 100, 0, small, sizeof(small)), 1);
		CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
	}

	CHECK(py_is_library("/usr/lib/python3.11/asyncio/streams.py"));
	CHECK(py_is_library("/home/u/.venv/lib/python3.12/site-packages/httpx/_client.py"));
	CHECK(py_is_library("/usr/lib/python3/dist-packages/aiohttp/client.py"));
	CHECK(py_is_library("<frozen runpy>"));
	CHECK(py_is_library(""));
	CHECK(!py_is_library("/home/u/agent.py"));
	CHECK(!py_is_library("agent.py"));

	py_close(p);
	py_close(NULL);
	strtab_free(&run.st);
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
