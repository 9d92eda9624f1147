/* ft_test_tcp.h - a TCP pool whose one worker is the test itself, speaking
 * the protocol by hand (test_tcp.c, test_host_collision.c).  The pool's
 * worker command is a launcher that writes the token and the address it
 * was given to a file, then sleeps: the test reads them, dials, and says
 * hello as it likes.  Part of the mp room's test support (ft_test_mp). */
#ifndef FT_TEST_TCP_H
#define FT_TEST_TCP_H

#include "ft_test.h"

typedef struct ft_test_tcp {
  ft_pool *pool;  /* one worker: the launcher below, until it is killed */
  char token[65]; /* the launch's token, in hex */
  char addr[64];  /* where the pool listens: HOST:PORT */
  char dir[64];   /* where the launcher writes (removed by ft_test_tcp_end) */
  char script[512];
  char *argv[5];
} ft_test_tcp;

/* Start the pool (setup: what it sends each worker first) and turn the
 * loop until its launcher has written the token and the address. */
void ft_test_tcp_start(ft_loop *loop, ft_test_tcp *h, ft_slice setup);
/* Remove the launcher's directory (the pool is the test's to end). */
void ft_test_tcp_end(ft_test_tcp *h);
/* Connect to addr (127.0.0.1:PORT); the socket is non-blocking. */
int ft_test_tcp_dial(const char *addr);
/* Send a hello with the token hex that says the worker is process pid. */
void ft_test_tcp_hello(int fd, const char *hex, pid_t pid);
/* Read from fd into b; 0 when the peer closed, 1 when bytes came, -1 not yet. */
int ft_test_tcp_pull(int fd, ft_buf *b);

#endif
