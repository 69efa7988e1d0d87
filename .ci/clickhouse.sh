#!/usr/bin/env bash
# A throwaway two-shard ClickHouse cluster on loopback, for the tests of the
# benchmarks module's clickhouse package: two clickhouse-server processes
# (Debian's clickhouse-server package, 18.16), each with its own config and
# data folder, both naming the cluster segmentkit_2shards (shard 1 is the
# first server, shard 2 the second, one replica each).
#
#   .ci/clickhouse.sh start   installs ClickHouse if missing (Debian's
#                             clickhouse-server and clickhouse-client, as
#                             root; the system service the package sets up
#                             is stopped and disabled), writes both servers'
#                             configs in a temporary folder, starts them,
#                             waits until both answer SELECT 1 over HTTP and
#                             prints the lines to export for the tests:
#                               eval "$(.ci/clickhouse.sh start)"
#   .ci/clickhouse.sh stop    stops both and removes the folder.
#   .ci/clickhouse.sh status  succeeds when both run and answer.
#   .ci/clickhouse.sh env     prints the lines to export, as start does.
#
# The lines are
#   SEGMENTKIT_TEST_CLICKHOUSE         the first server's HTTP URL, where
#                                      queries go
#   SEGMENTKIT_TEST_CLICKHOUSE_SHARDS  every server's HTTP URL, in shard
#                                      order, separated by spaces
#
# SEGMENTKIT_CH_DIR (default $TMPDIR/segmentkit-clickhouse) is the folder;
# SEGMENTKIT_CH_HTTP_PORTS (default "18123 18124"), SEGMENTKIT_CH_TCP_PORTS
# ("19000 19001") and SEGMENTKIT_CH_INTERSERVER_PORTS ("19009 19010") are
# the two servers' ports, all on 127.0.0.1. The user default has no
# password: the servers are for tests only. As root they run as the
# clickhouse user the package creates.
set -euo pipefail

dir=${SEGMENTKIT_CH_DIR:-${TMPDIR:-/tmp}/segmentkit-clickhouse}
read -r -a http_ports <<<"${SEGMENTKIT_CH_HTTP_PORTS:-18123 18124}"
read -r -a tcp_ports <<<"${SEGMENTKIT_CH_TCP_PORTS:-19000 19001}"
read -r -a interserver_ports <<<"${SEGMENTKIT_CH_INTERSERVER_PORTS:-19009 19010}"
cluster=segmentkit_2shards

log() { printf '%s\n' "$*" >&2; }

if ((${#http_ports[@]} != 2 || ${#tcp_ports[@]} != 2 || ${#interserver_ports[@]} != 2)); then
	log "SEGMENTKIT_CH_HTTP_PORTS, SEGMENTKIT_CH_TCP_PORTS and SEGMENTKIT_CH_INTERSERVER_PORTS must name two ports each"
	exit 2
fi

server_bin() { command -v clickhouse-server || { [[ -x /usr/sbin/clickhouse-server ]] && echo /usr/sbin/clickhouse-server; } || true; }

install_clickhouse() {
	local pkgs=()
	if [[ -z "$(server_bin)" ]] || ! command -v clickhouse-client >/dev/null 2>&1; then
		pkgs+=(clickhouse-server clickhouse-client)
	fi
	if ! command -v curl >/dev/null 2>&1; then
		pkgs+=(curl)
	fi
	if ((${#pkgs[@]} == 0)); then
		return
	fi
	if [[ $(id -u) -ne 0 ]]; then
		log "missing: ${pkgs[*]}; install them (apt-get install ${pkgs[*]}) or run this as root"
		exit 1
	fi
	log "installing ${pkgs[*]} (apt-get install)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q "${pkgs[@]}" >&2
	# The package enables a system service on the default ports; the tests
	# do not use it, and it should not hold memory or ports.
	if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
		systemctl disable --now clickhouse-server >&2 || true
	elif [[ -x /etc/init.d/clickhouse-server ]]; then
		/etc/init.d/clickhouse-server stop >&2 2>&1 || true
	fi
}

url() { echo "http://127.0.0.1:${http_ports[$1]}"; }

print_env() {
	echo "export SEGMENTKIT_TEST_CLICKHOUSE='$(url 0)'"
	echo "export SEGMENTKIT_TEST_CLICKHOUSE_SHARDS='$(url 0) $(url 1)'"
}

# answers succeeds when server i answers SELECT 1 over HTTP.
answers() {
	local out
	out=$(curl -fsS --max-time 2 "$(url "$1")/?query=SELECT%201" 2>/dev/null) || return 1
	[[ "$out" == 1 ]]
}

# running succeeds when server i's process, as recorded at start, lives.
running() {
	local pid
	pid=$(cat "$dir/s$1/server.pid" 2>/dev/null) || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

status() {
	local i
	for i in 0 1; do
		if ! running "$i" || ! answers "$i"; then
			return 1
		fi
	done
	log "ClickHouse runs in $dir: shards $(url 0) and $(url 1), cluster $cluster"
	return 0
}

write_config() {
	local i=$1 d="$dir/s$1"
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
	cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by .ci/clickhouse.sh: shard $((i + 1)) of the test cluster $cluster. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$d/server.log</log>
        <errorlog>$d/server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>${http_ports[$i]}</http_port>
    <tcp_port>${tcp_ports[$i]}</tcp_port>
    <interserver_http_port>${interserver_ports[$i]}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
    <remote_servers>
        <$cluster>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>${tcp_ports[0]}</port>
                </replica>
            </shard>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>${tcp_ports[1]}</port>
                </replica>
            </shard>
        </$cluster>
    </remote_servers>
</yandex>
EOF
	cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>8000000000</max_memory_usage>
            <load_balancing>in_order</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

# as runs a command as the servers' user: clickhouse when we are root.
as() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u clickhouse -- "$@"
	else
		"$@"
	fi
}

start_server() {
	local d="$dir/s$1" bin
	shift
	bin=$(server_bin)
	# setsid: the server is no child of a terminal or of the caller's
	# process group; its output goes to files, so a caller reading this
	# script's output (a Go test) is not held open by it.
	setsid bash -c 'echo $$ >"$1"; exec "${@:2}"' _ "$d/server.pid" \
		"$@" "$bin" --config-file="$d/config.xml" \
		</dev/null >"$d/stdout.log" 2>&1 &
}

fail_with_logs() {
	local i
	log "$1"
	for i in 0 1; do
		log "--- shard $((i + 1)): tail of $dir/s$i/stdout.log and server.err.log"
		tail -n 20 "$dir/s$i/stdout.log" >&2 2>/dev/null || true
		tail -n 30 "$dir/s$i/server.err.log" >&2 2>/dev/null || true
	done
	stop
	exit 1
}

start() {
	install_clickhouse
	if status; then
		print_env
		return
	fi
	if [[ -d "$dir" ]]; then
		stop
	fi
	mkdir -p "$dir"
	local i
	for i in 0 1; do
		if answers "$i"; then
			log "something already answers on $(url "$i"); choose other ports (SEGMENTKIT_CH_HTTP_PORTS)"
			exit 1
		fi
		write_config "$i"
	done
	if [[ $(id -u) -eq 0 ]]; then
		chown -R clickhouse: "$dir"
		if ! setpriv --reuid=clickhouse --regid=clickhouse --init-groups -- test -w "$dir/s0/data"; then
			log "the clickhouse user cannot write in $dir (a parent folder closed to it?): choose another SEGMENTKIT_CH_DIR"
			rm -rf "$dir"
			exit 1
		fi
	fi
	log "starting ClickHouse shards on $(url 0) and $(url 1) (folder $dir)"
	for i in 0 1; do
		if [[ $(id -u) -eq 0 ]]; then
			# setpriv execs the server itself (runuser would stay as its
			# parent), so the recorded pid is the server's.
			start_server "$i" setpriv --reuid=clickhouse --regid=clickhouse --init-groups --
		else
			start_server "$i"
		fi
	done
	local deadline=$((SECONDS + 60)) ok
	while :; do
		ok=0
		for i in 0 1; do
			if answers "$i"; then
				ok=$((ok + 1))
			elif [[ -f "$dir/s$i/server.pid" ]] && ! running "$i"; then
				fail_with_logs "ClickHouse shard $((i + 1)) exited at start"
			fi
		done
		((ok == 2)) && break
		if ((SECONDS > deadline)); then
			fail_with_logs "ClickHouse does not answer SELECT 1 on $(url 0) and $(url 1) after 60 s"
		fi
		sleep 0.2
	done
	print_env
}

stop() {
	local i pid n
	for i in 0 1; do
		pid=$(cat "$dir/s$i/server.pid" 2>/dev/null) || continue
		[[ -n "$pid" ]] || continue
		if kill -0 "$pid" 2>/dev/null; then
			log "stopping ClickHouse shard $((i + 1)) (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for i in 0 1; do
		pid=$(cat "$dir/s$i/server.pid" 2>/dev/null) || continue
		[[ -n "$pid" ]] || continue
		for ((n = 0; n < 150; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "ClickHouse shard $((i + 1)) (pid $pid) did not stop in 30 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
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
