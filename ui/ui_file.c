/* ui_file.c - files forktop writes on the user's behalf (--record, the
 * bench exports), created without following anyone's symlink.
 *
 * fopen(path, "w") follows a final symlink and truncates what it points
 * at: run as root with --record /tmp/x, where another user had made
 * /tmp/x a symlink to a file of root's, it emptied and overwrote that
 * file.  Here a new file is made beside the target under a random name
 * (O_EXCL: never an existing file or link), given mode 0644 (less the
 * umask), and rename()d over the target: rename replaces a symlink (or
 * another file) at path by the new file and never writes through it.
 * The file is in place from the start, so a recording can be followed
 * while it is written.
 *
 * What is not a regular file is written as it is: a terminal, a pipe, a
 * device (--record /dev/stdout, >(cat)).  That is decided on the opened
 * descriptor (fstat), not on the name, so a path swapped for a symlink to
 * a regular file between a check and the open still lands in the rename
 * route; the probe opens without O_CREAT or O_TRUNC, so it changes
 * nothing, and O_NONBLOCK, so a FIFO nobody reads fails instead of
 * hanging.
 *
 * Where no new file can be made beside the target (a directory we may not
 * write) but the target is a file of ours, it is truncated and rewritten
 * as before, only when it is certainly no one else's: opened with
 * O_NOFOLLOW (not a symlink), a regular file, owned by us, with one link
 * (not a hard link to another file). */
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open path, which is not a regular file, for writing; 1 when it is a
 * regular file (or does not exist: the caller makes one), else 0 with *fd
 * set, or -errno. */
static int ui_open_special(const char *path, int *fd) {
  int f = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (f < 0) /* missing, or a dangling symlink or a loop: replaced */
    return errno == ENOENT || errno == ELOOP ? 1 : -errno;
  struct stat st;
  if (fstat(f, &st) < 0) {
    int e = errno;
    close(f);
    return -e;
  }
  if (S_ISREG(st.st_mode)) {
    close(f);
    return 1;
  }
  int fl = fcntl(f, F_GETFL);
  if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
    int e = errno;
    close(f);
    return -e;
  }
  *fd = f;
  return 0;
}

/* Rewrite path in place when it is a plain file of ours (see above). */
static int ui_reuse_own(const char *path, FILE **out) {
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC), rc;
  struct stat st;
  if (fd < 0)
    return errno == ELOOP ? -EACCES : -errno;
  if (fstat(fd, &st) < 0)
    rc = -errno;
  else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
    rc = -EACCES;
  else if (ftruncate(fd, 0) < 0 || !(*out = fdopen(fd, "w")))
    rc = -errno;
  else
    return 0;
  close(fd);
  return rc;
}

/* Create path afresh for writing (see above); 0 and *out, or -errno. */
int ui_file_create(const char *path, FILE **out) {
  int fd = -1, rc;
  *out = NULL;
  if (!path || !*path)
    return -ENOENT;
  if ((rc = ui_open_special(path, &fd)) < 0)
    return rc;
  if (rc == 1) {
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    if (snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", dl, path, slash ? slash + 1 : path) >=
        (int)sizeof tmp)
      return -ENAMETOOLONG;
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
      return errno == EACCES || errno == EPERM || errno == EROFS ? ui_reuse_own(path, out) : -errno;
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0644 & ~mask) < 0 || rename(tmp, path) < 0) {
      rc = -errno;
      unlink(tmp);
      close(fd);
      return rc;
    }
  }
  if (!(*out = fdopen(fd, "w"))) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return 0;
}
