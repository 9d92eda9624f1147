/* ui_check_print.c - the text form of a `forktop check` report.  Every
 * string in the report went through ui_sanitize when it was built
 * (ui_check_str), so nothing here can drive the terminal. */
#include "ui_check.h"

static const char *ui_s(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static double ui_f(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static long long ui_i(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

/* Print the report: the command's own outcome, then each kind of leak. */
void ui_check_print(json_t *r, FILE *f) {
  size_t i;
  json_t *v, *a;
  fprintf(f, "forktop check:");
  json_array_foreach(json_object_get(r, "command"), i, v) fprintf(f, " %s", json_string_value(v));
  if (json_object_get(r, "signal"))
    fprintf(f, " was killed by %s", ui_s(r, "signal"));
  else
    fprintf(f, " exited with code %lld", ui_i(r, "exit_code"));
  fprintf(f, " after %.2f s\n", ui_f(r, "runtime"));
  if ((a = json_object_get(r, "leaked_processes")) && json_array_size(a)) {
    fprintf(f, "processes still running %.1f s after it exited:\n", ui_f(r, "grace"));
    json_array_foreach(a, i, v)
        fprintf(f, "  pid %lld  %s  (age %.1f s)%s\n      parents: %s\n", ui_i(v, "pid"),
                ui_s(v, "cmdline"), ui_f(v, "age"),
                json_is_true(json_object_get(v, "orphan")) ? "  orphan, reparented to forktop" : "",
                ui_s(v, "parents"));
  }
  if ((a = json_object_get(r, "zombies")) && json_array_size(a)) {
    fprintf(f, "zombies (children their parent did not reap):\n");
    json_array_foreach(a, i, v)
        fprintf(f, "  pid %lld (%s), child of %lld (%s): unreaped for %.2f s, %s\n", ui_i(v, "pid"),
                ui_s(v, "comm"), ui_i(v, "parent_pid"), ui_s(v, "parent"), ui_f(v, "unreaped_for"),
                ui_s(v, "fate"));
  }
  if ((a = json_object_get(r, "shm")) && json_array_size(a)) {
    fprintf(f, "POSIX shared memory left behind:\n");
    json_array_foreach(a, i, v)
        fprintf(f, "  %s (%lld bytes), %s: pid %lld (%s)\n", ui_s(v, "path"), ui_i(v, "bytes"),
                ui_s(v, "evidence"), ui_i(v, "pid"), ui_s(v, "comm"));
  }
  if ((a = json_object_get(r, "sysv_ipc")) && json_array_size(a)) {
    fprintf(f, "SysV IPC objects left behind:\n");
    json_array_foreach(a, i, v) fprintf(f, "  %s, %s: pid %lld (%s)\n", ui_s(v, "object"),
                                        ui_s(v, "evidence"), ui_i(v, "pid"), ui_s(v, "comm"));
  }
  if ((a = json_object_get(r, "not_attributed")) && json_array_size(a)) {
    fprintf(f, "new during the check but not attributed to it (not counted):\n");
    json_array_foreach(a, i, v) fprintf(f, "  %s: %s\n", ui_s(v, "object"), ui_s(v, "evidence"));
  }
  if ((a = json_object_get(r, "killed")) && json_array_size(a)) {
    fprintf(f, "ended:\n");
    json_array_foreach(a, i, v)
        fprintf(f, "  pid %lld with %s\n", ui_i(v, "pid"), ui_s(v, "signal"));
  }
  long long leaks = ui_i(r, "leaks");
  if (leaks)
    fprintf(f, "result: %lld leak%s (exit status 3)\n", leaks, leaks == 1 ? "" : "s");
  else
    fprintf(f, "result: clean\n");
}
