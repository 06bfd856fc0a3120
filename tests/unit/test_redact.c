/* test_redact.c: secret query values, URL userinfo and secret header names. */
#include <string.h>

#include "redact.h"
#include "unit.h"

static void path(const char *in, size_t cap, const char *want, int line)
{
	char buf[600];

	memset(buf, 'Z', sizeof(buf));
	strcpy(buf, in);
	ap_redact_path(buf, cap);
	if (strcmp(buf, want) == 0 && strlen(buf) < cap) {
		unit_passed++;
	} else {
		unit_failed++;
		fprintf(stderr, "line %d: \"%s\" -> \"%s\", want \"%s\"\n", line, in, buf, want);
	}
}
#define P(in, want)	  path(in, 600, want, __LINE__)
#define PC(in, cap, want) path(in, cap, want, __LINE__)

static void test_path(void)
{
	P("/v1/chat/completions", "/v1/chat/completions");
	P("/x?", "/x?");
	P("/m:generateContent?key=AIzaSy123&alt=sse", "/m:generateContent?key=REDACTED&alt=sse");
	P("/a?alt=sse&KEY=x", "/a?alt=sse&KEY=REDACTED");
	P("/a?api_key=1&apikey=2&api-key=3&token=4", "/a?api_key=REDACTED&apikey=REDACTED&"
						     "api-key=REDACTED&token=REDACTED");
	P("/s?X-Goog-Signature=abc&X-Goog-Credential=c&X-Amz-Signature=d&AWSAccessKeyId=e",
	  "/s?X-Goog-Signature=REDACTED&X-Goog-Credential=REDACTED&X-Amz-Signature=REDACTED&"
	  "AWSAccessKeyId=REDACTED");
	P("/b?sv=2020&sig=abc%2Fdef&se=2024", "/b?sv=2020&sig=REDACTED&se=2024");
	P("/cb?code=oauthcode&state=s", "/cb?code=REDACTED&state=s");
	P("/p?password=hunter2;user=u", "/p?password=REDACTED;user=u");
	P("/p?my_refresh_token=x&client_secret=y&db_pass=z&x-auth=q",
	  "/p?my_refresh_token=REDACTED&client_secret=REDACTED&db_pass=REDACTED&x-auth=REDACTED");
	P("/p?api%5Fkey=abc", "/p?api%5Fkey=REDACTED"); /* percent-encoded key */
	P("/p?key=&key&q=1", "/p?key=&key&q=1");	/* nothing to hide */
	P("/p?q=key%3Dvalue", "/p?q=key%3Dvalue");	/* a value mentioning a key */
	P("/p?q=1#key=frag", "/p?q=1");			/* fragment dropped */
	P("/p?key=a=b&x=1", "/p?key=REDACTED&x=1");
	/* growing values near the end of the buffer are cut, still NUL-terminated */
	PC("/p?key=a&x=1", 14, "/p?key=REDACT");
	PC("/p?key=a&x=1", 16, "/p?key=REDACTED");
	PC("/p?key=a&x=1", 18, "/p?key=REDACTED&x");
	PC("/p?k=1&key=a", 10, "/p?k=1&ke");
	ap_redact_path(NULL, 10);
}

static void test_url(void)
{
	char u[256];

	strcpy(u, "https://user:pa55@example.com:8443/v1/x?access_token=t&y=2");
	ap_redact_url(u, sizeof(u));
	CHECK_EQ_STR(u, "https://example.com:8443/v1/x?access_token=REDACTED&y=2");
	strcpy(u, "http://a@b@host/p?x=1");
	ap_redact_url(u, sizeof(u));
	CHECK_EQ_STR(u, "http://host/p?x=1");
	strcpy(u, "https://host?key=1");
	ap_redact_url(u, sizeof(u));
	CHECK_EQ_STR(u, "https://host?key=REDACTED");
	strcpy(u, "host.example/p?q=user@x");
	ap_redact_url(u, sizeof(u));
	CHECK_EQ_STR(u, "host.example/p?q=user@x");
	strcpy(u, "redis://:secretpw@cache:6379/0");
	ap_redact_url(u, sizeof(u));
	CHECK_EQ_STR(u, "redis://cache:6379/0");
}

static void test_headers(void)
{
	static const char *const secret[] = {
		"Authorization",
		"authorization",
		"Proxy-Authorization",
		"Cookie",
		"Set-Cookie",
		"x-api-key",
		"api-key",
		"X-Goog-Api-Key",
		"x-auth-token",
		"X-Amz-Security-Token",
		"OpenAI-Session-Key",
		"X-My-Secret",
		"x-client-password",
	};
	static const char *const fine[] = {
		"Host",
		"Content-Type",
		"Content-Length",
		"Transfer-Encoding",
		"Content-Encoding",
		"anthropic-version",
		"OpenAI-Organization",
		"User-Agent",
		"Accept",
		"Keep-Alive",
	};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		CHECK(ap_header_is_secret(secret[i], strlen(secret[i])));
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		CHECK(!ap_header_is_secret(fine[i], strlen(fine[i])));
	CHECK(ap_header_is_secret("Cookie: x", 6)); /* only n bytes are the name */
	CHECK(!ap_header_is_secret("Host", 0));
	CHECK(!ap_header_is_secret(NULL, 3));
}

int main(void)
{
	test_path();
	test_url();
	test_headers();
	UNIT_DONE();
}
