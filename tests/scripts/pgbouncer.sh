#!/usr/bin/env bash
# A real PgBouncer (Debian's package) on loopback, transaction pooling, in front of
# the machine's PostgreSQL (DATABASE_URL host/port).
#   pgbouncer.sh start DIR PORT [POOL_SIZE]   install if needed, write config into DIR, start, wait
#   pgbouncer.sh stop DIR                     stop it and remove DIR
# Clients connect as user postgres to database "test" at 127.0.0.1:PORT.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

cmd=${1:?usage: pgbouncer.sh start|stop DIR [PORT] [POOL_SIZE]}
dir=${2:?usage: pgbouncer.sh $cmd DIR}

case "$cmd" in
start)
    port=${3:?usage: pgbouncer.sh start DIR PORT [POOL_SIZE]}
    pool_size=${4:-8}
    apt_install pgbouncer pgbouncer
    # Debian's package starts a system instance on 6432; we run our own.
    pg_host=$(url_host "$DATABASE_URL"); pg_port=$(url_port "$DATABASE_URL" 5432)
    rm -rf "$dir"; mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
test = host=$pg_host port=$pg_port dbname=test user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
max_db_connections = $pool_size
; sqlx sends these startup parameters; PgBouncer must not refuse them
ignore_startup_parameters = extra_float_digits,options
; named prepared statements a client leaves behind on a server connection are
; dropped when the server connection goes back to PgBouncer's pool
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = postgres
INI
    echo '"postgres" ""' >"$dir/userlist.txt"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
    as_postgres pgbouncer -d "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log" >&2 || true; exit 1; }
    for _ in $(seq 1 100); do
        tcp_open 127.0.0.1 "$port" && exit 0
        sleep 0.1
    done
    echo "pgbouncer did not start listening on 127.0.0.1:$port" >&2
    cat "$dir/pgbouncer.log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pgbouncer.pid" ]; then
        pid=$(cat "$dir/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
