#!/bin/sh
# tests/slurm/cluster.sh - a two-node Slurm cluster made of namespaces, for
# the pools-across-hosts tests (issue 16).
#
#   cluster.sh up            install slurm-wlm and munge when missing, start it
#   cluster.sh down          stop it, remove everything it made, assert so
#   cluster.sh exec CMD...   run CMD in the head namespace, SLURM_CONF set
#   cluster.sh node N CMD... run CMD inside node N (1 or 2): its net, UTS,
#                            PID and mount namespaces
#   cluster.sh status        exit 0 when it is up
#
# Layout: a head network namespace (ftshead) holds the bridge ftsbr0 with
# 10.77.0.1, munged, slurmctld and whatever `exec` runs (srun, forktop).
# Each node is its own network namespace (ftsn1, ftsn2) joined to the bridge
# by a veth (ftsv1/ftsv1p ...) with 10.77.0.2, .3, and slurmd runs there in
# its own UTS (hostname ftn1, ftn2), PID and mount namespace (`unshare
# --pid --fork --mount-proc`), so remote PIDs are small and collide with
# local ones.  No namespace has a default route and forwarding is off:
# nothing is ever sent outside the addresses made here.  Enter the
# namespaces with nsenter, not `ip netns exec` (it remounts /sys).
#
# Everything made is recorded in $FT_SLURM_DIR/made (one line each: a
# namespace, a link, a PID, a path); `down` undoes exactly that, in
# reverse, then asserts nothing of it remains.  Exits 77 when not root or
# namespaces are not available.
#
# One cluster a machine (its names and addresses are fixed), and several
# ctest runs may want it at once (developers' worktrees): `up` records its
# owner, the process that asked (ctest; FT_SLURM_OWNER=PID to name
# another), and while that owner lives another `up` waits for its `down`
# (at most FT_SLURM_WAIT seconds, 240 by default, under ctest's 300 s
# timeout, then skips: 77), and
# another `down` leaves it alone.  A cluster whose owner is gone is taken
# down by the next `up`.
set -u

DIR=${FT_SLURM_DIR:-/tmp/forktop-slurm}
HEAD=ftshead
NODES="1 2"
MADE=$DIR/made

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}
skip() {
  echo "cluster.sh: skipped: $*" >&2
  exit 77
}
record() { echo "$*" >>"$MADE"; }

# "PID STARTTIME" of process $1 (the start time tells a reused pid), or nothing.
proc_id() { [ -r "/proc/$1/stat" ] && echo "$1 $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)"; }
OWNER=$(proc_id "${FT_SLURM_OWNER:-$PPID}")
# Whether the recorded cluster's owner is alive and not us.
owned_by_other() {
  o=$(sed -n 's/^owner //p' "$MADE" 2>/dev/null | tail -1)
  [ -n "$o" ] && [ "$o" != "$OWNER" ] && [ "$(proc_id "${o%% *}")" = "$o" ]
}
inhead() { nsenter --net=/run/netns/$HEAD "$@"; }

# The PID namespace's init (slurmd) of node N, as seen from here.
node_pid() { sed -n "s/^pid slurmd$1 //p" "$MADE" 2>/dev/null | tail -1; }

need_root() {
  [ "$(id -u)" = 0 ] || skip "not root"
}

install_missing() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v munged >/dev/null && command -v srun >/dev/null && return 0
  command -v apt-get >/dev/null || skip "slurm-wlm is not installed and there is no apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurm-wlm munge >"$DIR.apt.log" 2>&1 || {
    cat "$DIR.apt.log" >&2
    rm -f "$DIR.apt.log"
    die "apt-get install slurm-wlm munge failed"
  }
  rm -f "$DIR.apt.log"
}

# Wait (polling) up to $1 tenths of a second for "$2..." to succeed.
poll() {
  tries=$1
  shift
  while ! "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || return 1
    sleep 0.1
  done
}

write_conf() {
  cat >"$DIR/slurm.conf" <<EOF
ClusterName=forktop
SlurmctldHost=fthead(10.77.0.1)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.%n.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=2
NodeName=ftn1 NodeAddr=10.77.0.2 NodeHostname=ftn1 CPUs=8 State=UNKNOWN
NodeName=ftn2 NodeAddr=10.77.0.3 NodeHostname=ftn2 CPUs=8 State=UNKNOWN
PartitionName=ft Nodes=ftn1,ftn2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

up() {
  need_root
  command -v nsenter >/dev/null && command -v unshare >/dev/null && command -v ip >/dev/null ||
    skip "nsenter, unshare or ip missing"
  waited=0
  while [ -e "$MADE" ] && owned_by_other; do
    [ $waited = 0 ] && echo "cluster.sh: the cluster is another run's (owner $(sed -n 's/^owner //p' "$MADE")): waiting for its down" >&2
    [ $waited -lt "${FT_SLURM_WAIT:-240}" ] || skip "the cluster stayed another run's for ${FT_SLURM_WAIT:-240} s"
    sleep 1
    waited=$((waited + 1))
  done
  if [ -e "$MADE" ]; then
    echo "cluster.sh: a cluster from an earlier run is recorded in $DIR: taking it down first" >&2
    me=$OWNER
    OWNER=$(sed -n 's/^owner //p' "$MADE" | tail -1) # its owner is gone: down as it
    down || die "the earlier cluster could not be taken down"
    OWNER=$me
  fi
  mkdir -p "$DIR" || die "cannot make $DIR"
  : >"$MADE"
  record "path $DIR"
  record "owner $OWNER"
  install_missing
  # Namespaces available?  Try before making anything else.
  [ -d /run/netns ] || record "netnsdir /run/netns"
  [ -d /run/mount ] || record "mountdir /run/mount"
  ip netns add $HEAD 2>/dev/null || { down_quiet; skip "cannot make a network namespace"; }
  record "netns $HEAD"
  unshare --pid --fork --mount-proc --uts true 2>/dev/null || { down_quiet; skip "cannot make PID/UTS namespaces"; }

  inhead ip link set lo up || die "head: lo"
  inhead ip link add ftsbr0 type bridge || die "head: bridge"
  inhead ip addr add 10.77.0.1/24 dev ftsbr0 && inhead ip link set ftsbr0 up || die "head: bridge up"
  for n in $NODES; do
    ip netns add ftsn$n || die "netns ftsn$n"
    record "netns ftsn$n"
    # both ends made here, then moved: the root namespace keeps nothing
    ip link add ftsv$n type veth peer name ftsv${n}p || die "veth ftsv$n"
    record "link ftsv$n"
    ip link set ftsv$n netns $HEAD && ip link set ftsv${n}p netns ftsn$n || die "veth move"
    inhead ip link set ftsv$n master ftsbr0 && inhead ip link set ftsv$n up || die "veth up"
    nsenter --net=/run/netns/ftsn$n sh -c "ip link set lo up && ip addr add 10.77.0.$((n + 1))/24 \
      dev ftsv${n}p && ip link set ftsv${n}p up" || die "node $n address"
  done

  # munge: its own key (a 0700 directory), socket (0755), log and seed, under $DIR
  mkdir -p "$DIR/munge" "$DIR/mungekey" "$DIR/ctld" "$DIR/spool"
  chown munge: "$DIR/munge" "$DIR/mungekey" && chmod 755 "$DIR/munge" && chmod 700 "$DIR/mungekey"
  head -c 1024 /dev/urandom >"$DIR/mungekey/munge.key"
  chown munge: "$DIR/mungekey/munge.key" && chmod 400 "$DIR/mungekey/munge.key"
  nsenter --net=/run/netns/$HEAD setpriv --reuid=munge --regid=munge --init-groups munged -F --socket="$DIR/munge/munge.socket" \
    --key-file="$DIR/mungekey/munge.key" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" --pid-file="$DIR/munge/munged.pid" \
    </dev/null >"$DIR/munged.out" 2>&1 &
  record "pid munged $!"
  poll 50 test -S "$DIR/munge/munge.socket" || die "munged did not start: $(tail -1 "$DIR/munged.out")"

  write_conf
  export SLURM_CONF="$DIR/slurm.conf"
  # its own UTS namespace: slurmctld runs only where the hostname is fthead
  nsenter --net=/run/netns/$HEAD unshare --uts sh -c "hostname fthead && exec slurmctld -D -i -f '$SLURM_CONF'" \
    </dev/null >"$DIR/slurmctld.out" 2>&1 &
  record "pid slurmctld $!"
  for n in $NODES; do
    mkdir -p "$DIR/spool/ftn$n"
    nsenter --net=/run/netns/ftsn$n unshare --uts --pid --fork --mount-proc --kill-child \
      sh -c "hostname ftn$n || exit 1; trap 'kill -TERM \$d; wait \$d; exit 0' TERM
        slurmd -D -N ftn$n -f '$SLURM_CONF' & d=\$!; wait \$d" \
      </dev/null >"$DIR/slurmd.ftn$n.out" 2>&1 &
    record "pid unshare$n $!"
    # the node's init, for `node N`: unshare's child, a shell that runs
    # slurmd and reaps what is orphaned in the node (steps double-fork)
    poll 50 sh -c "pgrep -P $! >/dev/null" || die "node $n did not start"
    record "pid slurmd$n $(pgrep -P $!)"
  done
  # Both nodes idle?
  if ! poll 300 sh -c "inhead_sinfo() { nsenter --net=/run/netns/$HEAD sinfo -h -N -o '%N %t'; };
      [ \$(inhead_sinfo | grep -c ' idle') = 2 ]"; then
    inhead sinfo -N >&2
    tail -5 "$DIR"/*.log >&2
    die "the nodes did not become idle"
  fi
  echo "cluster.sh: up: ftn1 (10.77.0.2), ftn2 (10.77.0.3); SLURM_CONF=$SLURM_CONF"
}

# Stop a PID we recorded: TERM, then KILL after 3 s.
stop_pid() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null
  poll 30 sh -c "! kill -0 $1" && return 0
  kill -KILL "$1" 2>/dev/null
  poll 30 sh -c "! kill -0 $1"
}

# Undo what $MADE lists, newest first.
undo() {
  [ -f "$MADE" ] || return 0
  # daemons first: the nodes, then the controller, munged last; each is
  # sent SIGTERM at once, then waited for (SIGKILL after 3 s)
  for what in "slurmd1 slurmd2" "unshare1 unshare2" slurmctld munged; do
    pids=
    for w in $what; do pids="$pids $(sed -n "s/^pid $w //p" "$MADE")"; done
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $pids; do stop_pid "$pid"; done
  done
  tac "$MADE" | while read -r kind a _; do
    case $kind in
    link) ip link del "$a" 2>/dev/null ;; # gone with its namespace, normally
    netns) ip netns del "$a" 2>/dev/null ;;
    esac
  done
  # /run/netns is a bind mount `ip netns add` made; unmounting it makes
  # /run/mount (libmount's utab): remove each when this script made it
  if grep -qx "netnsdir /run/netns" "$MADE" && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null
    rmdir /run/netns 2>/dev/null
  fi
  if grep -qx "mountdir /run/mount" "$MADE" && [ -d /run/mount ]; then
    rm -rf /run/mount
  fi
}

down_quiet() {
  undo
  check_gone >/dev/null 2>&1
  rm -rf "$DIR"
}

# Assert nothing recorded remains; print what does.
check_gone() {
  bad=0
  while read -r kind a b; do
    case $kind in
    pid) if kill -0 "$b" 2>/dev/null; then
      echo "cluster.sh: $a (PID $b) is still running" >&2
      bad=1
    fi ;;
    netns) if [ -e "/run/netns/$a" ]; then
      echo "cluster.sh: namespace $a remains" >&2
      bad=1
    fi ;;
    link) if ip link show "$a" >/dev/null 2>&1; then
      echo "cluster.sh: link $a remains" >&2
      bad=1
    fi ;;
    netnsdir) if [ -e /run/netns ]; then
      echo "cluster.sh: /run/netns remains" >&2
      bad=1
    fi ;;
    mountdir) if [ -e /run/mount ]; then
      echo "cluster.sh: /run/mount remains" >&2
      bad=1
    fi ;;
    esac
  done <"$MADE"
  for d in slurmctld slurmd slurmstepd munged; do
    if pgrep -x $d >/dev/null; then
      echo "cluster.sh: still running: $(pgrep -a -x $d)" >&2
      bad=1
    fi
  done
  return $bad
}

down() {
  need_root
  [ -f "$MADE" ] || {
    echo "cluster.sh: down: nothing recorded in $DIR; nothing to do"
    return 0
  }
  if owned_by_other; then
    echo "cluster.sh: down: the cluster is another run's (owner $(sed -n 's/^owner //p' "$MADE")): left up"
    return 0
  fi
  undo
  check_gone
  bad=$?
  rm -rf "$DIR"
  [ -e "$DIR" ] && {
    echo "cluster.sh: $DIR remains" >&2
    bad=1
  }
  [ $bad = 0 ] && echo "cluster.sh: down: everything it made is gone"
  return $bad
}

case ${1:-} in
up)
  # in a subshell: a failure (die, exit) still tears down what was made
  (up)
  rc=$?
  if [ $rc != 0 ] && [ $rc != 77 ]; then
    down_quiet
    echo "cluster.sh: up failed; what it made is taken down" >&2
  fi
  exit $rc
  ;;
down) down ;;
status)
  [ -f "$MADE" ] && [ -e /run/netns/$HEAD ] &&
    SLURM_CONF=$DIR/slurm.conf inhead sinfo -h >/dev/null 2>&1
  ;;
exec)
  shift
  [ -f "$MADE" ] || die "the cluster is not up"
  SLURM_CONF=$DIR/slurm.conf exec nsenter --net=/run/netns/$HEAD "$@"
  ;;
node)
  n=${2:-}
  shift 2 || die "usage: cluster.sh node N CMD..."
  pid=$(node_pid "$n")
  [ -n "$pid" ] || die "no node $n"
  SLURM_CONF=$DIR/slurm.conf exec nsenter -t "$pid" --net --uts --pid --mount "$@"
  ;;
*)
  echo "usage: cluster.sh up|down|status|exec CMD...|node N CMD..." >&2
  exit 2
  ;;
esac
