/* queue.c - the seed's Queue example: a writer process puts A, B and C on
 * a queue, a reader process gets and prints them until the queue is closed.
 *
 * The queue lives in shared memory: make it before forking the processes
 * that use it, and they use the same ft_queue pointer.  put and get block
 * (up to their timeout; negative: for ever) without turning the loop.
 * Closing lets the reader drain what is left, then get says FT_ECLOSED.
 *
 * Build: cc queue.c $(pkg-config --cflags --libs forktop) -o queue
 * Output:
 *   reader got A
 *   reader got B
 *   reader got C
 *   reader: queue closed
 *   writer exited with 0, reader exited with 0
 *   queue: 3 put, 3 got
 */
#include <forktop/forktop.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Runs in the writer process. */
static int writer(void *arg) {
  ft_queue *q = arg;
  const char *letters[] = {"A", "B", "C"};
  for (int i = 0; i < 3; i++) {
    if (ft_queue_put(q, letters[i], strlen(letters[i]), -1) < 0)
      return 1;
    usleep(20 * 1000); /* the seed paces its writer */
  }
  return 0;
}

/* Runs in the reader process: print every item until the queue closes. */
static int reader(void *arg) {
  ft_queue *q = arg;
  char item[64];
  size_t len;
  int rc;
  while ((rc = ft_queue_get(q, item, sizeof item, &len, -1)) == 0)
    printf("reader got %.*s\n", (int)len, item);
  printf("reader: %s\n", rc == FT_ECLOSED ? "queue closed" : ft_strerror(rc));
  return rc == FT_ECLOSED ? 0 : 1;
}

int main(void) {
  ft_loop *loop = NULL;
  ft_queue *q = NULL;
  ft_process *w = NULL, *r = NULL;
  int rc, wcode = -1, rcode = -1;

  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_queue_new(loop, "letters", 10, 0, &q)) < 0)
    goto fail;
  ft_process_opts wo = {.name = "writer", .target = writer, .arg = q};
  ft_process_opts ro = {
      .name = "reader", .target = reader, .arg = q, .out = {.mode = FT_STDIO_INHERIT}};
  if ((rc = ft_process_new(loop, &ro, &r)) < 0 || (rc = ft_process_start(r)) < 0 ||
      (rc = ft_process_new(loop, &wo, &w)) < 0 || (rc = ft_process_start(w)) < 0)
    goto fail;
  /* When the writer is done, close the queue: the reader drains it and ends. */
  if ((rc = ft_process_join(w, 10.0)) < 0 || (rc = ft_queue_close(q)) < 0 ||
      (rc = ft_process_join(r, 10.0)) < 0)
    goto fail;
  ft_process_exitcode(w, &wcode);
  ft_process_exitcode(r, &rcode);
  printf("writer exited with %d, reader exited with %d\n", wcode, rcode);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  printf("queue: %llu put, %llu got\n", (unsigned long long)st.puts, (unsigned long long)st.gets);
  ft_process_free(w);
  ft_process_free(r);
  ft_queue_free(q);
  ft_loop_free(loop);
  return wcode == 0 && rcode == 0 ? 0 : 1;

fail:
  fprintf(stderr, "queue: %s\n", ft_strerror(rc));
  ft_process_free(w);
  ft_process_free(r);
  ft_queue_free(q);
  ft_loop_free(loop);
  return 1;
}
