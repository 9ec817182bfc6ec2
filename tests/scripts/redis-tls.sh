#!/usr/bin/env bash
# A Redis server speaking only TLS on a loopback port, with a throwaway self-signed certificate.
#   redis-tls.sh start DIR PORT   make a CA and server certificate with openssl, start redis-server
#   redis-tls.sh stop DIR PORT    shut it down and remove DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"

cmd=${1:?usage: redis-tls.sh start|stop DIR PORT}
dir=${2:?usage: redis-tls.sh $cmd DIR PORT}
port=${3:?usage: redis-tls.sh $cmd DIR PORT}

case "$cmd" in
start)
    apt_install redis-server redis-server
    apt_install openssl openssl
    rm -rf "$dir"; mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unipool-test-ca" \
            -keyout ca.key -out ca.crt >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr >/dev/null 2>&1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out server.crt >/dev/null 2>&1
    ) || { echo "could not make a test certificate with openssl" >&2; exit 1; }
    redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 \
        --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key" \
        --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no \
        --dir "$dir" --save '' --appendonly no --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 1 100); do
        tcp_open 127.0.0.1 "$port" && exit 0
        sleep 0.1
    done
    echo "TLS redis-server did not listen on 127.0.0.1:$port" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/redis.pid" ]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir"
    ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
