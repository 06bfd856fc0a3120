/* test_view_json.c: the viewer's JSON writer (escaping any bytes) and price-file parser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonp.h"
#include "jsonw.h"
#include "util.h"
#include "unit.h"

/* Write one string value with jw and return the text (caller frees). */
static char *write_str(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw w;

	jw_init(&w, f, 0);
	jw_strn(&w, s, n);
	fclose(f);
	return buf;
}

static void test_escape(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"plain", 5, "\"plain\""},
		{"q\"b\\", 4, "\"q\\\"b\\\\\""},
		{"\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\""},
		{"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
		{"\xe2\x82\xac", 3, "\"\xe2\x82\xac\""},	  /* valid UTF-8 passes */
		{"\xff\xfe", 2, "\"\\ufffd\\ufffd\""},		  /* invalid bytes */
		{"\xc3", 1, "\"\\ufffd\""},			  /* truncated sequence */
		{"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""}, /* UTF-16 surrogate */
		{"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},		  /* overlong */
		{"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = write_str(cases[i].in, cases[i].n);

		CHECK_EQ_STR(got, cases[i].out);
		free(got);
	}
}

/* Every byte string, written by jw, parses back with the strict parser. */
static void test_roundtrip_random(void)
{
	unsigned seed = 12345;

	for (int it = 0; it < 2000; it++) {
		char s[64], msg[128];
		size_t n = (size_t)(rand_r(&seed) % 64);
		char *js;
		struct jdoc d;
		int root;

		for (size_t i = 0; i < n; i++)
			s[i] = (char)(rand_r(&seed) & 0xff);
		js = write_str(s, n);
		root = jdoc_parse(&d, js, strlen(js), msg, sizeof(msg));
		if (root < 0 || d.nodes[root].type != J_STR) {
			CHECK(0);
			fprintf(stderr, "  %s: %s\n", js, msg);
		}
		jdoc_free(&d);
		free(js);
	}
	CHECK(1);
}

static void test_writer_structure(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw w;

	jw_init(&w, f, 0);
	jw_obj(&w);
	jw_kint(&w, "a", -5);
	jw_kint_opt(&w, "b", -1);
	jw_kstr_opt(&w, "c", "");
	jw_kdouble(&w, "d", NAN);
	jw_kdouble(&w, "e", 0.25);
	jw_key(&w, "f");
	jw_arr(&w);
	jw_arr_end(&w);
	jw_key(&w, "g");
	jw_arr(&w);
	jw_uint(&w, 1);
	jw_bool(&w, 1);
	jw_obj(&w);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	fclose(f);
	CHECK_EQ_STR(buf, "{\"a\":-5,\"b\":null,\"c\":null,\"d\":null,\"e\":0.25,\"f\":[],\"g\":[1,"
			  "true,{}]}");
	free(buf);
}

static void test_parser(void)
{
	const char *doc =
		"\xEF\xBB\xBF{\"sample_spec\": {\"x\": 1},\n"
		" \"gpt-4o\": {\"input_cost_per_token\": 2.5e-06, \"max_input_tokens\": 128000,"
		" \"tags\": [true, false, null, -0.5, \"\\u00e9\\ud83d\\ude00\"]}}";
	static const char *const bad[] = {
		"",	   "{",		  "{\"a\" 1}", "[1,]", "{\"a\":1,}", "01", "1.",
		"\"\\x\"", "\"\\ud800\"", "[1] 2",     "nul",  "\"a\nb\"",   "-",  "{\"a\":tru}",
	};
	struct jdoc d;
	char msg[128];
	int root = jdoc_parse(&d, doc, strlen(doc), msg, sizeof(msg));
	const struct jnode *m, *tags;

	CHECK(root >= 0);
	m = j_get(&d, &d.nodes[root], "gpt-4o");
	CHECK(m && m->type == J_OBJ);
	CHECK(j_get(&d, m, "input_cost_per_token")->num == 2.5e-06);
	CHECK(j_get(&d, m, "max_input_tokens")->num == 128000);
	tags = j_get(&d, m, "tags");
	CHECK(tags && tags->n == 5);
	CHECK(j_child(&d, tags, 0, NULL)->type == J_TRUE);
	CHECK(j_child(&d, tags, 3, NULL)->num == -0.5);
	CHECK_EQ_STR(j_str(&d, j_child(&d, tags, 4, NULL)), "\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(j_get(&d, m, "missing") == NULL);
	jdoc_free(&d);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(jdoc_parse(&d, bad[i], strlen(bad[i]), msg, sizeof(msg)) < 0);
		CHECK(strstr(msg, "line ") != NULL);
		jdoc_free(&d);
	}
}

static void test_depth(void)
{
	char deep[2 * (JSON_MAX_DEPTH + 10) + 1], msg[128];
	struct jdoc d;
	size_t n = JSON_MAX_DEPTH + 10;

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = 0;
	CHECK(jdoc_parse(&d, deep, 2 * n, msg, sizeof(msg)) < 0);
	CHECK(strstr(msg, "nested too deeply") != NULL);
	jdoc_free(&d);
}

/* jw_double writes exactly what printf("%.10g") writes (it has its own fast path), for values of
 * every magnitude, ties and near-ties of the tenth digit, and prices-like sums. */
static void test_double_like_printf(void)
{
	static const double fixed[] = {0.1,
				       0.25,
				       1e-4,
				       9.99999999995e-5,
				       1e-5,
				       123456789.5,
				       999999999.5,
				       1e9,
				       0.30000000000000004,
				       2.5e-3,
				       0.00125,
				       1.0000000005,
				       1.00000000049999,
				       3.14159265358979,
				       -0.007,
				       5e-324,
				       1e300,
				       -1e-300,
				       0.0,
				       -0.0,
				       12345.678901234};
	unsigned long long seed = 0x9e3779b97f4a7c15ull;
	int bad = 0;

	for (size_t i = 0; i < 500000 + sizeof(fixed) / sizeof(fixed[0]); i++) {
		char *buf = NULL, want[64];
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct jw w;
		double v;

		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			v = fixed[i];
		} else {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			/* mantissa and exponent at random, plus short decimals (ties of the tenth
			 * digit) */
			if (seed >> 62 == 0)
				v = (double)(seed >> 40 & 0xfffff) / 1e6 +
				    (double)(seed >> 20 & 0xff);
			else if (seed >> 62 == 1)
				v = (double)(long long)(seed >> 30) * 5e-11;
			else
				v = ldexp((double)(seed >> 11) / 9007199254740992.0,
					  (int)(seed >> 3 & 63) - 40);
			if (seed & 4)
				v = -v;
		}
		jw_init(&w, f, 0);
		jw_double(&w, v);
		fclose(f);
		if (fabs(v) < 9e15 && v == (double)(int64_t)v)
			snprintf(want, sizeof(want), "%lld", (long long)v);
		else
			snprintf(want, sizeof(want), "%.10g", v);
		if (strcmp(buf, want) && bad++ < 5)
			CHECK_EQ_STR(buf, want);
		free(buf);
	}
	CHECK_EQ_INT(bad, 0);
}

/* Keys that need escaping or are long take the slow path and come out right. */
static void test_keys(void)
{
	char *buf = NULL, *heap;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw w;

	jw_init(&w, f, 0);
	jw_obj(&w);
	jw_kint(&w, "q\"k", 1);
	jw_kint(&w, "a_key_that_is_longer_than_the_sixty_four_byte_buffer_of_the_fast_path_x", 2);
	jw_kint(&w, "tab\t", 3);
	/* a key in a 4-byte heap object: the 16-byte read of the fast path goes past its end
	 * (inside the page; AddressSanitizer, which the unit tests run under, must not object) */
	heap = malloc(4);
	memcpy(heap, "abc", 4);
	jw_kint(&w, heap, 4);
	free(heap);
	jw_obj_end(&w);
	/* jw_end ends a batch left open: its output comes before the final newline */
	jw_batch(&w, 1);
	jw_int(&w, 42);
	jw_end(&w);
	fclose(f);
	CHECK_EQ_STR(buf,
		     "{\"q\\\"k\":1,\"a_key_that_is_longer_than_the_sixty_four_byte_buffer_of_the_"
		     "fast_path_x\":2,\"tab\\t\":3,\"abc\":4}42\n");
	free(buf);
}

/* The same calls into f, batched (jw_batch) or not: a document with strings longer than the
 * staging buffer, escapes, nesting and every value kind. */
static void write_doc(FILE *f, int pretty, int batch)
{
	static char big[3000];
	struct jw w;

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 97 == 0 ? '"' : (char)('a' + i % 26);
	jw_init(&w, f, pretty);
	if (batch)
		jw_batch(&w, 1);
	jw_obj(&w);
	jw_kstr(&w, "big", big);
	jw_kstr_opt(&w, "none", "");
	jw_key(&w, "arr");
	jw_arr(&w);
	for (int i = 0; i < 300; i++) {
		jw_obj(&w);
		jw_kint(&w, "i", i - 150);
		jw_kuint(&w, "u", (uint64_t)i << 40);
		jw_kdouble(&w, "d", i / 7.0);
		jw_kbool(&w, "b", i & 1);
		jw_knull(&w, "n");
		jw_kint_opt(&w, "o", i % 3 - 1);
		jw_kstr(&w, "s", "tab\there \xe2\x82\xac \xff");
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (batch)
		jw_batch(&w, 0);
	/* after a batch, the caller writes to the stream itself: it lands after it */
	fputs("|tail", f);
	jw_end(&w);
}

/* The document as written to a temporary file under the given buffering (caller frees). */
static char *doc(int pretty, int batch, int mode)
{
	FILE *f = tmpfile();
	char *buf;
	long len;

	if (!f)
		return strdup("");
	setvbuf(f, NULL, mode, mode == _IONBF ? 0 : 4096);
	write_doc(f, pretty, batch);
	fflush(f);
	len = ftell(f);
	buf = malloc((size_t)len + 1);
	rewind(f);
	buf[fread(buf, 1, (size_t)len, f)] = 0;
	fclose(f);
	return buf;
}

/* Staging (per call, or per batch) and the copy into the stream's buffer change no byte, on a
 * fully buffered, line-buffered or unbuffered stream. */
static void test_staging(void)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		char *ref = doc(pretty, 0, _IONBF);

		CHECK(strstr(ref, "|tail\n") == ref + strlen(ref) - 6);
		CHECK(strstr(ref, pretty ? "\"i\": -150" : "\"i\":-150") != NULL);
		for (int batch = 0; batch < 2; batch++) {
			static const int modes[] = {_IOFBF, _IOLBF, _IONBF};

			for (int m = 0; m < 3; m++) {
				char *got = doc(pretty, batch, modes[m]);

				CHECK_EQ_STR(got, ref);
				free(got);
			}
		}
		free(ref);
	}
}

/* setcat joins and cuts as snprintf("%s%s...") does: cap - 1 bytes and a NUL. */
static void test_setcat(void)
{
	char a[8], b[8];

	for (size_t cap = 1; cap <= sizeof(a); cap++) {
		size_t n = setcat(a, cap, "https", "://", "h", ":8", "/p", NULL);

		const char *want = "https://h:8/p";

		memcpy(b, want, cap - 1); /* snprintf's cut: the first cap - 1 bytes */
		b[cap - 1] = 0;
		CHECK_EQ_STR(a, b);
		CHECK(n == strlen(b));
	}
	CHECK(setcat(a, sizeof(a), NULL) == 0 && a[0] == 0);
}

int main(void)
{
	test_setcat();
	test_staging();
	test_double_like_printf();
	test_keys();
	test_escape();
	test_roundtrip_random();
	test_writer_structure();
	test_parser();
	test_depth();
	UNIT_DONE();
}
