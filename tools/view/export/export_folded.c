/* export_folded.c: "export --format folded": Brendan Gregg's folded stacks for flamegraph.pl,
 * inferno and speedscope; weights are integers (time in microseconds by default). */
#include "export.h"

int export_folded(struct view *v)
{
	struct symbolizer *sym;
	struct folded f;
	enum fweight wt;
	enum froots roots;

	if (fweight_parse(v, &wt) || froots_parse(v, &roots))
		return 2;
	sym = sym_open(&v->a.run, v->err);
	folded_build(v, sym, roots, &f);
	folded_print(v->out, &f, wt);
	folded_free(&f);
	sym_close(sym);
	return 0;
}
