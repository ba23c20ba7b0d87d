/* A scratch directory for tests that write files or run the CLI: one per test
 * binary, made on first use, named by m4t_scratch. Paths given by name are
 * relative to it. System headers and testlib.h only: tests/test_library*.c
 * include this and must not see src/. mkdtemp needs POSIX 2008 on top of C17,
 * which the Makefile's -D_GNU_SOURCE gives every test. */
#ifndef M4_SCRATCH_H
#define M4_SCRATCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static char m4t_scratch[64];

static inline void m4t_scratch_remove(void);

/* mkdtemp on template (ending in XXXXXX) the first time; later calls return
 * the same directory, so each case can call it. Without a directory nothing
 * after it means anything, so a failure ends the test binary. The directory
 * goes at exit, unless M4_TEST_KEEP is set (to look at a failing case). */
static inline const char *m4t_scratch_make(const char *template)
{
    /* A flag, not a look at the template: mkdtemp's random suffix may end in 'X'. */
    static int made;
    if (made)
        return m4t_scratch;
    if (snprintf(m4t_scratch, sizeof m4t_scratch, "%s", template) >= (int)sizeof m4t_scratch ||
        !mkdtemp(m4t_scratch)) {
        fprintf(stderr, "  cannot make a scratch directory from %s: %s\n", template,
                strerror(errno));
        exit(1);
    }
    made = 1;
    if (!getenv("M4_TEST_KEEP"))
        atexit(m4t_scratch_remove);
    return m4t_scratch;
}

static inline void m4t_scratch_remove(void)
{
    char command[sizeof m4t_scratch + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", m4t_scratch);
    if (system(command) != 0)
        fprintf(stderr, "  could not remove %s\n", m4t_scratch);
}

/* m4t_scratch/name. A ring of buffers, so that a call can take several paths
 * (a CHECK comparing two files) without copying them. */
static inline const char *m4t_path(const char *name)
{
    static char buffers[8][1024];
    static int next;
    char *p = buffers[next++ % 8];
    if (snprintf(p, sizeof buffers[0], "%s/%s", m4t_scratch, name) >= (int)sizeof buffers[0])
        fprintf(stderr, "  path %s/%s is too long\n", m4t_scratch, name);
    return p;
}

static inline int m4t_exists(const char *name) { return access(m4t_path(name), F_OK) == 0; }

/* A file that cannot be written shows up in the checks that read it. */
static inline void m4t_write_text(const char *name, const char *text)
{
    FILE *f = fopen(m4t_path(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Contents of a file in the scratch directory, "" when missing, cut at 1 MB.
 * Two buffers in turn, so that two files can be compared in one expression. */
static inline const char *m4t_read_text(const char *name)
{
    static char buffers[2][1 << 20];
    static int next;
    char *buffer = buffers[next++ % 2];
    FILE *f = fopen(m4t_path(name), "r");
    size_t n = f ? fread(buffer, 1, sizeof buffers[0] - 1, f) : 0;
    if (f)
        fclose(f);
    buffer[n] = '\0';
    return buffer;
}

/* A whole file at any path, malloc'd and NUL-terminated (the length counts
 * bytes, for files that may hold a NUL); NULL when it cannot be read. */
static inline char *m4t_slurp(const char *path, size_t *length)
{
    if (length)
        *length = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *data = n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    if (!data) {
        fclose(f);
        return NULL;
    }
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    data[got] = '\0';
    if (length)
        *length = got;
    return data;
}

/* Exit status of a shell command; -1 if it did not exit (killed by a signal). */
static inline int m4t_sh(const char *command)
{
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* "m4sim SUBCOMMAND ARGS" run inside the scratch directory, so that ARGS can
 * name files there, with stdout and stderr into out.txt and err.txt there;
 * its exit status. */
static inline int m4t_run_cli(const char *subcommand, const char *args)
{
    char command[8192];
    if (snprintf(command, sizeof command, "cd %s && '%s' %s %s >out.txt 2>err.txt", m4t_scratch,
                 m4t_cli(), subcommand, args) >= (int)sizeof command) {
        fprintf(stderr, "  command for m4sim %s %s is too long\n", subcommand, args);
        return -1;
    }
    return m4t_sh(command);
}

#endif
