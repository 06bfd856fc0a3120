/* hook_spawn.c: posix_spawn(p) in both glibc versions, system, popen/pclose as spawn events. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redact.h"
#include "rt.h"
#include "rt_pystack.h"
#include "rt_stack.h"

/*
 * glibc exports posix_spawn and posix_spawnp twice: GLIBC_2.15 (the default; exec failures are
 * reported to the caller) and GLIBC_2.2.5 (the old behaviour, still bound by old binaries).
 * Each of our four entry points is bound to one version with .symver (preload/hooks/exports.map
 * defines the version nodes) and forwards to the same version, found with dlvsym by the resolver
 * table (rt_syms.h) in our constructor or, before it, on first use.
 *
 * glibc's system() and popen() spawn through internal calls that no wrapper sees, so each is
 * recorded here as one spawn event: "sh -c CMD" with the command redacted word by word, the
 * time the caller waited, and the exit status.
 *
 * Nothing here allocates. The static-binary check opens the file and reads its ELF headers
 * with pread() into stack buffers.
 */

enum { SP_SPAWN = 0, SP_SPAWNP = 1 };
enum { V_2_15 = 0, V_2_2_5 = 1 };

/* The real posix_spawn(p) of one version, from the resolver table (resolved on first use when
 * a call comes before our constructor). */
static ap_spawn_fn spawn_real(int which, int ver)
{
	if (which == SP_SPAWN)
		return ver == V_2_15 ? AP_REAL(posix_spawn_2_15) : AP_REAL(posix_spawn_2_2_5);
	return ver == V_2_15 ? AP_REAL(posix_spawnp_2_15) : AP_REAL(posix_spawnp_2_2_5);
}

/* Recording is on and this is the process we initialised (not a vfork child). */
static int own_process(void)
{
	return ap_active() && ap_getpid_raw() == ap_rt.pid;
}

/* --- event records
 * --------------------------------------------------------------------------------- */

static void spawn_event(const char *path, char *const argv[], const char *shell_cmd, pid_t child,
			int status, int64_t t0, int64_t t1, int profiled)
{
	struct ap_record r;
	struct ap_proc_event *e = &r.u.proc_event;

	ap_record_init(&r, AP_REC_PROC_EVENT);
	e->kind = AP_PEV_SPAWN;
	e->tid = ap_gettid();
	e->time_ns = t0;
	e->end_ns = t1;
	e->child_pid = child;
	e->status = status;
	e->profiled = (uint8_t)profiled;
	e->span_id = ap_current_span();
	e->stack_id = ap_stack_capture();
	e->pystack_id = ap_pystack_capture();
	if (path)
		ap_strlcpy(e->path, path, sizeof(e->path));
	if (shell_cmd) {
		static const char sh_c[] = "sh\0-c";
		size_t room = sizeof(e->argv) - sizeof(sh_c);

		memcpy(e->argv, sh_c, sizeof(sh_c));
		ap_redact_shell(shell_cmd, e->argv + sizeof(sh_c), room);
		e->argc = 3;
	} else {
		ap_copy_argv(e, argv);
	}
	ap_record(&r);
}

static int exit_code(int st)
{
	if (st == -1)
		return AP_UNKNOWN;
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : AP_UNKNOWN;
}

/* --- posix_spawn / posix_spawnp
 * ----------------------------------------------------------------------- */

static int spawn_common(int which, int ver, pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
			char *const argv[], char *const envp[])
{
	ap_spawn_fn fn = spawn_real(which, ver);
	pid_t child = -1;
	int64_t t0;
	int rc, err, kind;

	if (AP_UNLIKELY(!fn))
		return ENOSYS; /* posix_spawn reports errors as its return value */
	if (AP_UNLIKELY(ap_unprofiled_child()) && ap_env_count(envp) < AP_ENV_COPY_MAX) {
		char *clean[ap_env_count(envp) + 1], ld[AP_ENV_LD_MAX];

		return fn(pid, file, fa, attr, argv, (char **)ap_env_for_child(envp, clean, ld));
	}
	if (!own_process())
		return fn(pid, file, fa, attr, argv, envp);
	t0 = ap_now();
	if (AP_UNLIKELY(!ap_rt.cfg.children) && ap_env_count(envp) < AP_ENV_COPY_MAX) {
		/* AGENTPROF_CHILDREN=0: the spawned program starts without our variables */
		char *clean[ap_env_count(envp) + 1], ld[AP_ENV_LD_MAX];

		rc = fn(pid ? pid : &child, file, fa, attr, argv,
			(char **)ap_env_for_child(envp, clean, ld));
	} else {
		rc = fn(pid ? pid : &child, file, fa, attr, argv, envp);
	}
	err = errno;
	if (rc == 0) {
		ap_tls.guard++;
		kind = ap_child_unprofilable(file, which == SP_SPAWNP);
		spawn_event(file, argv, NULL, pid ? *pid : child, AP_UNKNOWN, t0, AP_UNKNOWN,
			    ap_rt.cfg.children && !kind && ap_env_has_preload(envp));
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

AP_EXPORT int ap_posix_spawn_2_15(pid_t *pid, const char *path,
				  const posix_spawn_file_actions_t *fa,
				  const posix_spawnattr_t *attr, char *const argv[],
				  char *const envp[])
{
	return spawn_common(SP_SPAWN, V_2_15, pid, path, fa, attr, argv, envp);
}

AP_EXPORT int ap_posix_spawn_2_2_5(pid_t *pid, const char *path,
				   const posix_spawn_file_actions_t *fa,
				   const posix_spawnattr_t *attr, char *const argv[],
				   char *const envp[])
{
	return spawn_common(SP_SPAWN, V_2_2_5, pid, path, fa, attr, argv, envp);
}

AP_EXPORT int ap_posix_spawnp_2_15(pid_t *pid, const char *file,
				   const posix_spawn_file_actions_t *fa,
				   const posix_spawnattr_t *attr, char *const argv[],
				   char *const envp[])
{
	return spawn_common(SP_SPAWNP, V_2_15, pid, file, fa, attr, argv, envp);
}

AP_EXPORT int ap_posix_spawnp_2_2_5(pid_t *pid, const char *file,
				    const posix_spawn_file_actions_t *fa,
				    const posix_spawnattr_t *attr, char *const argv[],
				    char *const envp[])
{
	return spawn_common(SP_SPAWNP, V_2_2_5, pid, file, fa, attr, argv, envp);
}

__asm__(".symver ap_posix_spawn_2_15, posix_spawn@@GLIBC_2.15");
__asm__(".symver ap_posix_spawn_2_2_5, posix_spawn@GLIBC_2.2.5");
__asm__(".symver ap_posix_spawnp_2_15, posix_spawnp@@GLIBC_2.15");
__asm__(".symver ap_posix_spawnp_2_2_5, posix_spawnp@GLIBC_2.2.5");

/* --- system
 * ---------------------------------------------------------------------------------------------- */

static int shell_profiled(void)
{
	extern char **environ;

	return ap_rt.cfg.children && ap_env_has_preload(environ);
}

AP_EXPORT int system(const char *cmd)
{
	int64_t t0;
	int rc, err;

	if (AP_UNLIKELY(!AP_REAL(system))) {
		errno = ENOSYS;
		return -1;
	}
	if (!cmd || !own_process())
		return ap_real.system(cmd);
	t0 = ap_now();
	rc = ap_real.system(cmd);
	err = errno;
	ap_tls.guard++;
	spawn_event("/bin/sh", NULL, cmd, AP_UNKNOWN, exit_code(rc), t0, ap_now(),
		    shell_profiled() && !ap_child_unprofilable("/bin/sh", 0));
	ap_tls.guard--;
	errno = err;
	return rc;
}

/* --- popen / pclose
 * ----------------------------------------------------------------------------------------- */

#define POPEN_SLOTS 64
#define SLOT_BUSY   ((FILE *)1)

struct popen_slot {
	_Atomic(FILE *) f; /* NULL free, SLOT_BUSY being filled or emptied */
	int64_t t0;
	char cmd[768];
};
static struct popen_slot popen_tab[POPEN_SLOTS] AP_COLD_BSS;

AP_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	int64_t t0;
	FILE *f;
	int err;

	if (AP_UNLIKELY(!AP_REAL(popen))) {
		errno = ENOSYS;
		return NULL;
	}
	if (!cmd || !own_process())
		return ap_real.popen(cmd, mode);
	t0 = ap_now();
	f = ap_real.popen(cmd, mode);
	err = errno;
	if (f) {
		for (int i = 0; i < POPEN_SLOTS; i++) {
			struct popen_slot *s = &popen_tab[i];
			FILE *expect = NULL;

			if (!atomic_compare_exchange_strong(&s->f, &expect, SLOT_BUSY))
				continue;
			s->t0 = t0;
			ap_strlcpy(s->cmd, cmd, sizeof(s->cmd));
			atomic_store_explicit(&s->f, f, memory_order_release);
			break;
		}
	}
	errno = err;
	return f;
}

AP_EXPORT int pclose(FILE *f)
{
	char cmd[sizeof(popen_tab[0].cmd)];
	int64_t t0 = AP_UNKNOWN;
	int rc, err;

	if (AP_UNLIKELY(!AP_REAL(pclose))) {
		errno = ENOSYS;
		return -1;
	}
	if (!f || !own_process())
		return ap_real.pclose(f);
	for (int i = 0; i < POPEN_SLOTS; i++) {
		struct popen_slot *s = &popen_tab[i];
		FILE *expect = f;

		if (!atomic_compare_exchange_strong(&s->f, &expect, SLOT_BUSY))
			continue;
		t0 = s->t0;
		memcpy(cmd, s->cmd, sizeof(cmd));
		atomic_store_explicit(&s->f, NULL, memory_order_release);
		break;
	}
	rc = ap_real.pclose(f);
	err = errno;
	if (t0 != AP_UNKNOWN) {
		ap_tls.guard++;
		spawn_event("/bin/sh", NULL, cmd, AP_UNKNOWN, exit_code(rc), t0, ap_now(),
			    shell_profiled() && !ap_child_unprofilable("/bin/sh", 0));
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}
