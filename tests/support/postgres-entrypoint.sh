#!/usr/bin/env bash
# The entrypoint of `make engine`'s stand-in for the official postgres image (engine.py),
# written to the contract the official image documents, which is what the platform uses:
#   - a first argument that is a flag runs `postgres` with the arguments;
#   - an empty PGDATA is initialised first: initdb as POSTGRES_USER (default postgres) with
#     POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and
#     POSTGRES_INITDB_ARGS, other hosts admitted with the server's password_encryption method
#     (scram-sha-256), then POSTGRES_DB (default: the user) created on a server listening on
#     its socket only, and the files of /docker-entrypoint-initdb.d run; a PGDATA that holds a
#     database is used as it is;
#   - a UID without an /etc/passwd entry gets one through nss_wrapper for initdb;
#   - started as root, it hands the files to `postgres` and runs as that user.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || :
if [ "$(id -u)" = 0 ]; then
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
		echo "Error: Database is uninitialized and superuser password is not specified." >&2
		echo "       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
		exit 1
	fi
	if ! getent passwd "$(id -u)" >/dev/null; then
		for wrapper in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
			if [ -s "$wrapper" ]; then
				NSS_WRAPPER_PASSWD=$(mktemp)
				NSS_WRAPPER_GROUP=$(mktemp)
				export LD_PRELOAD=$wrapper NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
				printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
				printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
				break
			fi
		done
	fi
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several arguments
	initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-}
	if [ -n "${LD_PRELOAD:-}" ]; then
		rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
		unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
	fi
	method=${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption "${@:2}")}
	printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"

	pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${@:2}") -c listen_addresses='' -p ${PGPORT:-5432}" -w start
	sql=(psql -v ON_ERROR_STOP=1 --username "$user" --no-password --no-psqlrc)
	if [ -z "$("${sql[@]}" --dbname postgres --tuples-only --set db="$database" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")" ]; then
		"${sql[@]}" --dbname postgres --set db="$database" <<<'CREATE DATABASE :"db";'
	fi
	for file in /docker-entrypoint-initdb.d/*; do
		case "$file" in
			*.sh)
				echo "running $file"
				# shellcheck disable=SC1090 # the image user's own scripts
				. "$file"
				;;
			*.sql) echo "running $file"; "${sql[@]}" --dbname "$database" -f "$file" ;;
			*) if [ -e "$file" ]; then echo "ignoring $file"; fi ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop
	printf '\nPostgreSQL init process complete; ready for start up.\n\n'
else
	printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
fi

exec "$@"
