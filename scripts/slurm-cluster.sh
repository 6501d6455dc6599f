#!/usr/bin/env bash
# A throw-away one-node SLURM cluster on this machine, to try profiles/slurm (and to
# test it: tests/test_slurm.py). Everything lives in DIR: munge key and socket, slurm.conf,
# state, spool, logs; outside it only the link /etc/slurm/slurm.conf (see start).
#
#   scripts/slurm-cluster.sh start DIR [--cpus N] [--memory MB] [--gpus N]
#       configure and start munged, slurmctld and slurmd; wait until the node is idle
#       (exit 1 with the daemons' logs if it is not). The node declares N CPUs (default:
#       nproc), MB of memory (default: 90% of the machine's) and N GPUs (default 0).
#       Declared values may exceed the hardware (SlurmdParameters=config_overrides), so
#       that jobs sized for a real cluster are scheduled; nothing enforces them (no
#       cgroups). The GPUs are character devices that are copies of /dev/null: SLURM
#       allocates them and sets CUDA_VISIBLE_DEVICES; programs see no GPU.
#       It also links /etc/slurm/slurm.conf (SLURM's default, where a real cluster keeps
#       it) to DIR/slurm.conf: snakemake-executor-plugin-slurm-jobstep 0.6.1 removes
#       SLURM_CONF with the other SLURM_* variables before its `srun` inside each job.
#       It refuses to replace a configuration there that is not a link to a stopped one.
#   scripts/slurm-cluster.sh stop DIR
#       cancel this cluster's jobs, stop its three daemons (by the pids in DIR/run),
#       remove the link /etc/slurm/slurm.conf if it is this cluster's
#   scripts/slurm-cluster.sh env DIR
#       print `export SLURM_CONF=DIR/slurm.conf`: sbatch, squeue, sacct... then use it
#
# Needs root (SlurmUser=root; jobs run as root) and Debian's `slurm-wlm` and `munge`
# packages (SLURM 22.05 on Debian 12). No accounting database (slurmdbd): finished jobs
# are written to DIR/log/jobcomp.txt (JobCompType=jobcomp/filetxt), which
# `sacct --completion` reads.
set -euo pipefail

usage() { sed -n '2,27p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
dir=$2
shift 2
cpus=$(nproc)
# Below the machine's memory, so that slurmd never finds less than configured.
memory=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
gpus=0
while [ $# -gt 0 ]; do
    case $1 in
        --cpus) cpus=${2:-} ;;
        --memory) memory=${2:-} ;;
        --gpus) gpus=${2:-} ;;
        *) usage ;;
    esac
    [[ ${2:-} =~ ^[0-9]+$ ]] || usage
    shift 2
done
[ "$cpus" -gt 0 ] && [ "$memory" -gt 0 ] || usage

system_conf=/etc/slurm/slurm.conf
marker="# Written by scripts/slurm-cluster.sh"

fail() { echo "slurm-cluster: $*" >&2; exit 1; }

# /etc/slurm/slurm.conf -> DIR/slurm.conf, unless something else is there: a real
# configuration, or the link of a test cluster that is still running.
link_system_conf() {
    if [ -L "$system_conf" ] && { [ ! -e "$system_conf" ] || head -n 1 "$system_conf" | grep -q "^$marker"; }; then
        local other
        other=$(dirname "$(readlink "$system_conf")")
        ! daemon_pid "$other/run/slurmctld.pid" slurmctld >/dev/null \
            || fail "$system_conf: the test cluster in $other is running (scripts/slurm-cluster.sh stop $other)"
        rm "$system_conf"
    elif [ -e "$system_conf" ] || [ -L "$system_conf" ]; then
        fail "$system_conf exists: this machine has a SLURM configuration; not replacing it"
    fi
    mkdir -p "$(dirname "$system_conf")"
    ln -s "$dir/slurm.conf" "$system_conf"
}

start_cluster() {
    [ "$(id -u)" -eq 0 ] || fail "must run as root (SlurmUser=root)"
    local tool
    for tool in munged munge unmunge slurmctld slurmd sinfo sbatch squeue scancel sacct; do
        command -v "$tool" >/dev/null || fail "'$tool' not found: apt-get install slurm-wlm munge"
    done
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || fail "$dir exists and is not empty"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # munged refuses a socket in a folder that others cannot enter (pytest's temporary
    # folders are mode 700), and key or socket folders that others can write.
    chmod 755 "$dir"
    link_system_conf
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"

    local host ctld_port slurmd_port gres="" i
    host=$(hostname -s)
    # Free ports (not 6817/6818): a system SLURM or a second test cluster may be running.
    read -r ctld_port slurmd_port < <(python3 - <<'EOF'
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("", 0))
print(*(s.getsockname()[1] for s in sockets))
EOF
)

    head -c 1024 /dev/urandom > "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"

    if [ "$gpus" -gt 0 ]; then
        # SLURM drops a GPU without a device file; these are copies of /dev/null.
        mkdir -p "$dir/dev"
        : > "$dir/gres.conf"
        for ((i = 0; i < gpus; i++)); do
            mknod "$dir/dev/gpu$i" c 1 3 || fail "cannot create the GPU stand-in $dir/dev/gpu$i (mknod)"
            echo "NodeName=$host Name=gpu File=$dir/dev/gpu$i" >> "$dir/gres.conf"
        done
        gres=" Gres=gpu:$gpus"
    fi

    cat > "$dir/slurm.conf" <<EOF
$marker: a one-node test cluster.
ClusterName=krelectra-test
# Addresses given: no need for the host name to resolve.
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
MpiDefault=none
MailProg=/bin/true
GresTypes=gpu
# The node is what this file declares, whatever the hardware.
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: plain sacct has no data. Finished jobs go to a text file instead,
# read by 'sacct --completion'.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
# Finished jobs stay visible to squeue for 5 minutes: the executor plugin's
# 'squeue' status command needs that.
MinJobAge=300
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory$gres State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$dir/slurm.conf"

    # The daemons fork into the background; their early errors go to *.stderr.log (and
    # none keeps the caller's stdout open).
    munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed" </dev/null >"$dir/log/munged.stderr.log" 2>&1 \
        || startup_failed "munged did not start"
    wait_for "munge" munge_works 20
    # -c: a fresh state (no jobs or nodes from an earlier cluster).
    slurmctld -c -f "$SLURM_CONF" </dev/null >"$dir/log/slurmctld.stderr.log" 2>&1 \
        || startup_failed "slurmctld did not start"
    slurmd -f "$SLURM_CONF" </dev/null >"$dir/log/slurmd.stderr.log" 2>&1 \
        || startup_failed "slurmd did not start"
    wait_for "the node to be idle" node_is_idle 60
    echo "slurm-cluster: node $host ($cpus CPUs, $memory MB, $gpus GPUs) idle; export SLURM_CONF=$SLURM_CONF"
}

munge_works() {
    munge -n -S "$dir/munge/munge.socket" 2>/dev/null | unmunge -S "$dir/munge/munge.socket" >/dev/null 2>&1
}

node_is_idle() {
    [ "$(sinfo --noheader --Node --format=%T 2>/dev/null)" = "idle" ]
}

wait_for() {
    local what=$1 check=$2 seconds=$3 i
    for ((i = 0; i < seconds * 2; i++)); do
        "$check" && return 0
        sleep 0.5
    done
    startup_failed "timed out after ${seconds}s waiting for $what"
}

startup_failed() {
    echo "slurm-cluster: $1" >&2
    local log
    for log in "$dir"/log/*.log; do
        [ -f "$log" ] || continue
        echo "----- $log (last 40 lines)" >&2
        tail -n 40 "$log" >&2
    done
    sinfo --Node --long >&2 2>&1 || true
    stop_cluster
    exit 1
}

# The pid a daemon of this cluster wrote, if that process is still that daemon.
daemon_pid() {
    local pidfile=$1 name=$2 pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    echo "$pid"
}

stop_cluster() {
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    export SLURM_CONF="$dir/slurm.conf"
    local i pid name
    if daemon_pid "$dir/run/slurmctld.pid" slurmctld >/dev/null; then
        scancel --user="$(id -un)" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            [ -z "$(squeue --noheader --states=PENDING,RUNNING,COMPLETING 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    for name in slurmd slurmctld munged; do
        pid=$(daemon_pid "$dir/run/$name.pid" "$name") || continue
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -L "$system_conf" ] && [ "$(readlink "$system_conf")" = "$dir/slurm.conf" ]; then
        rm "$system_conf"
    fi
    return 0
}

case $command in
    start) start_cluster ;;
    stop) stop_cluster ;;
    env) echo "export SLURM_CONF=$(cd "$dir" && pwd)/slurm.conf" ;;
    *) usage ;;
esac
