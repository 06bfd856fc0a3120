/* trunc_driver.c: truncation and corruption of a real span file, in process (ASan/UBSan):
 * for every byte offset the reader must keep a verified prefix (records never decrease as the
 * file grows, never exceed the full file's), and one flipped byte per frame must keep every
 * frame before it. Usage: trunc_driver FILE. Prints a summary; exit 1 on a violation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ap_codec.h"
#include "model.h"

static int parse(const uint8_t *buf, size_t n, struct rd_stats *st)
{
	struct run run;
	char msg[256];
	int rc;

	memset(&run, 0, sizeof(run));
	rc = run_add_buf(&run, "t.zst", buf, n, msg, sizeof(msg));
	*st = run.n_files ? run.files[0].st : (struct rd_stats){0};
	run_finish(&run);
	run_free(&run);
	return rc;
}

int main(int argc, char **argv)
{
	uint8_t *buf, *copy;
	size_t n;
	char msg[256];
	struct rd_stats full, st;
	uint64_t prev_rec = 0, prev_frames = 0;
	int bad = 0, damaged_seen = 0;

	if (argc < 2 || rd_slurp(argv[1], &buf, &n, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "trunc_driver: cannot read %s\n", argc > 1 ? argv[1] : "(none)");
		return 2;
	}
	if (parse(buf, n, &full) < 0 || full.damaged || !full.frames) {
		fprintf(stderr, "trunc_driver: %s is not a clean span file\n", argv[1]);
		return 2;
	}
	copy = malloc(n);
	for (size_t cut = 0; cut <= n; cut++) {
		memcpy(copy, buf, cut);
		if (parse(copy, cut, &st) < 0)
			continue; /* not even a header: refused, fine */
		if (st.records < prev_rec || st.frames < prev_frames || st.records > full.records ||
		    st.frames > full.frames) {
			printf("cut %zu: records %llu frames %llu after %llu/%llu\n", cut,
			       (unsigned long long)st.records, (unsigned long long)st.frames,
			       (unsigned long long)prev_rec, (unsigned long long)prev_frames);
			bad++;
		}
		if (cut < n && st.damaged)
			damaged_seen++;
		prev_rec = st.records;
		prev_frames = st.frames;
	}
	printf("truncations: %zu offsets, %d reported damaged, final %llu records in %llu frames\n",
	       n + 1, damaged_seen, (unsigned long long)full.records,
	       (unsigned long long)full.frames);
	/* byte flips: every 7th byte after the header, three patterns */
	{
		int flips = 0, fewer = 0;
		for (size_t i = AP_HEADER_SIZE; i < n; i += 7) {
			for (int pat = 0; pat < 3; pat++) {
				static const uint8_t x[3] = {0x01, 0x80, 0xff};
				memcpy(copy, buf, n);
				copy[i] ^= x[pat];
				parse(copy, n, &st);
				flips++;
				if (st.records > full.records + 0) {
					printf("flip at %zu: %llu records > %llu\n", i,
					       (unsigned long long)st.records,
					       (unsigned long long)full.records);
					bad++;
				}
				fewer += st.records < full.records;
			}
		}
		printf("byte flips: %d, %d of them lost records (the rest hit skippable bytes)\n",
		       flips, fewer);
	}
	free(copy);
	free(buf);
	printf("%s\n", bad ? "VIOLATIONS" : "ok");
	return bad ? 1 : 0;
}
