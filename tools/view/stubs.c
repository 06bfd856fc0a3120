/* stubs.c: temporary placeholders for commands not written yet. */
#include "view.h"

static int todo(struct view *v)
{
	fprintf(v->err, "agentprof-view %s: not implemented yet\n", v->cmd);
	return 2;
}

int cmd_flame(struct view *v)
{
	return todo(v);
}

int cmd_waterfall(struct view *v)
{
	return todo(v);
}

int cmd_tokens(struct view *v)
{
	return todo(v);
}



int cmd_diff(struct view *v)
{
	return todo(v);
}
