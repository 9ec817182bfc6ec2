#!/usr/bin/env bash
# Helpers for the connector tests (source this file).
# The machine's real services: PostgreSQL 127.0.0.1:5432 (trust, user postgres, db test),
# MariaDB 127.0.0.1:3306 (root, no password, db test), Redis 127.0.0.1:6379.
# Each check fails with a message saying exactly what is missing.

: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/test}"
: "${MYSQL_URL:=mysql://root@127.0.0.1:3306/test}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
export DATABASE_URL MYSQL_URL REDIS_URL

UNIPOOL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export UNIPOOL_SCRIPTS_DIR

# host and port of a URL like scheme://[user[:pw]@]host:port/...
url_host() { local a="${1#*://}"; a="${a%%[/?#]*}"; a="${a##*@}"; echo "${a%%:*}"; }
url_port() { local a="${1#*://}"; a="${a%%[/?#]*}"; a="${a##*@}"; case "$a" in *:*) echo "${a##*:}";; *) echo "$2";; esac; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

require_postgres() {
    local h p; h=$(url_host "$DATABASE_URL"); p=$(url_port "$DATABASE_URL" 5432)
    if ! tcp_open "$h" "$p"; then
        echo "MISSING: PostgreSQL is not accepting connections at $h:$p (DATABASE_URL). Start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
        return 1
    fi
    if command -v psql >/dev/null && ! psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
        echo "MISSING: PostgreSQL at $h:$p answers but 'SELECT 1' as the DATABASE_URL user failed (need user postgres, db test, trust auth)" >&2
        return 1
    fi
}

require_mysql() {
    local h p; h=$(url_host "$MYSQL_URL"); p=$(url_port "$MYSQL_URL" 3306)
    if ! tcp_open "$h" "$p"; then
        echo "MISSING: MariaDB/MySQL is not accepting connections at $h:$p (MYSQL_URL). Start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd" >&2
        return 1
    fi
}

require_redis() {
    local h p; h=$(url_host "$REDIS_URL"); p=$(url_port "$REDIS_URL" 6379)
    if ! tcp_open "$h" "$p"; then
        echo "MISSING: Redis is not accepting connections at $h:$p (REDIS_URL). Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2
        return 1
    fi
}

# apt-get install -y, once, only when a command is missing.
UNIPOOL_APT_UPDATED=${UNIPOOL_APT_UPDATED:-0}
apt_install() { # apt_install COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then echo "MISSING: $1 (package $2) and not root to install it" >&2; return 1; fi
    if [ "$UNIPOOL_APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
        UNIPOOL_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 \
        || { echo "MISSING: could not apt-get install $2 (for $1)" >&2; return 1; }
    command -v "$1" >/dev/null 2>&1 || { echo "MISSING: $1 not found after installing $2" >&2; return 1; }
}

# Run a command as the postgres OS user when we are root (postgres refuses root).
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Directory with initdb/pg_ctl (newest installed major version).
pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v pg_ctl >/dev/null 2>&1 && { dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; }
    echo "MISSING: initdb/pg_ctl not found under /usr/lib/postgresql/*/bin (package postgresql)" >&2
    return 1
}
