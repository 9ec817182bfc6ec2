#!/usr/bin/env bash
# Makes sure the machine's database services answer: PostgreSQL (DATABASE_URL),
# MariaDB (MYSQL_URL) and Redis (REDIS_URL). A service that is down is started
# with the machine's own command when it is installed here; otherwise this
# says exactly what is missing and fails.
set -uo pipefail
: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/test}"
: "${MYSQL_URL:=mysql://root@127.0.0.1:3306/test}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"

hostport() { local a="${1#*://}"; a="${a%%[/?#]*}"; a="${a##*@}"; case "$a" in *:*) echo "${a%%:*} ${a##*:}";; *) echo "$a $2";; esac; }
up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_up() { for _ in $(seq 1 60); do up "$1" "$2" && return 0; sleep 0.5; done; return 1; }

status=0
check() { # name url default-port start-command
    local name=$1 url=$2 port=$3 start=$4 h p
    read -r h p < <(hostport "$url" "$port")
    up "$h" "$p" && return 0
    if [ "$h" = 127.0.0.1 ] || [ "$h" = localhost ]; then
        echo "services: $name is not answering at $h:$p; starting it: $start"
        bash -c "$start" >/dev/null 2>&1 || true
        wait_up "$h" "$p" && return 0
    fi
    echo "services: MISSING: $name at $h:$p (from ${url%%://*}://...); start it with: $start" >&2
    status=1
}
check PostgreSQL "$DATABASE_URL" 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
check MariaDB "$MYSQL_URL" 3306 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'
check Redis "$REDIS_URL" 6379 'mkdir -p /var/lib/redis /var/log/redis; redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
exit $status
