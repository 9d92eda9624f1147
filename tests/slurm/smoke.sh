#!/bin/sh
# The test cluster works: `srun -N2 hostname` from the head namespace runs
# on both nodes, each with its own hostname; the head has no route out.
# Skips (77) when the cluster is not up (not root, no namespaces).
here=$(dirname "$0")
"$here/cluster.sh" status || { echo "smoke.sh: the cluster is not up; skipped" >&2; exit 77; }
out=$(timeout 30 "$here/cluster.sh" exec srun -N2 hostname | sort | tr '\n' ' ')
[ "$out" = "ftn1 ftn2 " ] || { echo "smoke.sh: srun -N2 hostname printed '$out'" >&2; exit 1; }
route=$("$here/cluster.sh" exec ip route show default)
[ -z "$route" ] || { echo "smoke.sh: the head namespace has a default route: $route" >&2; exit 1; }
echo "smoke.sh: both nodes answer; no route out"
