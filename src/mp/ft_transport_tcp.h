/* ft_transport_tcp.h - the TCP worker transport's frames, shared by the
 * parent (ft_transport_tcp.c) and the worker (ft_transport_tcp_worker.c).
 *
 * Every frame is [u32 len][u32 type][body], len the whole frame, a
 * multiple of 8, at most FT__FRAME_MAX; integers in host order (both ends
 * run the same build).  What a frame's body must be is checked by
 * ft__frame_check before anything reads it, on both sides:
 *
 *   HELLO  w->p  u32 version, u32 pid, token[32], u32 job, u32 step
 *                (the first frame; job and step: the worker's Slurm job
 *                step, SLURM_JOB_ID and SLURM_STEP_ID, or FT__NO_STEP)
 *   SETUP  p->w  u32 worker, u32 maxtasks, u32 heartbeat_ms, u32 len, bytes
 *   CHUNK  p->w  u64 seq, u32 kind, u32 nitems, u32 namelen, u32 pad,
 *                name (padded to 8), nitems items in wire form
 *   START  w->p  u64 seq, u64 t
 *   RESULT w->p  u64 seq, u32 first, u32 count, count x [ft__rec_item, value]
 *   BYE    both  (p->w: leave once idle; w->p: leaving after maxtasksperchild)
 *   BEAT   w->p  (heartbeat)
 *
 * The channel is not encrypted; the token only proves that a connection
 * comes from the process the pool started for that worker slot.
 */
#ifndef FT_TRANSPORT_TCP_H
#define FT_TRANSPORT_TCP_H

#include "ft_transport.h"

#define FT__FRAME_MAX (16u << 20)
#define FT__TOKEN_LEN 32
#define FT__TCP_VERSION 2
#define FT__NO_STEP UINT32_MAX
#define FT__FN_NAME_MAX 64

enum {
  FT__F_HELLO = 1,
  FT__F_SETUP,
  FT__F_CHUNK,
  FT__F_START,
  FT__F_RESULT,
  FT__F_BYE,
  FT__F_BEAT,
};

typedef struct ft__fhdr {
  uint32_t len, type;
} ft__fhdr;

typedef struct ft__f_hello {
  ft__fhdr h;
  uint32_t version, pid;
  uint8_t token[FT__TOKEN_LEN];
  uint32_t job, step;
} ft__f_hello;

typedef struct ft__f_setup {
  ft__fhdr h;
  uint32_t worker, maxtasks, heartbeat_ms, len;
} ft__f_setup;

typedef struct ft__f_chunk {
  ft__fhdr h;
  uint64_t seq;
  uint32_t kind, nitems, namelen, pad_;
} ft__f_chunk;

typedef struct ft__f_start {
  ft__fhdr h;
  uint64_t seq, t;
} ft__f_start;

typedef struct ft__f_result {
  ft__fhdr h;
  uint64_t seq;
  uint32_t first, count;
} ft__f_result;

/* Look at the frame at the start of buf (avail bytes) as sent to the
 * parent (to_parent) or to a worker: its length when whole and well
 * formed, 0 when more bytes are needed, -EPROTO when it is not a frame
 * that side may receive (bad length, type or body). */
long ft__frame_check(const char *buf, size_t avail, bool to_parent);
/* Constant-time comparison of two tokens. */
bool ft__token_eq(const uint8_t *a, const uint8_t *b);
/* The registered name of fn (of kind), or NULL. */
const char *ft__task_name(uintptr_t fn, uint32_t kind);
/* The function registered as name (namelen bytes) for kind, or 0. */
uintptr_t ft__task_lookup(const char *name, size_t namelen, uint32_t kind);

#endif
