/* ft_test_tcp.c - the hand-played TCP worker of the mp tests (ft_test_tcp.h). */
#include "ft_test_tcp.h"

#include "ft_internal.h"
#include "ft_transport_tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the launcher wrote: the token and the address (rewritten by each
 * new launcher, atomically). */
static bool ft_test_tcp_launched(ft_test_tcp *h) {
  char path[128];
  snprintf(path, sizeof path, "%s/launch", h->dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  bool ok = fscanf(f, "%64s %63s", h->token, h->addr) == 2;
  fclose(f);
  return ok;
}

/* Start the hand-played pool. */
void ft_test_tcp_start(ft_loop *loop, ft_test_tcp *h, ft_slice setup) {
  memset(h, 0, sizeof *h);
  snprintf(h->dir, sizeof h->dir, "/tmp/ft_tcp_XXXXXX");
  assert_non_null(mkdtemp(h->dir));
  /* The launcher stands for a worker: it says its token and address, then waits. */
  snprintf(h->script, sizeof h->script,
           "printf '%%s %%s\\n' \"$FORKTOP_TOKEN\" \"$2\" > %s/launch.tmp && "
           "mv %s/launch.tmp %s/launch && exec sleep 30",
           h->dir, h->dir, h->dir);
  h->argv[0] = "sh";
  h->argv[1] = "-c";
  h->argv[2] = h->script;
  h->argv[3] = "sh";
  ft_pool_tcp tcp = {.argv = h->argv, .setup = setup};
  ft_pool_opts o = {.workers = 1};
  assert_int_equal(ft_pool_new_tcp(loop, &o, &tcp, &h->pool), 0);
  FT_TEST_UNTIL(loop, ft_test_tcp_launched(h));
}

/* Remove the launcher's directory. */
void ft_test_tcp_end(ft_test_tcp *h) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", h->dir);
  assert_int_equal(system(cmd), 0);
}

/* Connect to the pool. */
int ft_test_tcp_dial(const char *addr) {
  char host[64];
  snprintf(host, sizeof host, "%s", addr);
  char *colon = strrchr(host, ':');
  assert_non_null(colon);
  *colon = '\0';
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  assert_int_equal(inet_pton(AF_INET, host, &sa.sin_addr), 1);
  assert_string_equal(host, "127.0.0.1");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

/* Say hello as process pid. */
void ft_test_tcp_hello(int fd, const char *hex, pid_t pid) {
  ft__f_hello h = {{sizeof h, FT__F_HELLO}, FT__TCP_VERSION, (uint32_t)pid, {0}};
  for (int i = 0; i < FT__TOKEN_LEN; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    h.token[i] = (uint8_t)v;
  }
  assert_int_equal(send(fd, &h, sizeof h, MSG_NOSIGNAL), (ssize_t)sizeof h);
}

/* Read what came. */
int ft_test_tcp_pull(int fd, ft_buf *b) {
  char tmp[4096];
  ssize_t k = recv(fd, tmp, sizeof tmp, 0);
  if (k == 0)
    return 0;
  if (k < 0)
    return -1;
  ft_buf_append(b, tmp, (size_t)k);
  return 1;
}
