/* ft_guard_proc.c - what the guardian reads of a process in /proc: its
 * environment's tag, its cgroup, its credentials; and its own environment
 * made untagged.  Private to ft_guard.c (ft_guard_int.h). */
#include "ft_guard_int.h"
#include "ft_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_guard.h"

/* Whether NUL-separated env[0..n) holds the entry tag exactly. */
static bool ft__env_has(const char *env, size_t n, const char *tag) {
  size_t tl = strlen(tag);
  for (size_t i = 0; i < n;) {
    const char *e = memchr(env + i, '\0', n - i);
    size_t len = e ? (size_t)(e - (env + i)) : n - i;
    if (len == tl && memcmp(env + i, tag, tl) == 0)
      return true;
    i += len + 1;
  }
  return false;
}

/* Whether process pid was executed with the tag in its environment (a
 * zombie's or an exiting process's environment reads empty). */
bool ft__proc_tagged(pid_t pid, const char *tag, char **buf, size_t *cap) {
  size_t len;
  ft__read_proc_grow(pid, "environ", buf, cap, 64u << 20, &len);
  return ft__env_has(*buf, len, tag);
}

/* Whether process pid is in the run's cgroup or one below it: its
 * "0::PATH" line in /proc/PID/cgroup holds cg_name as a whole component. */
bool ft__proc_in_cg(pid_t pid, const char *cg_name) {
  char path[64], line[PATH_MAX + 16];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  FILE *f = fopen(path, "re");
  size_t nl = strlen(cg_name);
  bool in = false;
  while (f && !in && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::/", 4) != 0)
      continue;
    for (const char *c = strstr(line, cg_name); c && !in; c = strstr(c + 1, cg_name))
      in = c[-1] == '/' && (c[nl] == '/' || c[nl] == '\n' || c[nl] == '\0');
  }
  if (f)
    fclose(f);
  return in;
}

/* Whether the uid and gid lines of pid's status are ours and its
 * permitted capabilities no more than ours: the kernel clears a parent
 * death signal when the credentials change (a set-user-ID program, one
 * with file capabilities). */
bool ft__same_creds(pid_t pid) {
  char want[3][160] = {{0}}, line[160], path[64];
  static const char *const keys[] = {"Uid:", "Gid:", "CapPrm:"};
  uint64_t mine = 0, theirs = 0;
  bool same = true;
  for (int who = 0; who < 2; who++) {
    snprintf(path, sizeof path, who ? "/proc/%d/status" : "/proc/self/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
      return false;
    while (fgets(line, sizeof line, f))
      for (int k = 0; k < 3; k++) {
        if (strncmp(line, keys[k], strlen(keys[k])) != 0)
          continue;
        if (k == 2)
          *(who ? &theirs : &mine) = strtoull(line + strlen(keys[k]), NULL, 16);
        else if (!who)
          snprintf(want[k], sizeof want[k], "%s", line);
        else
          same = same && strcmp(want[k], line) == 0;
      }
    fclose(f);
  }
  return same && !(theirs & ~mine);
}

/* Take the tags out of the guardian's own environment as /proc shows it
 * (the bytes between env_start and env_end, fields 50 and 51 of
 * /proc/self/stat, which our memory holds: the guardian forked, never
 * exec'd).  A forktop run inside another forktop's run was executed with
 * the outer tag, which its guardian inherits: without a cgroup, the outer
 * guardian's sweep took the inner guardian for one of the outer run's
 * processes and killed it, and nothing then ended the inner run, whose
 * processes carry the inner tag only.  Each FORKTOP_GUARD= entry becomes
 * FORKTOP_GUARD.<tag>, which no sweep matches. */
void ft__guard_untag_self(void) {
  char stat[1024], *p;
  size_t n;
  ft__read_proc_file(0, "stat", stat, sizeof stat, &n);
  if (n == 0)
    return;
  if (!(p = strrchr(stat, ')')))
    return;
  p++;
  for (int field = 3; field < 50; field++) { /* past field: its space, then it */
    if (*p++ != ' ')
      return;
    p += strcspn(p, " ");
  }
  char *end;
  uintptr_t at = (uintptr_t)strtoull(p, &end, 10), to = (uintptr_t)strtoull(end, NULL, 10);
  char *e = (char *)at, *env_end = (char *)to;
  size_t tl = strlen(FT_GUARD_ENV);
  /* Only when our tag is where the kernel says the area is: under an
   * emulator (valgrind) the area is the host's, not this program's. */
  const char *mine = getenv(FT_GUARD_ENV);
  if (!mine || (uintptr_t)mine < at + tl + 1 || (uintptr_t)mine >= to)
    return;
  for (; at && e < env_end; e += strnlen(e, (size_t)(env_end - e)) + 1)
    if ((size_t)(env_end - e) > tl && strncmp(e, FT_GUARD_ENV, tl) == 0 && e[tl] == '=')
      e[tl] = '.';
}
