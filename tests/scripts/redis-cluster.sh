#!/usr/bin/env bash
# A 3-master Redis Cluster on loopback ports, for the tests.
#   redis-cluster.sh start DIR FIRST_PORT    ports FIRST_PORT..FIRST_PORT+2; waits for cluster_state:ok
#   redis-cluster.sh stop DIR FIRST_PORT     shut the nodes down and remove DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

cmd=${1:?usage: redis-cluster.sh start|stop DIR FIRST_PORT}
dir=${2:?usage: redis-cluster.sh $cmd DIR FIRST_PORT}
first=${3:?usage: redis-cluster.sh $cmd DIR FIRST_PORT}
ports="$first $((first + 1)) $((first + 2))"

case "$cmd" in
start)
    apt_install redis-server redis-server
    apt_install redis-cli redis-tools
    rm -rf "$dir"; mkdir -p "$dir"
    for p in $ports; do
        mkdir -p "$dir/$p"
        redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 5000 \
            --dir "$dir/$p" --save '' --appendonly no --daemonize yes \
            --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log"
    done
    for p in $ports; do
        for _ in $(seq 1 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    nodes=""; for p in $ports; do nodes="$nodes 127.0.0.1:$p"; done
    # shellcheck disable=SC2086
    redis-cli --cluster create $nodes --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
        || { cat "$dir/create.log" >&2; exit 1; }
    for _ in $(seq 1 100); do
        ok=1
        for p in $ports; do
            redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
        done
        [ "$ok" = 1 ] && exit 0
        sleep 0.1
    done
    echo "Redis Cluster on ports $ports did not reach cluster_state:ok" >&2
    exit 1
    ;;
stop)
    for p in $ports; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$dir"
    ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
