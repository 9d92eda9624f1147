/* ui_meters.c - htop's header meters: a bar for each CPU, memory, swap
 * and the load average, read from /proc/stat, /proc/meminfo and
 * /proc/loadavg (three small files, whatever the number of processes) and
 * drawn in the rows under the title.  The dashboard reads them with its
 * /proc reads (at most twice a second, never in a replay).  No curses. */
#include "ui_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read the three files. */
int ui_meters_read(ui_meters *m, const char *root) {
  char path[256], line[512];
  snprintf(path, sizeof path, "%s/stat", root);
  FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "cpu", 3) != 0)
      break;
    if (line[3] == ' ')
      continue; /* the sum of all */
    int cpu;
    unsigned long long u = 0, ni = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
    if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &ni, &sy, &id, &io,
               &irq, &sirq, &st) < 5 ||
        n >= UI_METER_CPUS)
      continue;
    uint64_t busy = u + ni + sy + irq + sirq + st, total = busy + id + io;
    if (m->known && n < m->ncpu && total > m->total[n])
      m->cpu[n] = 100.0 * (double)(busy - m->busy[n]) / (double)(total - m->total[n]);
    m->busy[n] = busy;
    m->total[n] = total;
    n++;
  }
  fclose(f);
  m->ncpu = n;
  snprintf(path, sizeof path, "%s/meminfo", root);
  if ((f = fopen(path, "re"))) {
    unsigned long long total = 0, avail = 0, cached = 0, buffers = 0, stotal = 0, sfree = 0, v;
    char key[64];
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "%63[^:]: %llu", key, &v) == 2) {
        if (!strcmp(key, "MemTotal"))
          total = v;
        else if (!strcmp(key, "MemAvailable"))
          avail = v;
        else if (!strcmp(key, "Cached"))
          cached = v;
        else if (!strcmp(key, "Buffers"))
          buffers = v;
        else if (!strcmp(key, "SwapTotal"))
          stotal = v;
        else if (!strcmp(key, "SwapFree"))
          sfree = v;
      }
    fclose(f);
    m->mem_total = total;
    m->mem_used = total > avail ? total - avail : 0;
    m->mem_cache = cached + buffers;
    m->swap_total = stotal;
    m->swap_used = stotal > sfree ? stotal - sfree : 0;
  }
  snprintf(path, sizeof path, "%s/loadavg", root);
  if ((f = fopen(path, "re"))) {
    if (fscanf(f, "%lf %lf %lf", &m->load[0], &m->load[1], &m->load[2]) != 3)
      m->load[0] = m->load[1] = m->load[2] = 0;
    fclose(f);
  }
  m->known = true;
  return 0;
}

/* CPUs side by side: two columns, four on a wide screen with many CPUs. */
static int ui__cpu_cols(const ui_meters *m, int w) {
  return m->ncpu > 8 && w >= 160 ? 4 : m->ncpu > 1 ? 2 : 1;
}

/* Header rows the meters want. */
int ui_meters_rows(const ui_view *v, int w) {
  const ui_meters *m = v->meters;
  if (!v->meters_on || !m || !m->known || !m->ncpu)
    return 0;
  int cols = ui__cpu_cols(m, w);
  int cpu_rows = (m->ncpu + cols - 1) / cols;
  if (cpu_rows > 8)
    cpu_rows = 1; /* many CPUs: one bar of their average */
  return cpu_rows + 1;
}

static void ui__fmt_kb(char *b, size_t cap, uint64_t kb) {
  if (kb < 1024 * 1024)
    snprintf(b, cap, "%.0fM", (double)kb / 1024);
  else
    snprintf(b, cap, "%.1fG", (double)kb / (1024 * 1024));
}

/* One meter: a label, a bar, a value at its right end. */
static void ui__meter(ui_grid *g, const ui_view *v, int x, int y, int w, const char *label,
                      double frac, const char *value) {
  int lw = (int)strlen(label) + 1;
  ui_grid_printf(g, x, y, w, UI_S_OK, v->utf8, "%s", label);
  int bw = w - lw - 1;
  if (bw < 6)
    return;
  uint64_t total = 1000, a = (uint64_t)(frac < 0 ? 0 : frac > 1 ? 1000 : frac * 1000);
  ui_grid_bar(g, x + lw, y, bw, v->ascii, total, a, 0);
  int vn = (int)strlen(value);
  if (vn < bw - 2)
    ui_grid_printf(g, x + lw + bw - 1 - vn, y, vn, UI_S_NORMAL, v->utf8, "%s", value);
}

/* Draw the meters. */
void ui_meters_render(ui_grid *g, const ui_view *v, ui_rect r) {
  const ui_meters *m = v->meters;
  if (!m || r.h <= 0)
    return;
  int cols = ui__cpu_cols(m, r.w), cpu_rows = r.h - 1, cw = r.w / cols;
  char val[48];
  if (cpu_rows * cols < m->ncpu) { /* one bar: the average */
    double sum = 0;
    for (int i = 0; i < m->ncpu; i++)
      sum += m->cpu[i];
    snprintf(val, sizeof val, "%.1f%% of %d", sum / m->ncpu, m->ncpu);
    ui__meter(g, v, r.x + 1, r.y, r.w - 2, "CPU", sum / m->ncpu / 100, val);
  } else {
    for (int i = 0; i < m->ncpu; i++) {
      int row = i % cpu_rows, col = i / cpu_rows;
      char label[16];
      snprintf(label, sizeof label, "%3d", i);
      snprintf(val, sizeof val, "%.1f%%", m->cpu[i]);
      ui__meter(g, v, r.x + 1 + col * cw, r.y + row, cw - 2, label, m->cpu[i] / 100, val);
    }
  }
  int y = r.y + r.h - 1, third = r.w / 3;
  char a[16], b[16];
  ui__fmt_kb(a, sizeof a, m->mem_used);
  ui__fmt_kb(b, sizeof b, m->mem_total);
  snprintf(val, sizeof val, "%s/%s", a, b);
  ui__meter(g, v, r.x + 1, y, third - 2, "Mem",
            m->mem_total ? (double)m->mem_used / (double)m->mem_total : 0, val);
  ui__fmt_kb(a, sizeof a, m->swap_used);
  ui__fmt_kb(b, sizeof b, m->swap_total);
  snprintf(val, sizeof val, "%s/%s", a, b);
  ui__meter(g, v, r.x + 1 + third, y, third - 2, "Swp",
            m->swap_total ? (double)m->swap_used / (double)m->swap_total : 0, val);
  char load[64];
  snprintf(load, sizeof load, "%.2f %.2f %.2f", m->load[0], m->load[1], m->load[2]);
  int lx = r.x + 1 + 2 * third, lw = r.x + r.w - lx;
  const char *label = (int)strlen(load) + 14 <= lw ? "Load average: " : "Load: ";
  lx += ui_grid_printf(g, lx, y, lw, UI_S_OK, v->utf8, "%s", label);
  ui_grid_printf(g, lx, y, r.x + r.w - lx, UI_S_NORMAL, v->utf8, "%s", load);
}
