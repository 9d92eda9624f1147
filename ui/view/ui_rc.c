/* ui_rc.c - the settings saved between runs, as htop saves htoprc:
 * $XDG_CONFIG_HOME/forktop/forktoprc (or ~/.config/forktop/forktoprc),
 * lines of key=value:
 *
 *   columns=PID PPID S CPU% RSS AGE PROCESS COMMAND TASK
 *   sort=CPU%
 *   sort_reverse=0
 *   tree=1
 *   full_command=1
 *   meters=1
 *
 * A line that makes no sense is skipped (a newer forktop may have written
 * it); the file is written whole to a temporary file and renamed, so a
 * crash never leaves half of it. */
#include "ui_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the settings live. */
int ui_rc_path(char *buf, size_t cap) {
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  int n;
  if (xdg && xdg[0] == '/')
    n = snprintf(buf, cap, "%s/forktop/forktoprc", xdg);
  else if (home && home[0])
    n = snprintf(buf, cap, "%s/.config/forktop/forktoprc", home);
  else
    return -ENOENT;
  return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static bool ui__bool(const char *s, bool *out) {
  if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true"))
    *out = true;
  else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false"))
    *out = false;
  else
    return false;
  return true;
}

static void ui__columns(ui_view *v, char *list) {
  ui_col cols[UI_C_COUNT];
  bool seen[UI_C_COUNT] = {false};
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
    int c = ui_col_by_name(t);
    if (c >= 0 && !seen[c]) {
      seen[c] = true;
      cols[n++] = (ui_col)c;
    }
  }
  if (!n)
    return;
  memcpy(v->cols, cols, (size_t)n * sizeof *cols);
  v->ncols = n;
}

/* Read the settings into the view. */
int ui_rc_load(ui_view *v, const char *path) {
  FILE *f = fopen(path, "re");
  if (!f)
    return errno == ENOENT ? 0 : -errno;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *eq = strchr(line, '=');
    if (line[0] == '#' || !eq)
      continue;
    *eq = '\0';
    const char *key = line;
    char *val = eq + 1;
    bool b;
    if (!strcmp(key, "columns")) {
      ui__columns(v, val);
    } else if (!strcmp(key, "sort")) {
      int c = ui_col_by_name(val);
      if (c >= 0)
        v->sort = (ui_sort)c;
    } else if (!strcmp(key, "sort_reverse") && ui__bool(val, &b)) {
      v->sort_rev = b;
    } else if (!strcmp(key, "tree") && ui__bool(val, &b)) {
      v->flat = !b;
    } else if (!strcmp(key, "full_command") && ui__bool(val, &b)) {
      v->full_cmd = b;
    } else if (!strcmp(key, "meters") && ui__bool(val, &b)) {
      v->meters_on = b;
    }
  }
  fclose(f);
  v->dirty = true;
  return 0;
}

/* Make the directories above path (like mkdir -p of its dirname). */
static int ui__mkdirs(const char *path) {
  char d[4096];
  snprintf(d, sizeof d, "%s", path);
  for (char *s = d + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(d, 0700) < 0 && errno != EEXIST)
      return -errno;
    *s = '/';
  }
  return 0;
}

/* Write the settings. */
int ui_rc_save(const ui_view *v, const char *path) {
  char tmp[4200];
  int rc = ui__mkdirs(path);
  if (rc < 0)
    return rc;
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  FILE *f = fopen(tmp, "we");
  if (!f)
    return -errno;
  fprintf(f, "# forktop's settings: F2 (setup), F5, F6, I and p change them\ncolumns=");
  for (int i = 0; i < v->ncols; i++)
    fprintf(f, "%s%s", i ? " " : "", v->cols[i] == UI_C_TASK ? "TASK" : ui_col_name(v->cols[i]));
  fprintf(f, "\nsort=%s\nsort_reverse=%d\ntree=%d\nfull_command=%d\nmeters=%d\n",
          ui_sort_name(v->sort), v->sort_rev, !v->flat, v->full_cmd, v->meters_on);
  if (fflush(f) != 0 || ferror(f)) {
    rc = errno ? -errno : -EIO;
    fclose(f);
    unlink(tmp);
    return rc;
  }
  if (fclose(f) != 0 || rename(tmp, path) < 0) {
    rc = -errno;
    unlink(tmp);
    return rc;
  }
  return 0;
}
