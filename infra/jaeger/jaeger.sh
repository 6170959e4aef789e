# The local Jaeger, sourced by ./dev: built once from the Go module proxy and cached under
# FD_CACHE, started by `./dev up` before the services, which then export their traces to it over
# OTLP (OTEL_EXPORTER_OTLP_ENDPOINT). ports.tsv's `jaeger` rows: the query API (and UI) on
# 16686, OTLP over gRPC on 4317 and over HTTP on 4318. JAEGER=0 leaves it out. Traces are kept
# in memory, the newest 50,000 (JAEGER_MAX_TRACES), so they go with the process: nothing on disk.
#
# Built without the web UI's assets (they are built with npm from another repository, which
# this build does not do): the query API (/api/services, /api/traces/<id>,
# /api/traces?service=...&tags=...) answers, and the UI's address shows Jaeger's placeholder
# page. Point a Grafana's Jaeger data source at it for pictures (docs/observability.md).

# Jaeger tags each release twice: v1.75.0 (the Go module's version) is Jaeger v2.12.0, whose
# binary is ./cmd/jaeger (an OpenTelemetry Collector with Jaeger's storage and query inside).
JAEGER_VERSION=v1.75.0
JAEGER_V2_VERSION=v2.12.0

jaeger_wanted() { [[ ${JAEGER:-1} != 0 ]]; }
jaeger_port() { port_of jaeger "${1:-ui}"; }
jaeger_bin() { echo "$FD_CACHE/jaeger-$JAEGER_VERSION/jaeger"; }

# Built as Prometheus is (see provision_prometheus): the exact version as a requirement of a
# throw-away module, copied out of the module cache and built with its own go.sum (GOWORK=off:
# a workspace file must not take part). The version is Jaeger's own -ldflags variable.
provision_jaeger() {
  [[ -x $(jaeger_bin) ]] && return 0
  # Its go.mod asks for Go 1.24.6: an older Go (1.21 or newer) fetches that toolchain itself.
  command -v go >/dev/null || die "Go 1.22 or newer is needed to build Jaeger (https://go.dev/doc/install); JAEGER=0 leaves it out"
  step "building Jaeger $JAEGER_V2_VERSION from the Go module proxy" "about 7 minutes on 2 cores, once"
  local work module=github.com/jaegertracing/jaeger out; work=$(mktemp -d)
  out=$(dirname "$(jaeger_bin)")
  build_jaeger() { # every step chained: errexit does not apply inside `( ) || ...`
    local dir
    cd "$work" &&
      printf 'module local/jaeger-build\n\ngo 1.22\n\nrequire %s %s\n' "$module" "$JAEGER_VERSION" >go.mod &&
      dir=$(go list -f '{{.Module.Dir}}' "$module/cmd/jaeger") &&
      [[ -d $dir ]] &&
      cp -r "$dir" src && chmod -R u+w src &&
      mkdir -p "$out" &&
      cd src && go build -trimpath \
        -ldflags "-X $module/internal/version.latestVersion=$JAEGER_V2_VERSION" \
        -o "$out/" ./cmd/jaeger
  }
  mkdir -p "$FD_CACHE"
  : >"$FD_CACHE/jaeger-build.log"
  (export GOFLAGS=-mod=mod GOSUMDB=off GOWORK=off; build_jaeger) 2>&1 \
    | FOLLOW_LOG=$FD_CACHE/jaeger-build.log FOLLOW_SHOW='^go: ' follow "building Jaeger" || true
  rm -rf "$work"
  [[ -x $(jaeger_bin) ]] || {
    tail -n 20 "$FD_CACHE/jaeger-build.log" >&2
    die "building Jaeger $JAEGER_VERSION failed (JAEGER=0 to go without)"
  }
  step_done
}

# Our own configuration rather than the built-in all-in-one one: every listener on 127.0.0.1
# (the built-in one also opens Jaeger's and Zipkin's legacy receivers, remote sampling, zpages
# and more), OTLP only, and the in-memory store bounded. Jaeger's own metrics are off.
jaeger_config() { # jaeger_config OUT
  cat >"$1" <<EOF
# Written by ./dev up from ports.tsv; rewritten at every start.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${JAEGER_MAX_TRACES:-50000}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$(jaeger_port ui)
    # Its gRPC query API: Jaeger's default port, on loopback.
    grpc:
      endpoint: 127.0.0.1:16685

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$(jaeger_port otlp-grpc)
      http:
        endpoint: 127.0.0.1:$(jaeger_port otlp-http)

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

# Ready when the query API answers and both OTLP receivers listen (the receivers start last).
jaeger_ready() {
  curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(jaeger_port)/api/services" &&
    port_open "$(jaeger_port otlp-grpc)" && port_open "$(jaeger_port otlp-http)"
}

# Starts Jaeger; a running one stays (its traces are in memory), unless its configuration changed.
jaeger_up() {
  jaeger_wanted || return 0
  provision_jaeger
  local dir=$FD_STATE/jaeger pidf=$FD_STATE/run/jaeger.pid port
  port=$(jaeger_port)
  mkdir -p "$dir" "$FD_STATE/logs" "$FD_STATE/run"
  jaeger_config "$dir/jaeger.yaml.new"
  if pid_alive "$pidf"; then
    if cmp -s "$dir/jaeger.yaml.new" "$dir/jaeger.yaml"; then
      rm -f "$dir/jaeger.yaml.new"
      return 0
    fi
    log "Jaeger's configuration changed: restarting it (its traces are lost)"
    stop_pidfile jaeger
  fi
  mv "$dir/jaeger.yaml.new" "$dir/jaeger.yaml"
  local p
  for p in "$port" "$(jaeger_port otlp-grpc)" "$(jaeger_port otlp-http)"; do
    port_open "$p" && die "something ./dev did not start answers on $p: stop it, or JAEGER=0"
  done
  (cd "$dir" && detached nohup "$(jaeger_bin)" --config="$dir/jaeger.yaml") \
    >>"$FD_STATE/logs/jaeger.log" 2>&1 &
  echo $! >"$pidf"
  wait_for 30 "Jaeger on $port" jaeger_ready \
    || { tail -n 20 "$FD_STATE/logs/jaeger.log" >&2; die "Jaeger did not start (log: ./dev logs jaeger)"; }
}

# What a service's environment gets: where to export its spans (the caller's
# OTEL_EXPORTER_OTLP_ENDPOINT, else the local Jaeger if it runs, else nowhere: a service exports
# nothing without it), and the fraction of new traces recorded, 0.1 unless the caller says (a
# request that arrives with a sampled traceparent is recorded whatever it is).
jaeger_service_env() {
  if [[ -n ${OTEL_EXPORTER_OTLP_ENDPOINT:-} ]]; then
    echo "OTEL_EXPORTER_OTLP_ENDPOINT=$OTEL_EXPORTER_OTLP_ENDPOINT"
  elif jaeger_wanted && pid_alive "$FD_STATE/run/jaeger.pid"; then
    echo "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$(jaeger_port otlp-grpc)"
  fi
  echo "OTEL_TRACES_SAMPLER_ARG=${OTEL_TRACES_SAMPLER_ARG:-0.1}"
}

# The summary's line, if it runs.
jaeger_summary() {
  jaeger_wanted || { printf '  traces     no Jaeger (JAEGER=0)\n'; return 0; }
  printf '  traces     http://localhost:%s   Jaeger (API only: /api/traces?service=order&tags={"order.id":"<id>"}; OTLP on %s; docs/observability.md)\n' \
    "$(jaeger_port)" "$(jaeger_port otlp-grpc)"
}
