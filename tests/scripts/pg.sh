#!/usr/bin/env bash
# A throwaway PostgreSQL instance on its own loopback port, controlled by the tests.
#   pg.sh init  DIR PORT   initdb (trust auth, fsync off) into DIR, then start it
#   pg.sh start DIR        start (waits until it accepts connections)
#   pg.sh stop  DIR        stop immediately (-m immediate: like a crash)
#   pg.sh destroy DIR      stop if running, remove DIR
# Runs the server as the postgres OS user when invoked as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

cmd=${1:?usage: pg.sh init|start|stop|destroy DIR [PORT]}
dir=${2:?usage: pg.sh $cmd DIR}
bin=$(pg_bindir)

case "$cmd" in
init)
    port=${3:?usage: pg.sh init DIR PORT}
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 32MB
CONF
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
    as_postgres psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
    ;;
start)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
    ;;
stop)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null
    ;;
destroy)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
