/* jsonp.h: a small, strict, bounded JSON parser (for price files); builds a flat DOM. */
#ifndef AGENTPROF_VIEW_JSONP_H
#define AGENTPROF_VIEW_JSONP_H

#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	uint8_t type;
	uint32_t n;    /* J_ARR/J_OBJ: children; J_STR: byte length */
	uint32_t kids; /* J_ARR/J_OBJ: index of the first child in doc->kids */
	uint32_t str;  /* J_STR: offset in doc->chars (NUL-terminated) */
	double num;
};

struct jdoc {
	struct jnode *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *kids; /* node indexes; children of one node are contiguous */
	uint32_t *keys; /* parallel to kids: key offset in chars (objects), 0 for arrays */
	size_t n_kids, cap_kids;
	char *chars;
	size_t n_chars, cap_chars;
};

#define JSON_MAX_DEPTH 256

/* Parse buf[0..n). Returns the root node index (>= 0) or -1 with "line L col C: why" in msg. */
int jdoc_parse(struct jdoc *d, const char *buf, size_t n, char *msg, size_t msglen);
void jdoc_free(struct jdoc *d);

/* Member of an object by key, NULL if absent or node is not an object. */
const struct jnode *j_get(const struct jdoc *d, const struct jnode *obj, const char *key);
/* i-th child of an array or object; for objects *key gets the member name. */
const struct jnode *j_child(const struct jdoc *d, const struct jnode *n, uint32_t i,
			    const char **key);
static inline const char *j_str(const struct jdoc *d, const struct jnode *n)
{
	return n && n->type == J_STR ? d->chars + n->str : NULL;
}

#endif
