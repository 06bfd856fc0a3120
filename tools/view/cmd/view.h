/* view.h: the agentprof-view commands and their option parser (the context is in context.h). */
#ifndef AGENTPROF_VIEW_VIEW_H
#define AGENTPROF_VIEW_VIEW_H

#include "context.h"

/* Commands (cmd_*.c). Each returns the exit status. */
int cmd_summary(struct view *v);
int cmd_export(struct view *v);
int cmd_flame(struct view *v);
int cmd_waterfall(struct view *v);
int cmd_tokens(struct view *v);
int cmd_bottlenecks(struct view *v);
int cmd_critical_path(struct view *v);
int cmd_diff(struct view *v);
int cmd_flamegraph(struct view *v); /* cmd_flamegraph.c */
int cmd_html(struct view *v);	    /* cmd_html.c */

/* Option parsing (opts.c): returns 0, or 2 after printing a message naming the problem. */
int opts_parse(struct view *v, unsigned allowed, int argc, char **argv);
void opts_help(FILE *f, unsigned allowed);
void opts_free(struct opts *o);
/* Fill v->color from --color, NO_COLOR, TERM and whether v->out is a terminal. */
void color_setup(struct view *v);

#endif
