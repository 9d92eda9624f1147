/* anchor_procscan.c - the benchmark anchor for the dashboard's CPU: the
 * bare loop a naive top would run, reading /proc/PID/stat of every
 * descendant of ROOT ten times a second (it draws nothing).
 *
 * Usage: anchor_procscan ROOT SECONDS
 * Prints the children of ROOT the last pass found, and its own CPU use as a
 * percentage of one CPU over the run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ppid_of(const char *pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  int ppid = -1;
  if (p)
    sscanf(p + 2, "%*c %d", &ppid);
  return ppid;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ROOT SECONDS\n", argv[0]);
    return 2;
  }
  int root = atoi(argv[1]);
  double secs = atof(argv[2]);
  size_t seen = 0;
  struct timespec w0, w1, c1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  for (int pass = 0; pass < (int)(secs * 10); pass++) {
    DIR *d = opendir("/proc");
    if (!d)
      return 1;
    struct dirent *e;
    seen = 0;
    while ((e = readdir(d)))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && ppid_of(e->d_name) == root)
        seen++;
    closedir(d);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &w1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
  double cpu = (double)c1.tv_sec + (double)c1.tv_nsec / 1e9;
  printf("%zu %.2f\n", seen, cpu / wall * 100);
  return 0;
}
