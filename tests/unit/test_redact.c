/* test_redact.c: the redaction module: URLs, header names, argv and shell strings (canary table).
 */
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
	P("/login?user=bob&pw=hunter2", "/login?user=bob&pw=REDACTED");
	P("/v1;key=abc/models", "/v1;key=REDACTED/models");
	P("/app;jsessionid=ABC123;lang=en/x?q=1", "/app;jsessionid=REDACTED;lang=en/x?q=1");
	P("/a;v=1/b;token=t?x=1&key=k", "/a;v=1/b;token=REDACTED?x=1&key=REDACTED");
	P("/a;b/c", "/a;b/c");
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

/* Names, word by word: the three matchers (query keys, header names, argv flags). */
static void test_names(void)
{
	/* secret as a query key, a flag and a NAME=value name */
	static const char *const secret[] = {
		"key",
		"api-key",
		"api_key",
		"apiKey",
		"APIKey",
		"OPENAI_API_KEY",
		"apikey",
		"openaikey",
		"token",
		"access_token",
		"accessToken",
		"GITHUB_TOKEN",
		"token-file",
		"tokens",
		"secret",
		"client-secret",
		"clientSecret",
		"clientsecret",
		"aws-secret-access-key",
		"private-key-file",
		"ssh-key",
		"password",
		"db-password",
		"pass",
		"db-pass",
		"db_pass",
		"passphrase",
		"storepass",
		"keypass",
		"auth",
		"oauth",
		"authfile",
		"x-auth",
		"sig",
		"signature",
		"X-Amz-Signature",
		"credential",
		"credentials",
		"sessionid",
		"PWd",
		"ByPass",
		"HotKeys",
		"bypass-key",
		"api%5Fkey",
		"key2",
		"keys",
		"secrets",
	};
	/* plain everywhere */
	static const char *const fine[] = {
		"bypass-cache", "bypass",      "keyboard",	    "keyboard-layout",
		"monkey",	"passive",     "compass",	    "keep-alive",
		"turnkey-mode", "hotkey",      "hotkeys",	    "max-tokens",
		"max_tokens",	"maxTokens",   "max-output-tokens", "MAX_NEW_TOKENS",
		"tokenizer",	"keyword",     "keywords",	    "author",
		"authority",	"signal",      "kill-signal",	    "design",
		"assign",	"passthrough", "no-passive-ftp",    "model",
		"verbose",	"q",
	};
	char flag[128], val[16];

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		const char *n = secret[i];
		int st;

		CHECK(ap_query_key_is_secret(n, strlen(n)));
		snprintf(flag, sizeof(flag), "--%s", n);
		st = ap_redact_arg(flag, sizeof(flag), 0);
		strcpy(val, "v");
		ap_redact_arg(val, sizeof(val), st);
		if (strcmp(val, AP_REDACTED)) {
			unit_failed++;
			fprintf(stderr, "flag --%s: its value was kept\n", n);
		} else {
			unit_passed++;
		}
		snprintf(flag, sizeof(flag), "%s=v", n);
		ap_redact_arg(flag, sizeof(flag), 0);
		CHECK(strstr(flag, "=" AP_REDACTED) != NULL);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		const char *n = fine[i];
		int st;

		CHECK(!ap_query_key_is_secret(n, strlen(n)));
		CHECK(!ap_header_is_secret(n, strlen(n)));
		snprintf(flag, sizeof(flag), "--%s", n);
		st = ap_redact_arg(flag, sizeof(flag), 0);
		strcpy(val, "v");
		ap_redact_arg(val, sizeof(val), st);
		if (strcmp(val, "v")) {
			unit_failed++;
			fprintf(stderr, "flag --%s: its value was redacted\n", n);
		} else {
			unit_passed++;
		}
		snprintf(flag, sizeof(flag), "%s=v", n);
		ap_redact_arg(flag, sizeof(flag), 0);
		CHECK(strstr(flag, "=v") != NULL);
	}
	/* headers: word by word too (the header stems are those of redact.c's header list) */
	CHECK(ap_query_key_is_secret("session_id", 10)); /* session: query and header stem */
	CHECK(ap_query_key_is_secret("sign", 4));	 /* a signature parameter of some APIs */
	CHECK(!ap_query_key_is_secret("signed", 6));
	CHECK(ap_header_is_secret("X-Session-Id", 12));
	CHECK(ap_header_is_secret("X-Api-Key", 9));
	CHECK(ap_header_is_secret("X-Client-Secret", 15));
	CHECK(ap_header_is_secret("Sec-WebSocket-Key", 17));
	CHECK(ap_header_is_secret("X-Upstream-Authorization", 24));
	CHECK(!ap_header_is_secret("X-Keyboard-Layout", 17));
	CHECK(!ap_header_is_secret("X-Author", 8));
	/* a name longer than the buffer is judged on its start, and a stem there still counts */
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname));
		memcpy(longname, "token_", 6);
		CHECK(ap_query_key_is_secret(longname, sizeof(longname)));
		CHECK(!ap_query_key_is_secret("", 0));
		CHECK(!ap_query_key_is_secret(NULL, 3));
	}
	/* "%00" in a name separates words, it does not hide what follows */
	CHECK(ap_query_key_is_secret("x%00token", 9));
}

/* --- argv and shell strings: a table of canaries ----------------------------------------------
 * Each row is an argv; canary must not survive anywhere in it, keep must (ordinary arguments stay).
 * Every row is checked twice: as argv elements, and joined into one "sh -c" string (each element
 * single-quoted) through ap_redact_arg and through ap_redact_shell. */
struct rcase {
	const char *argv[12];
	const char *canary;
	const char *keep;
	int line;
};
#define R(canary, keep, ...)                                \
	{                                                   \
		{__VA_ARGS__, NULL}, canary, keep, __LINE__ \
	}

static const struct rcase cases[] = {
	/* headers given to -H, with and without a space, cookies */
	R("cnA01sid", "example.com", "curl", "-H", "Cookie: a=b; sid=cnA01sid",
	  "https://example.com/"),
	R("cnA02tok", "example.com", "curl", "-H", "Authorization:Bearer cnA02tok",
	  "https://example.com/"),
	R("cnA03tok", "Accept", "curl", "-H", "Authorization: Bearer cnA03tok", "-H",
	  "Accept: text/plain"),
	R("cnA04key", "api.example", "curl", "-H", "x-api-key:cnA04key", "https://api.example/v1"),
	R("cnA05key", "api.example", "curl", "-H", "x-api-key: cnA05key", "https://api.example/v1"),
	R("cnA06key", "messages", "curl", "--header", "X-Api-Key: cnA06key",
	  "https://h/v1/messages"),
	R("cnA07key", "generate", "curl", "-H", "x-goog-api-key:cnA07key", "https://h/generate"),
	R("cnA08pw", "h", "curl", "-H", "Proxy-Authorization: Basic cnA08pw", "https://h/"),
	R("cnA09ck", "h", "curl", "-H", "cookie:session=cnA09ck", "https://h/"),
	R("cnA10tok", "h", "curl", "--header=Authorization: Bearer cnA10tok", "https://h/"),
	R("cnA11tok", "h", "curl", "-HAuthorization:cnA11tok", "https://h/"),
	R("cnA12tok", "h", "curl", "-H", "X-Auth-Token: cnA12tok", "https://h/"),
	R("cnA13tok", "h", "wget", "--header=X-Auth-Token:cnA13tok", "https://h/"),
	R("cnA14tok", "http", "http", "GET", "h/x", "Authorization:Bearer cnA14tok"),
	R("cnA15tok", "h", "curl", "-H", "Authorization:", "Bearer", "cnA15tok", "https://h/"),
	/* user:password */
	R("cnB01pw", "alice", "curl", "-u", "alice:cnB01pw", "https://h/"),
	R("cnB02pw", "alice", "curl", "--user", "alice:cnB02pw", "https://h/"),
	R("cnB03pw", "bob", "curl", "--proxy-user", "bob:cnB03pw", "-x", "http://proxy:3128",
	  "https://h/"),
	R("cnB04pw", "alice", "curl", "-ualice:cnB04pw", "https://h/"),
	R("cnB05pw", "alice", "curl", "--user=alice:cnB05pw", "https://h/"),
	R("cnB06pw", "carol", "curl", "-U", "carol:cnB06pw", "https://h/"),
	R("cnB07pw", "dave", "curl", "--proxy-user=dave:cnB07pw", "https://h/"),
	/* cookies given to -b */
	R("cnC01ck", "h", "curl", "-b", "session=cnC01ck", "https://h/"),
	R("cnC02ck", "h", "curl", "--cookie", "a=1; sid=cnC02ck", "https://h/"),
	R("cnC03ck", "h", "curl", "-bsid=cnC03ck", "https://h/"),
	R("cnC04ck", "h", "curl", "--cookie=sid=cnC04ck", "https://h/"),
	/* passwords of other tools */
	R("cnD01pw", "mydb", "mysql", "-uroot", "-pcnD01pw", "mydb"),
	R("cnD02pw", "mydb", "mysqldump", "--password=cnD02pw", "mydb"),
	R("cnD03pw", "mydb", "psql", "--password", "cnD03pw", "mydb"),
	R("cnD04pw", "login", "docker", "login", "-u", "me", "--password", "cnD04pw"),
	R("cnD05pw", "server", "sshpass", "-p", "x", "ssh", "server", "--passwd=cnD05pw"),
	R("cnD06pw", "run", "app", "run", "--db-pass", "cnD06pw"),
	R("cnD07pw", "mydb", "mariadb", "-pcnD07pw", "-h", "db", "mydb"),
	/* request bodies: never kept */
	R("cnE01bd", "completions", "curl", "-d", "{\"prompt\":\"cnE01bd\"}",
	  "https://h/v1/completions"),
	R("cnE02bd", "h", "curl", "--data-raw", "{\"api_key\":\"cnE02bd\"}", "https://h/"),
	R("cnE03bd", "h", "curl", "--json", "{\"messages\":[\"cnE03bd\"]}", "https://h/"),
	R("cnE04bd", "h", "curl", "--data", "user=x&msg=cnE04bd", "https://h/"),
	R("cnE05bd", "h", "curl", "--data-binary", "cnE05bd", "https://h/"),
	R("cnE06bd", "h", "curl", "-dcnE06bd", "https://h/"),
	R("cnE07bd", "h", "curl", "--data-raw={\"k\":\"cnE07bd\"}", "https://h/"),
	R("cnE08bd", "h", "curl", "--json={\"k\":\"cnE08bd\"}", "https://h/"),
	R("cnE09bd", "h", "curl", "-F", "file=cnE09bd", "https://h/"),
	R("cnE10bd", "h", "curl", "--data-urlencode", "q=cnE10bd", "https://h/"),
	/* flags and NAME=value */
	R("cnF01k", "agent", "agent", "--api-key", "cnF01k"),
	R("cnF02k", "agent", "agent", "--token=cnF02k"),
	R("cnF03k", "env", "env", "OPENAI_API_KEY=cnF03k", "python3", "agent.py"),
	R("cnF04k", "agent", "agent", "--secret", "cnF04k"),
	R("cnF05k", "agent", "agent", "--client-secret=cnF05k"),
	R("cnF06k", "agent", "agent", "--auth", "cnF06k"),
	R("cnF07k", "env", "env", "GITHUB_TOKEN=cnF07k", "gh", "pr", "list"),
	R("cnF08k", "agent", "agent", "--access-token", "cnF08k"),
	R("cnF09k", "deploy", "deploy", "AWS_SECRET_ACCESS_KEY=cnF09k"),
	R("cnF10k", "agent", "agent", "--credentials=cnF10k"),
	/* names matched word by word: every form of a secret word still hides its value */
	R("cnK01k", "agent", "agent", "--key", "cnK01k"),
	R("cnK02k", "agent", "agent", "--pass", "cnK02k"),
	R("cnK03k", "agent", "agent", "-p", "x", "--password", "cnK03k"),
	R("cnK04k", "mysql", "env", "MYSQL_PWD=cnK04k", "mysql"),
	R("cnK05k", "aws", "aws", "--aws-secret-access-key", "cnK05k"),
	R("cnK06k", "ssh", "tool", "ssh", "--private-key-file", "/home/u/.ssh/cnK06k"),
	R("cnK07k", "deploy", "deploy", "--ssh-key=cnK07k"),
	R("cnK08k", "gh", "gh", "--token-file", "/run/cnK08k"),
	R("cnK09k", "agent", "agent", "--apiKey", "cnK09k"),
	R("cnK10k", "agent", "agent", "--accessToken=cnK10k"),
	R("cnK11k", "agent", "agent", "--clientsecret", "cnK11k"),
	R("cnK12k", "agent", "agent", "--APIKey=cnK12k"),
	R("cnK13k", "agent", "agent", "--openaikey", "cnK13k"),
	R("cnK14k", "keytool", "keytool", "-storepass", "cnK14k"),
	R("cnK15k", "agent", "agent", "--db-PWd=cnK15k"),	 /* a stem across a hump */
	R("cnK16k", "agent", "agent", "--ByPass", "cnK16k"),	 /* not the word "bypass" */
	R("cnK17k", "agent", "agent", "--HotKeys", "cnK17k"),	 /* not the word "hotkeys" */
	R("cnK18k", "agent", "agent", "--tokens", "cnK18k"),	 /* no count word: secret */
	R("cnK19k", "agent", "agent", "--api%5Fkey=cnK19k"),	 /* %XX-decoded like a query */
	R("cnK20k", "agent", "agent", "--bypass-key", "cnK20k"), /* one innocent word of two */
	R("cnK21k", "agent", "agent", "--passphrase-file=cnK21k"),
	R("cnK22k", "h", "curl", "https://h/x?access_token=cnK22k&q=1"),
	R("cnK23k", "h", "curl", "https://h/v1;key=cnK23k/x"),
	R("cnK24k", "h", "curl", "-H", "X-Api-Key: cnK24k", "https://h/"),
	R("cnK25k", "h", "curl", "-H", "X-Client-Secret:cnK25k", "https://h/"),
	/* well-known key formats are found whatever name they are given to */
	R("sk-proj-cnL01abcdefghijkl", "agent", "agent", "--monkey=sk-proj-cnL01abcdefghijkl"),
	R("AKIAcnL02ABCDEFGHIJ", "agent", "agent", "--bypass-cache", "AKIAcnL02ABCDEFGHIJ"),
	R("eyJhbGciOiJIUzI1NiJ9.cnL03.sig", "agent", "agent", "--keyboard",
	  "eyJhbGciOiJIUzI1NiJ9.cnL03.sig"),
	R("ghp_cnL04abcdefghijklmnop", "env", "env", "GH=ghp_cnL04abcdefghijklmnop", "gh"),
	R("cnL05tok", "agent", "agent", "--passive", "Bearer", "cnL05tok"),
	R("cnL06tok", "agent", "agent", "--hdr=Bearer", "cnL06tok"),
	R("cnL07tok", "agent", "agent", "--max-tokens", "100", "Bearer cnL07tok"),
	/* key prefixes, bare */
	R("sk-proj-cnG01abcdefghijkl", "agent.py", "python3", "agent.py",
	  "sk-proj-cnG01abcdefghijkl"),
	R("sk-ant-api03-cnG02abcdefgh", "claude", "claude", "sk-ant-api03-cnG02abcdefgh"),
	R("AIzaSycnG03abcdefghijklmn", "gemini", "gemini", "AIzaSycnG03abcdefghijklmn"),
	R("ghp_cnG04abcdefghijklmnop", "gh", "gh", "auth", "ghp_cnG04abcdefghijklmnop"),
	R("xoxb-cnG05-abcdefghijkl", "slack", "slack", "xoxb-cnG05-abcdefghijkl"),
	R("eyJhbGciOiJIUzI1NiJ9.cnG06.sig", "tool", "tool", "eyJhbGciOiJIUzI1NiJ9.cnG06.sig"),
	R("AKIAcnG07ABCDEFGHIJ", "aws", "aws", "AKIAcnG07ABCDEFGHIJ"),
	R("hf_cnG08abcdefghijklmn", "hf", "hf", "login", "hf_cnG08abcdefghijklmn"),
	/* URLs */
	R("cnH01pw", "example.com", "curl", "https://user:cnH01pw@example.com/x"),
	R("cnH02k", "generateContent", "curl", "https://h/v1/m:generateContent?key=cnH02k"),
	R("cnH03k", "login", "curl", "https://h/login?user=bob&pw=cnH03k"),
	R("cnH04k", "models", "curl", "https://h/v1;key=cnH04k/models"),
	R("cnH05k", "h", "tool", "--url=https://u:cnH05k@h/x"),
	R("cnH06k", "cache", "redis-cli", "-u", "redis://:cnH06k@cache:6379/0"),
	R("cnH07k", "x", "git", "clone", "https://oauth2:cnH07k@gitlab.example/x.git"),
	R("cnH08k", "app", "curl", "https://h/app;jsessionid=cnH08k?x=1"),
	R("cnH09k", "h", "curl", "https://h/cb?code=cnH09k&state=s"),
	/* shell strings inside one argument */
	R("cnI01pw", "alice", "sh", "-c", "curl -u alice:cnI01pw https://h/"),
	R("cnI02tok", "curl", "sh", "-c", "curl -s -H 'Authorization: Bearer cnI02tok' https://h/"),
	R("cnI03ck", "curl", "bash", "-c", "curl -H \"Cookie: a=b; sid=cnI03ck\" https://h/"),
	R("cnI04bd", "curl", "sh", "-c", "curl -d '{\"key\":\"cnI04bd\"}' https://h/"),
	R("cnI05pw", "mysql", "sh", "-c", "mysql -pcnI05pw db"),
	R("cnI06pw", "bob", "sh", "-c", "bash -c 'curl --user bob:cnI06pw https://h/'"),
	R("cnI07k", "node", "sh", "-c", "OPENAI_API_KEY=cnI07k node agent.js"),
	R("cnI08k", "curl", "sh", "-c", "curl -H x-api-key:cnI08k https://h/ | jq ."),
	R("cnI09tok", "curl", "sh", "-c", "curl -H 'Authorization:Bearer cnI09tok' https://h/"),
	R("cnI10bd", "curl", "sh", "-c",
	  "curl --json '{\"m\":\"cnI10bd\"}' https://h/ && echo done"),
	R("cnI11pw", "curl", "sh", "-c", "curl 'https://u:cnI11pw@h/x?y=1'"),
	R("cnI12ck", "curl", "sh", "-c", "curl -b 'sid=cnI12ck' https://h/"),
	/* a header line as a plain argument */
	R("cnJ01tok", "tool", "tool", "Authorization: Bearer cnJ01tok"),
	R("cnJ02ck", "tool", "tool", "Cookie: a=1; sid=cnJ02ck"),
	R("cnJ03tok", "tool", "tool", "x-api-key: cnJ03tok and more"),
};

/* Ordinary command lines: nothing in them may change. */
static const char *const plain[][12] = {
	{"python3", "agent.py", "--model", "gpt-4o", "--verbose", NULL},
	{"curl", "-s", "-H", "Accept: application/json", "https://api.example.com/v1/models", NULL},
	{"curl", "-X", "POST", "-H", "Content-Type: application/json", "https://h/v1/chat", NULL},
	{"ssh", "-p", "2222", "host", NULL},
	{"python3", "-m", "http.server", "-p8080", NULL},
	{"git", "commit", "-m", "fix the keyboard", NULL},
	{"sh", "-c", "ls -la /tmp && echo ok", NULL},
	{"curl", "-b", "cookies.txt", "-d", "@body.json", "https://h/x?model=gpt-4o&stream=1",
	 NULL},
	{"node", "server.js", "--port=3000", "--host=0.0.0.0", NULL},
	{"make", "-j2", "CC=clang", "PREFIX=/usr/local", NULL},
	{"grep", "-r", "TODO", "src", NULL},
	{"curl", "-u", "alice", "https://h/", NULL},
	/* flag names that contain a secret stem inside an ordinary word */
	{"tool", "--bypass-cache", "yes", "--keyboard-layout", "us", "--monkey", "3", NULL},
	{"tool", "--passive", "ftp", "--compass", "north", "--keep-alive", "30", NULL},
	{"tool", "--turnkey-mode", "on", "--hotkeys", "ctrl", "--hotkey=alt", NULL},
	{"llm", "--max-tokens", "100", "--tokenizer", "gpt2", "--maxOutputTokens=64", NULL},
	{"tool", "--keyword", "pasta", "--author", "bob", "--kill-signal", "TERM", NULL},
	{"env", "KEYBOARD=us", "MAX_TOKENS=512", "BYPASS_PROXY=1", "tool", NULL},
	{"curl", "https://h/search?keyword=pasta&author=bob&max_tokens=9", NULL},
	{"curl", "-H", "X-Bypass-Cache: 1", "-H", "Keep-Alive: 5", "https://h/", NULL},
	{"sh", "-c", "tool --bypass-cache yes --monkey 3 && echo ok", NULL},
};

static void canary_row(const struct rcase *c)
{
	char all[4096] = "", sh[2048] = "", out[2048];
	size_t o = 0, so = 0;
	int state = 0;

	for (int i = 0; c->argv[i]; i++) {
		char buf[1024];

		snprintf(buf, sizeof(buf), "%s", c->argv[i]);
		state = ap_redact_arg(buf, sizeof(buf), state);
		o += (size_t)snprintf(all + o, sizeof(all) - o, "%s\n", buf);
		/* the same words as one shell string, each single-quoted */
		if (i)
			sh[so++] = ' ';
		sh[so++] = '\'';
		for (const char *q = c->argv[i]; *q && so + 6 < sizeof(sh); q++) {
			if (*q == '\'') { /* ' becomes '\'' */
				memcpy(sh + so, "'\\''", 4);
				so += 4;
			} else {
				sh[so++] = *q;
			}
		}
		sh[so++] = '\'';
		sh[so] = 0;
	}
	if (strstr(all, c->canary) || !strstr(all, c->keep)) {
		unit_failed++;
		fprintf(stderr, "line %d: argv: canary %s %s / keep %s %s:\n%s", c->line, c->canary,
			strstr(all, c->canary) ? "LEAKED" : "gone", c->keep,
			strstr(all, c->keep) ? "kept" : "LOST", all);
	} else {
		unit_passed++;
	}
	ap_redact_shell(sh, out, sizeof(out));
	if (strstr(out, c->canary) || !strstr(out, c->keep)) {
		unit_failed++;
		fprintf(stderr, "line %d: shell: canary %s / keep %s: %s\n", c->line, c->canary,
			c->keep, out);
	} else {
		unit_passed++;
	}
	snprintf(out, sizeof(out), "%s", sh);
	ap_redact_arg(out, sizeof(out), 0);
	if (strstr(out, c->canary) || !strstr(out, c->keep)) {
		unit_failed++;
		fprintf(stderr, "line %d: sh -c arg: canary %s / keep %s: %s\n", c->line, c->canary,
			c->keep, out);
	} else {
		unit_passed++;
	}
}

static void test_canaries(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);

	CHECK(n >= 60);
	for (size_t i = 0; i < n; i++)
		canary_row(&cases[i]);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		int state = 0;

		for (int k = 0; plain[i][k]; k++) {
			char buf[1024];

			snprintf(buf, sizeof(buf), "%s", plain[i][k]);
			state = ap_redact_arg(buf, sizeof(buf), state);
			CHECK_EQ_STR(buf, plain[i][k]);
		}
	}
}

/* Exact forms: what stays around a redacted value. */
static void argv_exact(const char *const *in, const char *const *want, int line)
{
	int state = 0;

	for (int i = 0; in[i]; i++) {
		char buf[1024];

		snprintf(buf, sizeof(buf), "%s", in[i]);
		state = ap_redact_arg(buf, sizeof(buf), state);
		if (strcmp(buf, want[i])) {
			unit_failed++;
			fprintf(stderr, "line %d: \"%s\" -> \"%s\", want \"%s\"\n", line, in[i],
				buf, want[i]);
		} else {
			unit_passed++;
		}
	}
}
#define AX(in, want) argv_exact(in, want, __LINE__)

static void test_exact(void)
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
	const char *bw[] = {
		"sh", "-c",
		"curl -s -H 'Authorization: Bearer REDACTED' 'https://h/p?sig=REDACTED'"};
	const char *c[] = {"curl", "-u", "alice:pw", "-H", "Cookie: a=b; sid=x", "-d", "{}", NULL};
	const char *cw[] = {"curl", "-u",      "alice:REDACTED", "-H", "Cookie: REDACTED",
			    "-d",   "REDACTED"};
	const char *d[] = {"curl", "-H", "Authorization:Bearer T0", "-pPASS", "-p8080", NULL};
	const char *dw[] = {"curl", "-H", "Authorization:Bearer REDACTED", "-pREDACTED", "-p8080"};
	char sh[256];

	AX(a, aw);
	AX(b, bw);
	AX(c, cw);
	AX(d, dw);
	ap_redact_shell("curl -u a:b 'https://h/x?key=k' -H \"x-api-key: v\"", sh, sizeof(sh));
	CHECK_EQ_STR(sh, "curl -u a:REDACTED 'https://h/x?key=REDACTED' -H 'x-api-key: REDACTED'");
	/* small buffers: always terminated, never the secret */
	{
		char small[24] = "--token=abcdefghij";
		ap_redact_arg(small, 12, 0);
		CHECK(strlen(small) < 12 && !strstr(small, "abc"));
	}
	ap_redact_shell(NULL, sh, sizeof(sh));
	CHECK_EQ_STR(sh, "");
}

/* Random words of shell-ish bytes through every entry point with small buffers: always
 * terminated within the buffer, never longer than it (run under ASan by t72_redact_asan). */
static void test_random(void)
{
	static const char alphabet[] = "ab:=;&?/@-' \"\\\tBearerCookie-Hdu.pPk%://x";
	uint32_t seed = 12345;
	int bad = 0;

	for (int it = 0; it < 20000; it++) {
		char in[300], buf[300], out[300];
		size_t n, cap;
		int state = 0;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % (sizeof(in) - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		in[n] = 0;
		cap = 1 + (seed >> 4) % sizeof(buf);
		memcpy(buf, in, n + 1);
		state = ap_redact_arg(buf, cap, (int)((seed >> 12) % 6));
		bad += strnlen(buf, cap) >= cap || state < 0 || state > 5;
		ap_redact_shell(in, out, cap);
		bad += strnlen(out, cap) >= cap;
		memcpy(buf, in, n + 1);
		ap_redact_path(buf, cap);
		bad += strnlen(buf, cap) >= cap;
		memcpy(buf, in, n + 1);
		ap_redact_url(buf, cap);
		bad += strnlen(buf, cap) >= cap;
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	test_path();
	test_url();
	test_headers();
	test_names();
	test_canaries();
	test_exact();
	test_random();
	UNIT_DONE();
}
