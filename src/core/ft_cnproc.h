/* ft_cnproc.h - the kernel's process-event connector: every fork, exec
 * and exit of the machine, read as they are queued (ft_cnproc.c). */
#ifndef FT_CNPROC_H
#define FT_CNPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_event;

/* The socket, and what the kernel dropped from it. */
typedef struct ft__cnproc {
  int fd;            /* -1 when the connector cannot be had */
  uint64_t drops;    /* times the kernel dropped messages (ENOBUFS) */
  uint64_t dropped;  /* how many it dropped, as far as known: a floor */
  uint64_t *cpu_seq; /* per CPU: its last message's number + 1 (0: none read yet) */
  size_t ncpu;
} ft__cnproc;

/* Subscribe (root or CAP_NET_ADMIN); 0 or -errno (then fd is -1 and
 * nothing is held). */
int ft__cnproc_open(ft__cnproc *c);
/* Read what is queued, each process event handed to fn as it comes. */
void ft__cnproc_read(ft__cnproc *c, void (*fn)(void *ud, const struct proc_event *pe), void *ud);
/* Messages dropped: at least this many (0 when none). */
uint64_t ft__cnproc_lost(const ft__cnproc *c);
/* For tests: the socket's buffer set to bytes (the kernel's least at
 * most), so that a burst of events overflows it; 0 or -errno. */
int ft__cnproc_rcvbuf(ft__cnproc *c, int bytes);
/* Release what c holds, and the socket when owns_fd. */
void ft__cnproc_free(ft__cnproc *c, bool owns_fd);

#endif
