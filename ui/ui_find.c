/* ui_find.c - which file a workload argument names, and `forktop list`.
 *
 * A workload runs commands (exec and shell steps), so what a bare name
 * runs must not depend on the directory forktop is started in: a name
 * ("tour", "queue") is only ever a shipped workload, never a file of that
 * name in the current directory; a path says so with a '/' or a ".ini"
 * suffix.  The shipped workloads are where this binary was installed;
 * the binary in its build tree (FT_BUILD_DIR) uses the source tree's, and
 * FORKTOP_WORKLOADS, when set, comes before either. */
#include "ui.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *ui_workload_dirs[3];

/* Is this program the one in its build tree (not an installed copy)? */
static bool ui_in_build_tree(void) {
  char exe[PATH_MAX], build[PATH_MAX];
  if (!realpath("/proc/self/exe", exe) || !realpath(FT_BUILD_DIR, build))
    return false;
  char *slash = strrchr(exe, '/');
  if (slash)
    *slash = '\0';
  return strcmp(exe, build) == 0;
}

/* The directories of shipped workloads, in the order they are searched. */
static void ui_dirs_init(void) {
  size_t n = 0;
  const char *env = getenv("FORKTOP_WORKLOADS");
  if (env && *env)
    ui_workload_dirs[n++] = env;
  ui_workload_dirs[n++] = ui_in_build_tree() ? FT_SOURCE_WORKLOAD_DIR : FT_WORKLOAD_DIR;
  ui_workload_dirs[n] = NULL;
}

static bool ui_has_ini_suffix(const char *s) {
  size_t l = strlen(s);
  return l > 4 && strcmp(s + l - 4, ".ini") == 0;
}

/* A path (it has a '/' or ends in ".ini") as it is, or the shipped
 * workload of that name; NULL when there is none. */
char *ui_find_workload(const char *arg) {
  if (strchr(arg, '/') || ui_has_ini_suffix(arg))
    return strdup(arg);
  if (!*arg)
    return NULL;
  ui_dirs_init();
  for (size_t i = 0; ui_workload_dirs[i]; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s.ini", ui_workload_dirs[i], arg) >= (int)sizeof path)
      continue;
    if (access(path, R_OK) == 0)
      return strdup(path);
  }
  return NULL;
}

static int ui_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line of the list: the name and description, or why the file does
 * not parse; all of it from a file, so all of it through the sanitizer. */
static void ui_list_one(FILE *out, const char *dir, const char *file) {
  char path[PATH_MAX];
  ft_plan *plan;
  ft_buf err = {0}, a = {0}, b = {0};
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (ft_plan_load(path, NULL, 0, &plan, &err) == 0) {
    fprintf(out, "%-14s %s\n", ui_safe_cstr(&a, plan->name), ui_safe_cstr(&b, plan->description));
    ft_plan_free(plan);
  } else {
    ui_sanitize(err.data ? err.data : "", err.len, &b);
    fprintf(out, "%-14s (does not parse: %.*s)\n", ui_safe_cstr(&a, file), (int)b.len,
            b.data ? b.data : "");
  }
  ft_buf_free(&err);
  ft_buf_free(&a);
  ft_buf_free(&b);
}

/* The .ini files of dir, sorted (NULL-terminated; NULL when it cannot be read). */
static char **ui_ini_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!ui_has_ini_suffix(e->d_name))
      continue;
    if (n + 1 >= cap) {
      char **nn = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof *nn);
      if (!nn)
        break;
      names = nn;
    }
    if ((names[n] = strdup(e->d_name)))
      n++;
  }
  closedir(d);
  if (!names && !(names = calloc(1, sizeof *names)))
    return NULL;
  names[n] = NULL;
  if (n)
    qsort(names, n, sizeof *names, ui_cmp);
  return names;
}

/* The shipped workloads' names: the first directory's .ini files. */
char **ui_workload_names(void) {
  ui_dirs_init();
  for (size_t i = 0; ui_workload_dirs[i]; i++) {
    char **names = ui_ini_files(ui_workload_dirs[i]);
    if (!names)
      continue;
    for (size_t k = 0; names[k]; k++)
      names[k][strlen(names[k]) - 4] = '\0';
    return names;
  }
  return NULL;
}

/* Print "name  description" for every shipped workload. */
int ui_list_workloads(FILE *out) {
  ui_dirs_init();
  for (size_t i = 0; ui_workload_dirs[i]; i++) {
    char **names = ui_ini_files(ui_workload_dirs[i]);
    if (!names)
      continue;
    for (size_t k = 0; names[k]; k++) {
      ui_list_one(out, ui_workload_dirs[i], names[k]);
      free(names[k]);
    }
    free(names);
    return 0; /* the first directory that exists is the one */
  }
  fprintf(stderr, "forktop: no workload directory found (set FORKTOP_WORKLOADS)\n");
  return 1;
}
