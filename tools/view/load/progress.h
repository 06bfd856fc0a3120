/* progress.h: a one-line progress report on stderr for work that takes over a second on a tty. */
#ifndef AGENTPROF_VIEW_PROGRESS_H
#define AGENTPROF_VIEW_PROGRESS_H

/* enabled: stderr is a terminal and --quiet was not given (main.c decides). */
void progress_init(int enabled);
/* Replace the progress line (printf format); shown once the command has run for a second,
 * at most ten times a second. Does nothing when disabled. */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Erase the progress line, if one is shown (before other stderr output, and at exit). */
void progress_clear(void);

#endif
