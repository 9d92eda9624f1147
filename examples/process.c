/* process.c - the seed's Process example: a Process printing 1 2 3.
 *
 * The child's stdout is captured (the default): each line it prints comes
 * back to the parent as an FT_EV_OUTPUT event, delivered to the hooks on
 * the loop while the parent waits in ft_process_join.  The hook here
 * prints the lines; forktop's dashboard shows them in its output pane.
 *
 * Build: cc process.c $(pkg-config --cflags --libs forktop) -o process
 * Output:
 *   [counter] 1
 *   [counter] 2
 *   [counter] 3
 *   counter exited with 0
 */
#include <forktop/forktop.h>

#include <stdio.h>
#include <unistd.h>

/* Runs in the child. */
static int count(void *arg) {
  (void)arg;
  for (int i = 1; i <= 3; i++) {
    printf("%d\n", i);
    fflush(stdout); /* a line at a time, as it happens */
    usleep(50 * 1000);
  }
  return 0;
}

/* Every event of the loop comes here; ev and what it points to are valid
 * only during the call (output lines are not NUL-terminated). */
static void on_event(const ft_event *ev, void *ud) {
  (void)ud;
  if (ev->kind == FT_EV_OUTPUT && ev->u.output.stream == 1)
    printf("[%s] %.*s\n", ev->name, (int)ev->u.output.len, ev->u.output.line);
}

int main(void) {
  ft_loop *loop = NULL;
  ft_process *p = NULL;
  int rc, code = -1;

  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_loop_add_hook(loop, on_event, NULL)) < 0)
    goto fail;
  ft_process_opts opts = {.name = "counter", .target = count};
  if ((rc = ft_process_new(loop, &opts, &p)) < 0 || (rc = ft_process_start(p)) < 0 ||
      (rc = ft_process_join(p, 10.0)) < 0 || (rc = ft_process_exitcode(p, &code)) < 0)
    goto fail;
  printf("%s exited with %d\n", ft_process_name(p), code);
  ft_process_free(p);
  ft_loop_free(loop);
  return code;

fail:
  fprintf(stderr, "process: %s\n", ft_strerror(rc));
  ft_process_free(p);
  ft_loop_free(loop);
  return 1;
}
