/* ft_workload_build.c - a workload file's sections, once read
 * (ft_workload.c), checked and turned into a plan: every key's value,
 * the queues named by steps, the parts a pool's hosts rule out, the
 * cycles of `after`.  Errors go through ft__fail, one line each. */
#include "ft_internal.h"
#include "ft_workload_int.h"

#include <arpa/inet.h>
#include <stdio.h>

static char *ft__basename_noext(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 4 && strcmp(b + n - 4, ".ini") == 0)
    n -= 4;
  return strndup(b, n);
}

static int ft__count_kv(ft__wl *w, const ft__kv *kv, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (ft__parse_count(kv->value, out) < 0)
    return ft__fail_kv(w, kv, "%s: \"%s\" is not a whole number", kv->key, kv->value);
  if (*out < lo || *out > hi)
    return ft__fail_kv(w, kv, "%s: %s is out of range (%llu to %llu)", kv->key, kv->value,
                       (unsigned long long)lo, (unsigned long long)hi);
  return 0;
}

/* items = N | a, b, c | @path | - ; tasks = N */
static int ft__items(ft__wl *w, const ft__kv *kv, ft_plan_pool *p) {
  if (w->tasks_only)
    return 0; /* a remote worker: the items come with the tasks */
  ft_buf why = {0};
  int rc = ft__items_parse(kv->value, strcmp(kv->key, "tasks") == 0, w->dir, &p->items, &p->nitems,
                           &p->items_from, &why);
  /* an items file's errors name it ("items file X: ..."), the rest the key */
  if (rc < 0 && why.len && (strncmp(why.data, "items ", 6) == 0))
    ft__fail_kv(w, kv, "%.*s", (int)why.len, why.data);
  else if (rc < 0)
    ft__fail_kv(w, kv, "%s: %.*s", kv->key, (int)why.len, why.data ? why.data : "out of memory");
  ft_buf_free(&why);
  return rc;
}

static int ft__steps_kv(ft__wl *w, const ft__kv *kv, ft_step **steps, size_t *n) {
  ft_buf why = {0};
  int rc = ft__steps_parse(kv->value, steps, n, &why);
  if (rc < 0)
    ft__fail_kv(w, kv, "%s: %.*s", kv->key, (int)why.len, why.data ? why.data : "out of memory");
  ft_buf_free(&why);
  return rc;
}

static int ft__name_kv(ft__wl *w, const ft__kv *kv, char **out, bool exits_ok) {
  char name[256];
  snprintf(name, sizeof name, "%s", kv->value);
  size_t n = strlen(name);
  if (exits_ok && n > 6 && strcmp(name + n - 6, " exits") == 0)
    name[n - 6] = '\0';
  ft__sec *s = ft__find(w, name);
  if (!s || s->kind == FT__S_QUEUE)
    return ft__fail_kv(w, kv, "%s: \"%s\" names no process or pool", kv->key, name);
  *out = strdup(name);
  return *out ? 0 : -ENOMEM;
}

static int ft__pool_kv(ft__wl *w, const ft__kv *kv, ft_plan_pool *p) {
  uint64_t v;
  const char *k = kv->key;
  if (strcmp(k, "workers") == 0) {
    ft_buf why = {0};
    if (ft__count_kv(w, kv, 0, UINT32_MAX, &v) < 0)
      return FT_EINVAL;
    if (ft__workers_check(v, &why) < 0) {
      ft__fail_kv(w, kv, "%s: %.*s", k, (int)why.len, why.data ? why.data : "out of memory");
      ft_buf_free(&why);
      return FT_EINVAL;
    }
    p->workers = (int)v;
  } else if (strcmp(k, "chunksize") == 0) {
    if (ft__count_kv(w, kv, 0, UINT32_MAX, &v) < 0)
      return FT_EINVAL;
    p->chunksize = (size_t)v;
  } else if (strcmp(k, "maxtasksperchild") == 0) {
    if (ft__count_kv(w, kv, 0, UINT32_MAX, &v) < 0)
      return FT_EINVAL;
    p->maxtasksperchild = (unsigned)v;
  } else if (strcmp(k, "submit") == 0) {
    static const char *const modes[] = {"apply_async", "map",  "map_async",
                                        "starmap",     "imap", "imap_unordered"};
    size_t i = 0;
    while (i < FT_ARRAY_LEN(modes) && strcmp(modes[i], kv->value))
      i++;
    if (i == FT_ARRAY_LEN(modes))
      return ft__fail_kv(w, kv,
                         "submit: \"%s\" is not one of apply_async, map, map_async, starmap, "
                         "imap, imap_unordered",
                         kv->value);
    p->submit = (ft_submit)i;
  } else if (strcmp(k, "items") == 0 || strcmp(k, "tasks") == 0) {
    return ft__items(w, kv, p);
  } else if (strcmp(k, "task") == 0) {
    return ft__steps_kv(w, kv, &p->steps, &p->nsteps);
  } else if (strcmp(k, "after") == 0) {
    return ft__name_kv(w, kv, &p->after, true);
  } else if (strcmp(k, "hosts") == 0) {
    if (strcmp(kv->value, "local") == 0)
      p->hosts = FT_HOSTS_LOCAL;
    else if (strcmp(kv->value, "tcp") == 0)
      p->hosts = FT_HOSTS_TCP;
    else if (strncmp(kv->value, "slurm:", 6) == 0) {
      char *end;
      errno = 0;
      long n = strtol(kv->value + 6, &end, 10);
      if (n == 0 && end != kv->value + 6 && !*end)
        return ft__fail_kv(w, kv, "hosts: slurm:0 asks for no node (N must be 1 or more)");
      if (end == kv->value + 6 || *end || n < 1 || n > 4096 || errno)
        return ft__fail_kv(w, kv, "hosts: \"%s\": expected slurm:N, N nodes from 1 to 4096",
                           kv->value);
      p->hosts = FT_HOSTS_SLURM;
      p->nodes = (int)n;
    } else if (strchr(kv->value, ':'))
      return ft__fail_kv(w, kv, "hosts: \"%.*s\" is not a known launcher (slurm:N is)",
                         (int)(strchr(kv->value, ':') - kv->value), kv->value);
    else
      return ft__fail_kv(w, kv, "hosts: \"%s\" is not one of local, tcp, slurm:N", kv->value);
  } else if (strcmp(k, "slurm_args") == 0) {
    const char *why = NULL;
    char **words = NULL;
    int n = ft__split_words(kv->value, &words, &why);
    if (n < 0)
      return ft__fail_kv(w, kv, "slurm_args: %s", why ? why : "out of memory");
    ft__words_free(p->slurm_args);
    p->slurm_args = words;
  } else if (strcmp(k, "heartbeat") == 0) {
    if (ft_parse_duration(kv->value, &p->heartbeat) < 0 || p->heartbeat < 0.1)
      return ft__fail_kv(w, kv, "heartbeat: expected a duration of 100ms or more, got \"%s\"",
                         kv->value);
  } else if (strcmp(k, "bind") == 0) {
    unsigned char a[4];
    free(p->bind);
    p->bind = NULL; /* auto: the address that routes to the workers */
    if (strcmp(kv->value, "auto") == 0)
      return 0;
    if (inet_pton(AF_INET, kv->value, a) != 1)
      return ft__fail_kv(w, kv, "bind: \"%s\" is not an IPv4 address", kv->value);
    p->bind = strdup(kv->value);
  } else if (strcmp(k, "chaos") == 0) {
    char *end;
    if (strncmp(kv->value, "kill-worker=", 12) != 0 ||
        !((p->chaos_kill_rate = strtod(kv->value + 12, &end)) > 0) || (*end && strcmp(end, "/s")))
      return ft__fail_kv(w, kv, "chaos: expected kill-worker=RATE (kills a second), got \"%s\"",
                         kv->value);
  }
  return 0;
}

static int ft__proc_kv(ft__wl *w, const ft__kv *kv, ft_plan_process *p) {
  uint64_t v;
  if (strcmp(kv->key, "run") == 0)
    return ft__steps_kv(w, kv, &p->steps, &p->nsteps);
  if (strcmp(kv->key, "count") == 0) {
    if (ft__count_kv(w, kv, 1, 10000, &v) < 0)
      return FT_EINVAL;
    p->count = (int)v;
    return 0;
  }
  if (strcmp(kv->key, "after") == 0)
    return ft__name_kv(w, kv, &p->after, true);
  return ft__name_kv(w, kv, &p->stop_when, true);
}

static int ft__queue_kv(ft__wl *w, const ft__kv *kv, ft_plan_queue *q) {
  uint64_t v;
  if (strcmp(kv->key, "capacity") == 0) {
    if (ft__count_kv(w, kv, 1, 100000000, &v) < 0)
      return FT_EINVAL;
    q->capacity = (size_t)v;
    return 0;
  }
  if (strcmp(kv->key, "bytes") == 0) {
    if (ft_parse_size(kv->value, &v) < 0 || v == 0 || v > (1ull << 34))
      return ft__fail_kv(w, kv, "bytes: \"%s\" is not a size from 1 to 16G", kv->value);
    q->bytes = (size_t)v;
    return 0;
  }
  return ft__name_kv(w, kv, &q->close_after, true);
}

static const ft__kv *ft__kv_of(const ft__sec *s, const char *key) {
  for (size_t i = 0; i < s->nkv; i++)
    if (strcmp(s->kv[i].key, key) == 0)
      return &s->kv[i];
  return NULL;
}

/* Resolve the queue names in steps to indexes. */
static int ft__resolve_steps(ft__wl *w, const ft__kv *kv, ft_step *st, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (st[i].kind != FT_STEP_PUT && st[i].kind != FT_STEP_GET && st[i].kind != FT_STEP_RELAY)
      continue;
    for (int which = 0; which < (st[i].kind == FT_STEP_RELAY ? 2 : 1); which++) {
      const char *name = which ? st[i].values[0] : st[i].text;
      const ft__sec *qs = ft__find(w, name);
      int q = qs && qs->kind == FT__S_QUEUE ? (int)qs->idx : -1;
      if (q < 0)
        return ft__fail_kv(w, kv, "%s: queue \"%s\" is not declared", kv->key, name);
      if (which)
        st[i].queue2 = q;
      else
        st[i].queue = q;
    }
    free(st[i].text);
    st[i].text = NULL;
    if (st[i].kind == FT_STEP_RELAY) {
      free(st[i].values[0]);
      free(st[i].values);
      st[i].values = NULL;
    }
  }
  return 0;
}

/* The `after` of section s (a pool or a process), from the plan. */
static const char *ft__after_of(const ft_plan *plan, const ft__sec *s) {
  if (s->kind == FT__S_POOL)
    return plan->pools[s->idx].after;
  return s->kind == FT__S_PROCESS ? plan->procs[s->idx].after : NULL;
}

/* A cycle in `after` would wait forever: name it.  Each part waits for at
 * most one other, so the parts and their `after`s form a functional graph:
 * one walk from every part, each stopping at the first part an earlier walk
 * reached, visits every part once (linear, where following each chain to
 * its end from every part was cubic).  A walk that meets itself has found a
 * cycle; the one reported is that of the first part in the file on one, as
 * a file read top down would show. */
static int ft__check_cycles(ft__wl *w, const ft_plan *plan) {
  size_t n = w->nsecs, first = SIZE_MAX;
  size_t *walk = calloc(n ? n : 1, sizeof *walk); /* 1 + the walk that reached it */
  if (!walk)
    return ft__fail(w, 0, "out of memory");
  for (size_t start = 0; start < n; start++) {
    size_t at = start;
    while (!walk[at]) {
      walk[at] = start + 1;
      const char *after = ft__after_of(plan, &w->secs[at]);
      const ft__sec *next = after ? ft__find(w, after) : NULL;
      if (!next)
        break;
      at = (size_t)(next - w->secs);
    }
    if (walk[at] != start + 1 || !ft__after_of(plan, &w->secs[at]))
      continue;    /* ended at a part that waits for nothing, or joined an earlier walk */
    size_t c = at; /* this walk closed a cycle through at: go round it */
    do {
      first = c < first ? c : first;
      c = (size_t)(ft__find(w, ft__after_of(plan, &w->secs[c])) - w->secs);
    } while (c != at);
  }
  int rc = 0;
  if (first != SIZE_MAX) {
    const ft__sec *s = &w->secs[first];
    ft_buf chain = {0};
    ft_buf_printf(&chain, "%s", s->name);
    const ft__sec *c = s;
    size_t len = 0;
    do {
      c = ft__find(w, ft__after_of(plan, c));
      len++;
    } while (c != s);
    /* a long cycle is named by its first parts and where it closes */
    size_t k = 0;
    do {
      c = ft__find(w, ft__after_of(plan, c));
      if (++k <= 8 || c == s)
        ft_buf_printf(&chain, " -> %s", c->name);
      else if (k == 9)
        ft_buf_printf(&chain, " -> ... (%zu more)", len - 9);
    } while (c != s);
    rc = ft__fail_kv(w, ft__kv_of(s, "after"), "after: a cycle that would wait forever: %.*s",
                     (int)chain.len, chain.data);
    ft_buf_free(&chain);
  }
  free(walk);
  return rc;
}

/* Build the plan. */
int ft__wl_build(ft__wl *w, ft_plan **out) {
  ft_plan *plan = ft__xalloc(sizeof *plan);
  if (!plan)
    return -ENOMEM;
  *out = plan;
  plan->path = strdup(w->path);
  plan->seed = 1;
  size_t np = 0, nr = 0, nq = 0;
  for (size_t i = 0; i < w->nsecs; i++) {
    np += w->secs[i].kind == FT__S_POOL;
    nr += w->secs[i].kind == FT__S_PROCESS;
    nq += w->secs[i].kind == FT__S_QUEUE;
  }
  plan->pools = ft__xalloc((np ? np : 1) * sizeof *plan->pools);
  plan->procs = ft__xalloc((nr ? nr : 1) * sizeof *plan->procs);
  plan->queues = ft__xalloc((nq ? nq : 1) * sizeof *plan->queues);
  if (!plan->path || !plan->pools || !plan->procs || !plan->queues)
    return ft__fail(w, 0, "out of memory");
  for (size_t i = 0; i < w->nsecs; i++)
    if (w->secs[i].kind == FT__S_QUEUE)
      plan->queues[plan->nqueues++] = (ft_plan_queue){.name = strdup(w->secs[i].name),
                                                      .line = w->secs[i].line,
                                                      .capacity = 1000,
                                                      .bytes = 1u << 20};
  if (!np && !nr)
    return ft__fail(w, 0, "no [pool NAME] or [process NAME]: nothing to run");
  size_t qi = 0;
  for (size_t i = 0; i < w->nsecs && !w->failed; i++) {
    ft__sec *s = &w->secs[i];
    char label[160];
    if (s->kind == FT__S_WORKLOAD) {
      for (size_t k = 0; k < s->nkv && !w->failed; k++) {
        ft__kv *kv = &s->kv[k];
        if (strcmp(kv->key, "seed") == 0)
          ft__count_kv(w, kv, 0, UINT64_MAX, &plan->seed);
        else if (strcmp(kv->key, "name") == 0)
          plan->name = strdup(kv->value);
        else
          plan->description = strdup(kv->value);
      }
    } else if (s->kind == FT__S_POOL) {
      ft_plan_pool *p = &plan->pools[plan->npools++];
      p->name = strdup(s->name);
      p->line = s->line;
      const ft__kv *items = ft__kv_of(s, "items"), *tasks = ft__kv_of(s, "tasks");
      if (items && tasks) /* blame the later one */
        ft__fail_kv(w, items > tasks ? items : tasks, "items and tasks both given: keep one");
      for (size_t k = 0; k < s->nkv && !w->failed; k++)
        ft__pool_kv(w, &s->kv[k], p);
      const ft__kv *task = ft__kv_of(s, "task");
      if (!w->failed && !task)
        ft__fail(w, s->line, "%s has no \"task\"", ft__sec_label(s, label, sizeof label));
      else if (!w->failed && !w->tasks_only && !ft__kv_of(s, "items") && !ft__kv_of(s, "tasks"))
        ft__fail(w, s->line, "%s has no \"items\" (or \"tasks\")",
                 ft__sec_label(s, label, sizeof label));
      else if (!w->failed)
        ft__resolve_steps(w, task, p->steps, p->nsteps);
      const char *tcp_only[] = {"bind", "heartbeat"};
      for (size_t k = 0; k < 2 && !w->failed && p->hosts == FT_HOSTS_LOCAL; k++)
        if (ft__kv_of(s, tcp_only[k]))
          ft__fail_kv(w, ft__kv_of(s, tcp_only[k]), "%s: applies only to hosts = tcp or slurm:N",
                      tcp_only[k]);
      if (!w->failed && p->hosts != FT_HOSTS_SLURM && ft__kv_of(s, "slurm_args"))
        ft__fail_kv(w, ft__kv_of(s, "slurm_args"), "slurm_args: applies only to hosts = slurm:N");
      /* Queues live in this process: a worker elsewhere cannot reach them. */
      for (size_t k = 0; k < p->nsteps && !w->failed && p->hosts != FT_HOSTS_LOCAL; k++)
        if (p->steps[k].kind == FT_STEP_PUT || p->steps[k].kind == FT_STEP_GET ||
            p->steps[k].kind == FT_STEP_RELAY)
          ft__fail_kv(w, task,
                      "task: a pool with hosts = %s cannot use queue steps (put, get, "
                      "relay): its workers are separate processes",
                      p->hosts == FT_HOSTS_TCP ? "tcp" : "slurm:N");
    } else if (s->kind == FT__S_PROCESS) {
      ft_plan_process *p = &plan->procs[plan->nprocs++];
      p->name = strdup(s->name);
      p->line = s->line;
      p->count = 1;
      for (size_t k = 0; k < s->nkv && !w->failed; k++)
        ft__proc_kv(w, &s->kv[k], p);
      const ft__kv *run = ft__kv_of(s, "run");
      if (!w->failed && !run)
        ft__fail(w, s->line, "%s has no \"run\"", ft__sec_label(s, label, sizeof label));
      else if (!w->failed)
        ft__resolve_steps(w, run, p->steps, p->nsteps);
      if (!w->failed && p->after && strcmp(p->after, p->name) == 0)
        ft__fail_kv(w, ft__kv_of(s, "after"), "after: a process cannot wait for itself");
      if (!w->failed && p->stop_when && strcmp(p->stop_when, p->name) == 0)
        ft__fail_kv(w, ft__kv_of(s, "stop_when"), "stop_when: a process cannot stop on itself");
    } else {
      ft_plan_queue *q = &plan->queues[qi++];
      for (size_t k = 0; k < s->nkv && !w->failed; k++)
        ft__queue_kv(w, &s->kv[k], q);
    }
  }
  if (!w->failed)
    ft__check_cycles(w, plan);
  if (!w->failed && !plan->name)
    plan->name = ft__basename_noext(w->path);
  return w->failed ? FT_EINVAL : 0;
}
