/* jsonp.c: recursive-descent JSON parser with depth and size limits and precise errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonp.h"
#include "util.h"

struct jp {
	struct jdoc *d;
	const char *p, *start, *end;
	uint32_t *stack; /* pending children (node, key) pairs of open containers */
	size_t n_stack, cap_stack;
	char *msg;
	size_t msglen;
	int failed;
};

static int fail(struct jp *j, const char *why)
{
	int line = 1, col = 1;

	if (j->failed)
		return -1;
	for (const char *q = j->start; q < j->p && q < j->end; q++) {
		if (*q == '\n')
			line++, col = 1;
		else
			col++;
	}
	snprintf(j->msg, j->msglen, "invalid JSON at line %d col %d: %s", line, col, why);
	j->failed = 1;
	return -1;
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int32_t new_node(struct jp *j, int type)
{
	struct jdoc *d = j->d;
	struct jnode *n;

	if (d->n_nodes >= INT32_MAX)
		return fail(j, "too many values");
	n = VEC_PUSH(d->nodes, d->n_nodes, d->cap_nodes);
	n->type = (uint8_t)type;
	return (int32_t)(d->n_nodes - 1);
}

static void put_char(struct jdoc *d, char c)
{
	*VEC_PUSH(d->chars, d->n_chars, d->cap_chars) = c;
}

static void put_utf8(struct jdoc *d, uint32_t cp)
{
	if (cp < 0x80) {
		put_char(d, (char)cp);
	} else if (cp < 0x800) {
		put_char(d, (char)(0xC0 | cp >> 6));
		put_char(d, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		put_char(d, (char)(0xE0 | cp >> 12));
		put_char(d, (char)(0x80 | (cp >> 6 & 0x3F)));
		put_char(d, (char)(0x80 | (cp & 0x3F)));
	} else {
		put_char(d, (char)(0xF0 | cp >> 18));
		put_char(d, (char)(0x80 | (cp >> 12 & 0x3F)));
		put_char(d, (char)(0x80 | (cp >> 6 & 0x3F)));
		put_char(d, (char)(0x80 | (cp & 0x3F)));
	}
}

static int hex4(struct jp *j, uint32_t *out)
{
	uint32_t v = 0;

	if (j->end - j->p < 4)
		return fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *j->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(j, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static int escape(struct jp *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	uint32_t cp, lo;

	if (j->p >= j->end)
		return fail(j, "unterminated string");
	k = strchr(from, *j->p);
	if (*j->p && k) {
		put_char(j->d, to[k - from]);
		j->p++;
		return 0;
	}
	if (*j->p++ != 'u')
		return fail(j, "bad escape");
	if (hex4(j, &cp) < 0)
		return -1;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
			return fail(j, "unpaired surrogate");
		j->p += 2;
		if (hex4(j, &lo) < 0)
			return -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(j, "bad low surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
		return fail(j, "unpaired surrogate");
	}
	put_utf8(j->d, cp);
	return 0;
}

/* Parse a string at j->p (on the quote) into d->chars; returns its offset or -1. */
static int64_t string(struct jp *j, uint32_t *len)
{
	size_t off = j->d->n_chars;

	j->p++;
	for (;;) {
		unsigned char c;

		if (j->p >= j->end)
			return fail(j, "unterminated string");
		c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j, "control character in string");
		if (c == '\\') {
			j->p++;
			if (escape(j) < 0)
				return -1;
			continue;
		}
		put_char(j->d, (char)c);
		j->p++;
	}
	j->p++;
	if (j->d->n_chars - off > UINT32_MAX / 2)
		return fail(j, "string too long");
	*len = (uint32_t)(j->d->n_chars - off);
	put_char(j->d, 0);
	return (int64_t)off;
}

static int number(struct jp *j, double *out)
{
	const char *s = j->p;
	char buf[64];

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return fail(j, "bad number");
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail(j, "bad number");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p - s >= (long)sizeof(buf))
		return fail(j, "number too long");
	memcpy(buf, s, (size_t)(j->p - s));
	buf[j->p - s] = 0;
	*out = strtod(buf, NULL);
	return 0;
}

static int32_t value(struct jp *j, int depth);

static int word(struct jp *j, const char *w, int type)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return fail(j, "unexpected character");
	j->p += n;
	return new_node(j, type);
}

static void push_pair(struct jp *j, uint32_t node, uint32_t key)
{
	*VEC_PUSH(j->stack, j->n_stack, j->cap_stack) = node;
	*VEC_PUSH(j->stack, j->n_stack, j->cap_stack) = key;
}

/* Move the children collected since mark from the stack into the doc. */
static void close_container(struct jp *j, int32_t node, size_t mark)
{
	struct jdoc *d = j->d;
	size_t cnt = (j->n_stack - mark) / 2;

	if (d->n_kids + cnt > d->cap_kids) {
		size_t nc =
			d->cap_kids * 2 > d->n_kids + cnt ? d->cap_kids * 2 : d->n_kids + cnt + 64;

		d->kids = xrealloc(d->kids, nc * sizeof(*d->kids));
		d->keys = xrealloc(d->keys, nc * sizeof(*d->keys));
		d->cap_kids = nc;
	}
	d->nodes[node].kids = (uint32_t)d->n_kids;
	d->nodes[node].n = (uint32_t)cnt;
	for (size_t i = 0; i < cnt; i++) {
		d->kids[d->n_kids] = j->stack[mark + 2 * i];
		d->keys[d->n_kids++] = j->stack[mark + 2 * i + 1];
	}
	j->n_stack = mark;
}

static int32_t container(struct jp *j, int depth, int obj)
{
	size_t mark = j->n_stack;
	int32_t node = new_node(j, obj ? J_OBJ : J_ARR);
	char close = obj ? '}' : ']';

	if (node < 0)
		return -1;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		close_container(j, node, mark);
		return node;
	}
	for (;;) {
		uint32_t key = 0, klen;
		int32_t v;

		ws(j);
		if (obj) {
			int64_t off;

			if (j->p >= j->end || *j->p != '"')
				return fail(j, "expected a member name");
			if ((off = string(j, &klen)) < 0)
				return -1;
			key = (uint32_t)off;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fail(j, "expected ':'");
			j->p++;
		}
		if ((v = value(j, depth + 1)) < 0)
			return -1;
		push_pair(j, (uint32_t)v, key);
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		return fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	close_container(j, node, mark);
	return node;
}

static int32_t value(struct jp *j, int depth)
{
	int32_t n;

	if (depth > JSON_MAX_DEPTH)
		return fail(j, "nested too deeply");
	ws(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end of input");
	switch (*j->p) {
	case '{':
		return container(j, depth, 1);
	case '[':
		return container(j, depth, 0);
	case '"': {
		uint32_t len;
		int64_t off = string(j, &len);

		if (off < 0 || (n = new_node(j, J_STR)) < 0)
			return -1;
		j->d->nodes[n].str = (uint32_t)off;
		j->d->nodes[n].n = len;
		return n;
	}
	case 't':
		return word(j, "true", J_TRUE);
	case 'f':
		return word(j, "false", J_FALSE);
	case 'n':
		return word(j, "null", J_NULL);
	default: {
		double x;

		if (number(j, &x) < 0 || (n = new_node(j, J_NUM)) < 0)
			return -1;
		j->d->nodes[n].num = x;
		return n;
	}
	}
}

int jdoc_parse(struct jdoc *d, const char *buf, size_t n, char *msg, size_t msglen)
{
	struct jp j = {
		.d = d, .p = buf, .start = buf, .end = buf + n, .msg = msg, .msglen = msglen};
	int32_t root;

	memset(d, 0, sizeof(*d));
	put_char(d, 0); /* offset 0 = "" */
	if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		j.p += 3; /* UTF-8 byte order mark */
	root = value(&j, 0);
	if (root >= 0) {
		ws(&j);
		if (j.p != j.end)
			root = fail(&j, "trailing characters after the value");
	}
	free(j.stack);
	return root;
}

void jdoc_free(struct jdoc *d)
{
	free(d->nodes);
	free(d->kids);
	free(d->keys);
	free(d->chars);
	memset(d, 0, sizeof(*d));
}

const struct jnode *j_child(const struct jdoc *d, const struct jnode *n, uint32_t i,
			    const char **key)
{
	uint32_t k;

	if (!n || (n->type != J_ARR && n->type != J_OBJ) || i >= n->n)
		return NULL;
	k = n->kids + i;
	if (key)
		*key = n->type == J_OBJ ? d->chars + d->keys[k] : NULL;
	return &d->nodes[d->kids[k]];
}

const struct jnode *j_get(const struct jdoc *d, const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (!strcmp(d->chars + d->keys[obj->kids + i], key))
			return &d->nodes[d->kids[obj->kids + i]];
	return NULL;
}
