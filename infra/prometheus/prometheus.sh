# The local Prometheus, sourced by ./dev: built once from the Go module proxy and cached under
# FD_CACHE, started by `./dev up` on ports.tsv's port (9090) scraping every process of ports.tsv
# every 5 s, with the alert rules of kubernetes/components/monitoring/alerts.yaml loaded. PROMETHEUS=0
# leaves it out. Its data (two days) lives in FD_STATE/prometheus.
#
# Built without the web UI's assets (they are built with npm, which this build does not run):
# the HTTP API (/api/v1/query, /api/v1/targets, /api/v1/alerts, ...) and /federate answer, the
# UI pages do not. Point a Grafana at it for pictures (docs/observability.md).

# The Go module's version: Prometheus v3.16.0 (its Go modules are tagged v0.3xx.y).
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}

prometheus_wanted() { [[ ${PROMETHEUS:-1} != 0 ]]; }
prometheus_port() { port_of prometheus prometheus; }
prometheus_bin() { echo "$FD_CACHE/prometheus-$PROMETHEUS_VERSION/${1:-prometheus}"; }

# Built as FerretDB is (see provision_ferretdb): the exact version as a requirement of a
# throw-away module, copied out of the module cache and built with its own go.sum. Prometheus's
# repository is a Go workspace (go.work): building in module mode needs GOWORK=off. The
# service-discovery plugins for clouds are left out (remove_all_sd): only static targets here.
provision_prometheus() {
  [[ -x $(prometheus_bin) && -x $(prometheus_bin promtool) ]] && return 0
  # Its go.mod asks for Go 1.26.7: an older Go (1.21 or newer) fetches that toolchain itself.
  command -v go >/dev/null || die "Go 1.22 or newer is needed to build Prometheus (https://go.dev/doc/install); PROMETHEUS=0 leaves it out"
  step "building Prometheus $PROMETHEUS_VERSION from the Go module proxy" "about three minutes, once"
  local work module=github.com/prometheus/prometheus out; work=$(mktemp -d)
  out=$(dirname "$(prometheus_bin)")
  build_prometheus() { # every step chained: errexit does not apply inside `( ) || ...`
    local dir version
    cd "$work" &&
      printf 'module local/prometheus-build\n\ngo 1.22\n\nrequire %s %s\n' "$module" "$PROMETHEUS_VERSION" >go.mod &&
      dir=$(go list -f '{{.Module.Dir}}' "$module/cmd/prometheus") &&
      [[ -d $dir ]] &&
      cp -r "$dir" src && chmod -R u+w src &&
      version=$(cat src/VERSION) &&
      mkdir -p "$out" &&
      cd src && go build -trimpath -tags remove_all_sd \
        -ldflags "-X github.com/prometheus/common/version.Version=$version" \
        -o "$out/" ./cmd/prometheus ./cmd/promtool
  }
  mkdir -p "$FD_CACHE"
  : >"$FD_CACHE/prometheus-build.log"
  (export GOFLAGS=-mod=mod GOSUMDB=off GOWORK=off; build_prometheus) 2>&1 \
    | FOLLOW_LOG=$FD_CACHE/prometheus-build.log FOLLOW_SHOW='^go: ' follow "building Prometheus" || true
  rm -rf "$work"
  [[ -x $(prometheus_bin) && -x $(prometheus_bin promtool) ]] || {
    tail -n 20 "$FD_CACHE/prometheus-build.log" >&2
    die "building Prometheus $PROMETHEUS_VERSION failed (set PROMETHEUS_VERSION to try another, or PROMETHEUS=0 to go without)"
  }
  step_done
}

# The rules file inside the PrometheusRule: its `spec:`, two spaces less indented.
prometheus_rules() { # prometheus_rules OUT
  sed -n '/^spec:/,$p' "$ROOT/kubernetes/components/monitoring/alerts.yaml" | tail -n +2 | sed 's/^  //' >"$1"
}

# One job a process, named after it as the PodMonitor names them in Kubernetes (`job`), and
# `system="fooddelivery"` on each, which the alerts select.
prometheus_config() { # prometheus_config OUT
  local s
  {
    echo "# Written by ./dev up from ports.tsv; rewritten at every start."
    echo "global:"
    echo "  scrape_interval: 5s"
    echo "  evaluation_interval: 5s"
    echo "rule_files:"
    echo "  - alerts.rules.yml"
    echo "scrape_configs:"
    for s in "${SERVICES[@]}"; do
      echo "  - job_name: $s"
      echo "    static_configs:"
      echo "      - targets: ['127.0.0.1:$(service_port "$s")']"
      echo "        labels: {system: fooddelivery}"
    done
  } >"$1"
}

prometheus_ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(prometheus_port)/-/ready"; }

# Starts Prometheus, or has the running one read its configuration and rules again.
prometheus_up() {
  prometheus_wanted || return 0
  provision_prometheus
  local dir=$FD_STATE/prometheus pidf=$FD_STATE/run/prometheus.pid port
  port=$(prometheus_port)
  mkdir -p "$dir/data" "$FD_STATE/logs" "$FD_STATE/run"
  prometheus_config "$dir/prometheus.yml"
  prometheus_rules "$dir/alerts.rules.yml"
  "$(prometheus_bin promtool)" check config "$dir/prometheus.yml" >"$dir/check.log" 2>&1 \
    || { cat "$dir/check.log" >&2; die "the generated Prometheus configuration is not valid: $dir/prometheus.yml"; }
  if pid_alive "$pidf"; then
    kill -HUP "$(cat "$pidf")"
    return 0
  fi
  port_open "$port" && die "something ./dev did not start answers on $port: stop it, or PROMETHEUS=0"
  (cd "$dir" && detached nohup "$(prometheus_bin)" --config.file="$dir/prometheus.yml" \
    --web.listen-address="127.0.0.1:$port" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=2d --log.level=warn) >>"$FD_STATE/logs/prometheus.log" 2>&1 &
  echo $! >"$pidf"
  wait_for 30 "Prometheus on $port" prometheus_ready \
    || { tail -n 20 "$FD_STATE/logs/prometheus.log" >&2; die "Prometheus did not start (log: ./dev logs prometheus)"; }
}

# The summary's line, if it runs.
prometheus_summary() {
  prometheus_wanted || { printf '  metrics    no Prometheus (PROMETHEUS=0)\n'; return 0; }
  printf '  metrics    http://localhost:%s   Prometheus (API only: /api/v1/query?query=..., /api/v1/alerts; docs/observability.md)\n' "$(prometheus_port)"
}
