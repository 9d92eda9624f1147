/* subprocess.c - the seed's subprocess examples: call, Popen with
 * communicate, run with stdout to a file, run with stdout to a pipe, and
 * check_output, and how each reports a failure.
 *
 * A program that cannot be executed is an error returned to the caller
 * (-ENOENT), not an exit code 127; a non-zero exit is an exit code (call,
 * run) or FT_EFAILED (check_output).  Every ft_run_result is the caller's:
 * ft_run_result_free releases its buffers.
 *
 * Build: cc subprocess.c $(pkg-config --cflags --libs forktop) -o subprocess
 * Output:
 *   [echo] hello from call
 *   call: exit code 0
 *   call: exit code 3
 *   call: no-such-program: ENOENT
 *   communicate: HELLO FROM STDIN
 *   run to a file: 1 line in the file, exit code 0
 *   run to a pipe: "a pipe" (6 bytes), exit code 0
 *   check_output: "Linux"
 *   check_output: sh -c 'exit 5' failed: FT_EFAILED, exit code 5
 */
#include <forktop/forktop.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* call's output is captured into FT_EV_OUTPUT events; this hook prints it. */
static void on_event(const ft_event *ev, void *ud) {
  (void)ud;
  if (ev->kind == FT_EV_OUTPUT)
    printf("[%s] %.*s\n", ev->name, (int)ev->u.output.len, ev->u.output.line);
}

/* The bytes of b without one trailing newline, for printing. */
static int chomp(const ft_buf *b) {
  return (int)(b->len && b->data[b->len - 1] == '\n' ? b->len - 1 : b->len);
}

int main(void) {
  ft_loop *loop = NULL;
  ft_popen *p = NULL;
  ft_run_result res = {0};
  char path[] = "/tmp/forktop-example-XXXXXX";
  int rc, code, fd = -1;

  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_loop_add_hook(loop, on_event, NULL)) < 0)
    goto fail;

  /* subprocess.call: run, wait, give the exit code. */
  char *echo[] = {"echo", "hello from call", NULL};
  if ((rc = ft_subprocess_call(loop, echo, NULL, &code)) < 0)
    goto fail;
  printf("call: exit code %d\n", code);
  char *exit3[] = {"sh", "-c", "exit 3", NULL};
  if ((rc = ft_subprocess_call(loop, exit3, NULL, &code)) < 0)
    goto fail;
  printf("call: exit code %d\n", code);
  char *missing[] = {"no-such-program", NULL};
  rc = ft_subprocess_call(loop, missing, NULL, &code);
  printf("call: no-such-program: %s\n", ft_err_name(rc));

  /* Popen + communicate: feed stdin, collect stdout, wait. */
  char *upper[] = {"tr", "a-z", "A-Z", NULL};
  ft_run_opts po = {.in = {.mode = FT_STDIO_PIPE}, .out = {.mode = FT_STDIO_PIPE}};
  const char *text = "hello from stdin\n";
  if ((rc = ft_popen_new(loop, upper, &po, &p)) < 0 ||
      (rc = ft_popen_communicate(p, (ft_slice){text, strlen(text)}, 10.0, &res)) < 0)
    goto fail;
  printf("communicate: %.*s\n", chomp(&res.out), res.out.data);
  ft_run_result_free(&res);
  ft_popen_free(p);
  p = NULL;

  /* subprocess.run with stdout to a file (the seed's date -R > file). */
  if ((fd = mkstemp(path)) < 0) {
    rc = -errno;
    goto fail;
  }
  char *date[] = {"date", "-R", NULL};
  ft_run_opts fo = {.out = {.mode = FT_STDIO_FILE, .path = path}};
  if ((rc = ft_subprocess_run(loop, date, &fo, &res)) < 0)
    goto fail;
  int lines = 0;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++)
      lines += buf[i] == '\n';
  printf("run to a file: %d line in the file, exit code %d\n", lines, res.exitcode);
  ft_run_result_free(&res);

  /* subprocess.run with stdout to a pipe: collected into res.out. */
  char *printf_[] = {"printf", "a pipe", NULL};
  ft_run_opts pipe_opts = {.out = {.mode = FT_STDIO_PIPE}};
  if ((rc = ft_subprocess_run(loop, printf_, &pipe_opts, &res)) < 0)
    goto fail;
  printf("run to a pipe: \"%.*s\" (%zu bytes), exit code %d\n", (int)res.out.len, res.out.data,
         res.out.len, res.exitcode);
  ft_run_result_free(&res);

  /* check_output: stdout collected; a non-zero exit is FT_EFAILED. */
  char *uname_[] = {"uname", "-s", NULL};
  if ((rc = ft_subprocess_check_output(loop, uname_, NULL, &res)) < 0)
    goto fail;
  printf("check_output: \"%.*s\"\n", chomp(&res.out), res.out.data);
  ft_run_result_free(&res);
  char *exit5[] = {"sh", "-c", "exit 5", NULL};
  rc = ft_subprocess_check_output(loop, exit5, NULL, &res);
  printf("check_output: sh -c 'exit 5' failed: %s, exit code %d\n", ft_err_name(rc), res.exitcode);
  ft_run_result_free(&res);

  close(fd);
  unlink(path);
  ft_loop_free(loop);
  return 0;

fail:
  fprintf(stderr, "subprocess: %s\n", ft_strerror(rc));
  ft_run_result_free(&res);
  ft_popen_free(p);
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  ft_loop_free(loop);
  return 1;
}
