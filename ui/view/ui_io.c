/* ui_io.c - the pipes of the selected process and who holds their other
 * ends, with everyone's read and write rates: the queue traffic of programs
 * that do not use forktop's engine.  Read from /proc (the pipe inodes under
 * /proc/PID/fd, rchar and wchar of /proc/PID/io) only while the panel shows
 * it; drawn into the grid like every other panel (no curses here). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_view.h"

/* The rates known for pid, or NULL. */
const ui_io_rate *ui_io_rate_of(const ui_io *io, pid_t pid) {
  for (size_t i = 0; i < io->nrates; i++)
    if (io->rates[i].pid == pid)
      return &io->rates[i];
  return NULL;
}

/* Read pid's counters into r; its rates come from the previous read of the
 * same pid in old (if any). */
static void ui__io_rate(ui_io_rate *r, const ui_io *old, pid_t pid, uint64_t now) {
  memset(r, 0, sizeof *r);
  r->pid = pid;
  r->t = now;
  if (ft_tree_io(pid, &r->r, &r->w) < 0)
    return; /* gone, or not ours to read */
  r->known = true;
  const ui_io_rate *p = ui_io_rate_of(old, pid);
  if (p && p->known && now > p->t && r->r >= p->r && r->w >= p->w) {
    double dt = (double)(now - p->t) / 1e9;
    r->rr = (double)(r->r - p->r) / dt;
    r->wr = (double)(r->w - p->w) / dt;
    r->rated = true;
  }
}

/* Read pid's pipes (their other ends among[0..n)) and the rates of pid and
 * of every holder; 0, or -errno when pid's fds cannot be read (io->err). */
int ui_io_update(ui_io *io, pid_t pid, const pid_t *among, size_t n, uint64_t now) {
  ui_io old = *io; /* the previous read, for the rates */
  if (old.pid != pid)
    old.nrates = 0;
  memset(io, 0, sizeof *io);
  io->pid = pid;
  io->t = now;
  ft_pipe *pipes = NULL;
  size_t np = 0;
  int rc = ft_tree_pipes(pid, among, n, &pipes, &np);
  if (rc < 0) {
    io->err = rc;
    return rc;
  }
  io->npipes = np < UI_IO_PIPES ? np : UI_IO_PIPES;
  io->more = np - io->npipes;
  memcpy(io->pipes, pipes, io->npipes * sizeof *pipes);
  free(pipes);
  ui__io_rate(&io->rates[io->nrates++], &old, pid, now);
  for (size_t i = 0; i < io->npipes; i++)
    for (size_t k = 0; k < io->pipes[i].nends; k++) {
      pid_t q = io->pipes[i].ends[k].pid;
      if (!ui_io_rate_of(io, q) && io->nrates < UI_IO_RATES)
        ui__io_rate(&io->rates[io->nrates++], &old, q, now);
    }
  return 0;
}

static void ui__fmt_rate(char *b, size_t cap, double bps) {
  if (bps >= 1e9)
    snprintf(b, cap, "%.1f GB/s", bps / 1e9);
  else if (bps >= 1e6)
    snprintf(b, cap, "%.1f MB/s", bps / 1e6);
  else if (bps >= 1e3)
    snprintf(b, cap, "%.1f kB/s", bps / 1e3);
  else
    snprintf(b, cap, "%.0f B/s", bps);
}

/* "reads 1.2 MB/s, writes 0 B/s", or why not. */
static int ui__put_rates(ui_grid *g, const ui_view *v, int x, int y, int w, const ui_io_rate *r) {
  if (!r || !r->known)
    return ui_grid_printf(g, x, y, w, UI_S_DIM, v->utf8, "I/O not readable");
  if (!r->rated)
    return ui_grid_printf(g, x, y, w, UI_S_DIM, v->utf8, "rates after the next read");
  char rd[24], wr[24];
  ui__fmt_rate(rd, sizeof rd, r->rr);
  ui__fmt_rate(wr, sizeof wr, r->wr);
  return ui_grid_printf(g, x, y, w, UI_S_NORMAL, v->utf8, "reads %s, writes %s", rd, wr);
}

static const char *ui__comm(const ft_pipe *p, pid_t pid) {
  for (size_t k = 0; k < p->nends; k++)
    if (p->ends[k].pid == pid)
      return p->ends[k].comm;
  return "";
}

/* Draw the panel's title text in r (its bar and border are the output
 * panel's, drawn by the cells) and its lines in list. */
void ui_io_render(ui_grid *g, const ui_view *v, ui_rect r, ui_rect list, ui_style title) {
  const ui_io *io = &v->io;
  ui_grid_printf(g, r.x, r.y, r.w, title, v->utf8, " Pipes and I/O of %d  (i: output)",
                 (int)io->pid);
  int x0 = v->layout.compact ? list.x : list.x + 2, w = list.x + list.w - x0;
  int y = list.y, end = list.y + list.h;
  if (y >= end)
    return;
  if (!io->pid || io->t == 0) {
    ui_grid_printf(g, x0, y, w, UI_S_DIM, v->utf8, "reading /proc...");
    return;
  }
  if (io->err) {
    ui_grid_printf(g, x0, y, w, UI_S_DIM, v->utf8, "cannot read its fds: %s", strerror(-io->err));
    return;
  }
  int x = x0 + ui_grid_printf(g, x0, y, w, UI_S_NORMAL, v->utf8, "%d: ", (int)io->pid);
  ui__put_rates(g, v, x, y++, x0 + w - x, ui_io_rate_of(io, io->pid));
  if (y < end && !io->npipes)
    ui_grid_printf(g, x0, y++, w, UI_S_DIM, v->utf8, "no pipes open");
  const char *to = v->ascii ? "->" : "\xe2\x86\x92", *from = v->ascii ? "<-" : "\xe2\x86\x90";
  for (size_t i = 0; i < io->npipes && y < end; i++) {
    const ft_pipe *p = &io->pipes[i];
    /* its own ends of this pipe first, then every other holder */
    for (size_t k = 0; k < p->nends && y < end; k++) {
      const ft_pipe_end *e = &p->ends[k];
      if (e->pid != io->pid)
        continue;
      x = x0 + ui_grid_printf(g, x0, y, w, UI_S_NORMAL, v->utf8, "fd %d %s pipe %llu", e->fd,
                              e->write ? to : from, (unsigned long long)p->inode);
      size_t others = 0;
      for (size_t j = 0; j < p->nends; j++)
        others += p->ends[j].pid != io->pid;
      if (!others)
        ui_grid_printf(g, x, y, x0 + w - x, UI_S_DIM, v->utf8, "  (no other holder in the tree)");
      y++;
    }
    for (size_t k = 0; k < p->nends && y < end; k++) {
      const ft_pipe_end *e = &p->ends[k];
      if (e->pid == io->pid)
        continue;
      x = x0 + ui_grid_printf(g, x0, y, w, UI_S_NORMAL, v->utf8, "   %s %d ", e->write ? from : to,
                              (int)e->pid);
      const char *comm = ui__comm(p, e->pid);
      x += ui_put_text(g, x, y, x0 + w - x, UI_S_NORMAL, comm, strnlen(comm, sizeof e->comm),
                       v->utf8);
      x += ui_grid_printf(g, x, y, x0 + w - x, UI_S_DIM, v->utf8, " (fd %d)  ", e->fd);
      ui__put_rates(g, v, x, y++, x0 + w - x, ui_io_rate_of(io, e->pid));
    }
  }
  if (y < end && io->more)
    ui_grid_printf(g, x0, y, w, UI_S_DIM, v->utf8, "... and %zu more pipes", io->more);
}
