/* test_argv_redact.c: secrets in command lines (flags, NAME=value, headers, shell strings). */
#include "argv_redact.h"
#include "unit.h"

/* Redact argv in order and compare with the expected words. */
static void check_argv(const char *const *in, const char *const *want)
{
	int state = 0;

	for (int i = 0; in[i]; i++) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s", in[i]);
		state = ap_redact_arg(buf, sizeof(buf), state);
		CHECK_EQ_STR(buf, want[i]);
		CHECK(!strstr(buf, "SECRET"));
	}
}

int main(void)
{
	const char *a[] = {"agent",
			   "--api-key",
			   "SECRET1",
			   "--token=SECRET2",
			   "OPENAI_API_KEY=SECRET3",
			   "-H",
			   "Authorization: Bearer SECRET4",
			   "-H",
			   "Accept: text/plain",
			   NULL};
	const char *aw[] = {"agent",
			    "--api-key",
			    "REDACTED",
			    "--token=REDACTED",
			    "OPENAI_API_KEY=REDACTED",
			    "-H",
			    "Authorization: Bearer REDACTED",
			    "-H",
			    "Accept: text/plain"};
	const char *b[] = {
		"sh", "-c",
		"curl -s -H 'Authorization: Bearer SECRET5' 'https://u:SECRET6@h/p?sig=SECRET7'",
		NULL};
	const char *bw[] = {"sh", "-c",
			    "curl -s -H 'Authorization: Bearer REDACTED' "
			    "'https://h/p?sig=REDACTED'"};
	const char *c[] = {"python3",	"agent.py", "sk-proj-SECRET8abcdefghij",
			   "--verbose", "--model",  "gpt-4o",
			   NULL};
	const char *cw[] = {"python3", "agent.py", "REDACTED", "--verbose", "--model", "gpt-4o"};
	const char *d[] = {"sh", "-c", "x-api-key: SECRET9 and cookie: SECRET10", NULL};
	const char *dw[] = {"sh", "-c", "x-api-key: REDACTED and cookie: REDACTED"};

	check_argv(a, aw);
	check_argv(b, bw);
	check_argv(c, cw);
	check_argv(d, dw);
	UNIT_DONE();
}
