# shellcheck shell=bash
# h2_lib.sh: an nginx HTTP/2 front (TLS with ALPN h2, and h2c prior knowledge) proxying to the
# plain mock provider over HTTP/1.1, for the HTTP/2 tests (t85..t89). Source after lib.sh.
#
# nginx_h2_up: sets H2_PORT (TLS, h2 by ALPN), H2C_PORT (cleartext HTTP/2 only),
# H2URL=https://localhost:$H2_PORT, H2CURL=http://127.0.0.1:$H2C_PORT; returns 1 if nginx is
# missing or does not start (the caller FAILs: nginx-light is a test dependency).

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_h2_up() {
	local d=$W/nginx i nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$nginx" ] || { echo "nginx not installed (scripts/install-deps.sh: nginx-light)" >&2; return 1; }
	mkdir -p "$d/tmp"
	H2_PORT=$(free_port)
	H2C_PORT=$(free_port)
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	http2_max_requests 10000;
	keepalive_requests 10000;
	server {
		listen 127.0.0.1:$H2_PORT ssl http2;
		listen 127.0.0.1:$H2C_PORT http2;
		server_name localhost;
		ssl_certificate $AP_CERT;
		ssl_certificate_key $AP_KEY;
		location / {
			proxy_pass http://127.0.0.1:$MOCK_PORT;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
			proxy_read_timeout 60s;
		}
	}
}
CONF
	"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 2>"$d/stderr" &
	_AP_PIDS="$_AP_PIDS $!"
	for i in $(seq 1 50); do
		if curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$H2C_PORT/health"; then
			H2URL=https://localhost:$H2_PORT
			H2CURL=http://127.0.0.1:$H2C_PORT
			export H2_PORT H2C_PORT H2URL H2CURL
			return 0
		fi
		sleep 0.1
	done
	echo "nginx did not start: $(tail -3 "$d/stderr" "$d/error.log" 2>/dev/null)" >&2
	return 1
}
