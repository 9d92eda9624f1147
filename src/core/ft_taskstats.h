/* ft_taskstats.h - exits as the kernel accounted them (taskstats), kept
 * in a ring for the watch to name exits by (ft_taskstats.c). */
#ifndef FT_TASKSTATS_H
#define FT_TASKSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FT__STATS 4096 /* taskstats records kept, newest last */

/* A process as it exited, from taskstats. */
typedef struct ft__tstat {
  pid_t pid;
  bool used;
  unsigned status; /* as the connector's exit_code: wait status */
  uint64_t etime_us;
  char comm[32];
} ft__tstat;

/* The socket and the ring of the newest FT__STATS records. */
typedef struct ft__tstats {
  int fd; /* -1 when taskstats cannot be had */
  uint16_t family;
  ft__tstat *ring; /* next is where the next record goes */
  size_t next;
} ft__tstats;

/* Open the socket and register for every CPU's exits; 0 or -errno (then
 * fd is -1 and nothing is held). */
int ft__tstats_open(ft__tstats *ts);
/* Read the records queued (want > 0: only up to the batch holding want's). */
void ft__tstats_drain(ft__tstats *ts, pid_t want);
/* The record of pid's exit, the oldest not taken, reading what is queued
 * first if need be; NULL when there is none. */
const ft__tstat *ft__tstats_take(ft__tstats *ts, pid_t pid);
/* Release the ring, and the socket when owns_fd. */
void ft__tstats_free(ft__tstats *ts, bool owns_fd);

#endif
