/* page.c: fills the report page's markers with its stylesheet, data and script. */
#include <string.h>

#include "page.h"

/* JSON inside <script type="application/json">: '<' as \u003c, so "</script>" cannot occur. */
static void put_json(FILE *out, const char *s, size_t n)
{
	size_t a = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '<')
			continue;
		fwrite(s + a, 1, i - a, out);
		fputs("\\u003c", out);
		a = i + 1;
	}
	fwrite(s + a, 1, n - a, out);
}

int page_write(FILE *out, const char *json, size_t n)
{
	static const char *const marks[] = {"<!-- agentprof:style -->", "<!-- agentprof:data -->",
					    "<!-- agentprof:script -->"};
	const char *p = ap_page_report_html, *end = p + ap_page_report_html_len;

	for (size_t m = 0; m < 3; m++) {
		const char *at = strstr(p, marks[m]);

		if (!at || at >= end)
			return -1;
		fwrite(p, 1, (size_t)(at - p), out);
		if (m == 0) {
			fputs("<style>\n", out);
			fwrite(ap_page_report_css, 1, ap_page_report_css_len, out);
			fputs("</style>", out);
		} else if (m == 1) {
			fputs("<script type=\"application/json\" id=\"agentprof-data\">", out);
			put_json(out, json, n);
			fputs("</script>", out);
		} else {
			fputs("<script>\n", out);
			fwrite(ap_page_report_js, 1, ap_page_report_js_len, out);
			fputs("</script>", out);
		}
		p = at + strlen(marks[m]);
	}
	fwrite(p, 1, (size_t)(end - p), out);
	return 0;
}
