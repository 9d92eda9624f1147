/* fork.c - the seed's os.fork() demo: a child reports its pid and its
 * parent's, the parent reports its own and the child's.
 *
 * With forktop a program does not call fork() itself: a Process runs a
 * function in a forked child, under the loop, which reaps it and reports
 * its exit (a raw fork() works too, but while a loop exists the loop reaps
 * every child of the process, so a waitpid() of your own may find it gone).
 *
 * Build: cc fork.c $(pkg-config --cflags --libs forktop) -o fork
 * Output (pids vary; the test writes them as N):
 *   parent: pid=N
 *   child: pid=N ppid=N
 *   child: my parent is the parent: yes
 *   parent: child pid=N exited with 0
 */
#include <forktop/forktop.h>

#include <stdio.h>
#include <unistd.h>

/* Runs in the child; its return value is the child's exit status. */
static int child_main(void *arg) {
  pid_t parent = *(const pid_t *)arg; /* the child's copy of the parent's memory */
  printf("child: pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
  printf("child: my parent is the parent: %s\n", getppid() == parent ? "yes" : "no");
  return getppid() == parent ? 0 : 1;
}

int main(void) {
  ft_loop *loop = NULL;
  ft_process *child = NULL;
  int rc, code = -1;
  pid_t me = getpid();

  if ((rc = ft_loop_new(&loop)) < 0)
    goto fail;
  printf("parent: pid=%d\n", (int)me);
  /* The child's stdout is ours (by default it would be captured and
   * reported as FT_EV_OUTPUT events instead). */
  ft_process_opts opts = {
      .name = "child", .target = child_main, .arg = &me, .out = {.mode = FT_STDIO_INHERIT}};
  if ((rc = ft_process_new(loop, &opts, &child)) < 0 || (rc = ft_process_start(child)) < 0 ||
      (rc = ft_process_join(child, -1)) < 0 || (rc = ft_process_exitcode(child, &code)) < 0)
    goto fail;
  printf("parent: child pid=%d exited with %d\n", (int)ft_process_pid(child), code);
  ft_process_free(child);
  ft_loop_free(loop);
  return code == 0 ? 0 : 1;

fail:
  fprintf(stderr, "fork: %s\n", ft_strerror(rc));
  ft_process_free(child);
  ft_loop_free(loop);
  return 1;
}
