#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the export tests.
#
#   .ci/postgres.sh start   installs PostgreSQL if missing (Debian's
#                           postgresql package, as root), creates a cluster
#                           in a temporary folder, starts it on 127.0.0.1
#                           and prints the line to export for the tests:
#                             eval "$(.ci/postgres.sh start)"
#   .ci/postgres.sh stop    stops it and removes the folder.
#   .ci/postgres.sh status  succeeds when it runs.
#   .ci/postgres.sh env     prints the line to export, as start does.
#
# SEGMENTKIT_PG_PORT (default 54329) and SEGMENTKIT_PG_DIR (default
# $TMPDIR/segmentkit-postgres) choose the port and the folder. The server
# trusts every local connection: it is for tests only. PostgreSQL refuses to
# run as root, so as root the server runs as the postgres user.
set -euo pipefail

port=${SEGMENTKIT_PG_PORT:-54329}
dir=${SEGMENTKIT_PG_DIR:-${TMPDIR:-/tmp}/segmentkit-postgres}
url="postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable"

log() { printf '%s\n' "$*" >&2; }

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -n "$d" && -x "$d/initdb" ]]; then
		echo "$d"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

install_postgres() {
	if [[ -n "$(bindir)" ]]; then
		return
	fi
	if [[ $(id -u) -ne 0 ]]; then
		log "PostgreSQL is not installed; install it (apt-get install postgresql) or run this as root"
		exit 1
	fi
	log "installing PostgreSQL (apt-get install postgresql)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q postgresql >&2
}

# as runs a command as the server's user: postgres when we are root.
as() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

print_env() { echo "export SEGMENTKIT_TEST_POSTGRES='$url'"; }

status() {
	local bin
	bin=$(bindir)
	if [[ -n "$bin" && -f "$dir/data/postmaster.pid" ]] && as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		log "PostgreSQL runs in $dir on 127.0.0.1:$port"
		return 0
	fi
	return 1
}

start() {
	install_postgres
	local bin
	bin=$(bindir)
	if status; then
		print_env
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$dir"
	fi
	log "initdb in $dir/data"
	as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	log "starting PostgreSQL on 127.0.0.1:$port"
	if ! as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >&2; then
		cat "$dir/server.log" >&2 || true
		exit 1
	fi
	print_env
}

stop() {
	local bin
	bin=$(bindir)
	if [[ -n "$bin" && -f "$dir/data/postmaster.pid" ]]; then
		log "stopping PostgreSQL in $dir"
		as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
env) print_env ;;
*)
	log "usage: $0 start|stop|status|env"
	exit 2
	;;
esac
