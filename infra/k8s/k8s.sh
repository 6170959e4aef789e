# A local Kubernetes control plane without containers, sourced by ./dev: etcd and
# kube-apiserver, built once from the Go module proxy and cached under FD_CACHE, started by
# `./dev k8s up` on ports.tsv's `etcd` and `kube-apiserver` rows, state under FD_STATE/k8s.
# .ci/check-k8s-admission applies every overlay of kubernetes/ to it, so a manifest the API
# server would reject (a field it does not know, a cross-field rule, Pod Security admission, a
# kind no CRD defines) fails the tests rather than a deployment.
#
# Only the API server runs: no scheduler, no controller manager, no kubelet. Objects are
# admitted, defaulted and stored as in a real cluster, but nothing acts on them (a Deployment
# makes no ReplicaSet, a Namespace is deleted only once emptied and finalized by hand).
#
# The CRDs the manifests use (KEDA's ScaledObject and TriggerAuthentication, the Prometheus Operator's PodMonitor and
# PrometheusRule, CloudNativePG's Cluster, Pooler and Database) are copied out of those projects'
# Go modules at pinned versions; Strimzi's (Kafka, KafkaNodePool, KafkaTopic, KafkaUser) out of
# its API's tests jar on Maven Central.

K8S_VERSION=v1.37.2
# The k8s.io/* modules kube-apiserver is built from, tagged v0.<minor>.<patch> for each release.
K8S_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
# KEDA v2.21 needs a newer Go than 1.26 to be downloaded; v2.20's ScaledObject
# (keda.sh/v1alpha1) has every field the manifests use.
KEDA_VERSION=v2.20.2
# The newest version of the operator's root module (the one holding the CRDs) the Go module
# proxy serves.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
# The newest io.strimzi:api whose tests jar still carries the CRDs (its crds/ folder; 1.2.0's
# has none). Their kafka.strimzi.io/v1 API is the one Strimzi 0.49 and later serve, 1.x included.
STRIMZI_VERSION=0.51.0
# The proxy lists no versions of this module: an exact one is asked for.
CNPG_VERSION=v1.30.0

k8s_port() { port_of kube-apiserver https; }
etcd_port() { port_of etcd "${1:-client}"; }
k8s_bin() { echo "$FD_CACHE/kubernetes-$K8S_VERSION/$1"; }
etcd_bin() { echo "$FD_CACHE/etcd-$ETCD_VERSION/etcd"; }
k8s_crds() {
  echo "$FD_CACHE/k8s-crds-keda-$KEDA_VERSION-auth-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION-strimzi-$STRIMZI_VERSION-cnpg-$CNPG_VERSION"
}
k8s_dir() { echo "$FD_STATE/k8s"; }
k8s_kubeconfig() { echo "$(k8s_dir)/kubeconfig"; }
# The machine's kubectl (kustomize is built in) where there is one, else ours.
k8s_kubectl() { command -v kubectl || k8s_bin kubectl; }

k8s_need_go() { # k8s_need_go WHY
  command -v go >/dev/null || die "Go 1.26 or newer is needed $1 (https://go.dev/doc/install)"
}

# Runs a build (a function) with Go in module mode outside any workspace, its output in LOG:
# shown are the modules it downloads and, every 250 packages `go build -v` names, how many it
# has compiled (of about PACKAGES).
k8s_go_build() { # k8s_go_build WHAT LOG FUNCTION PACKAGES
  local what=$1 build_log=$2
  mkdir -p "$FD_CACHE"
  : >"$build_log"
  # The checksum database may not be reachable: each module's own go.sum pins what it can.
  (export GOFLAGS=-mod=mod GOSUMDB=off GOWORK=off; "$3") 2>&1 \
    | awk -v about="$4" '{ print; fflush() }
        /^[A-Za-z0-9._\/-]+$/ && ++n % 250 == 0 { printf "%d packages compiled (about %s in all)\n", n, about; fflush() }' \
    | FOLLOW_LOG=$build_log FOLLOW_SHOW='^(go: .*|[0-9]+ packages compiled .*)' follow "$what" || true
}

# etcd is a library with a main package in another module (etcd's own binary is built by its
# repository's scripts): our main is a throw-away module requiring the server at one version.
provision_etcd() {
  [[ -x $(etcd_bin) ]] && return 0
  k8s_need_go "to build etcd"
  step "building etcd $ETCD_VERSION from the Go module proxy" "about a minute, once"
  local work; work=$(mktemp -d)
  # shellcheck disable=SC2317 # run by k8s_go_build
  build_etcd() { # every step chained: errexit does not apply inside `( ) || ...`
    cd "$work" &&
      printf 'module local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod &&
      printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >main.go &&
      go mod tidy &&
      mkdir -p "$(dirname "$(etcd_bin)")" &&
      go build -v -trimpath -o "$(etcd_bin)" .
  }
  k8s_go_build "building etcd" "$FD_CACHE/etcd-build.log" build_etcd 530
  rm -rf "$work"
  [[ -x $(etcd_bin) ]] || {
    tail -n 20 "$FD_CACHE/etcd-build.log" >&2
    die "building etcd $ETCD_VERSION failed (log: $FD_CACHE/etcd-build.log)"
  }
  step_done
}

# kube-apiserver (and kubectl, where the machine has none) from k8s.io/kubernetes. That module
# is not meant to be required: its go.mod points the 31 k8s.io/* modules it is built with at
# its own ./staging directory, which a dependent module cannot see. So ours requires it and
# points each of them at its published release instead; the list is made from kubernetes' own
# go.mod, so it follows the version. The version is set by -ldflags as Kubernetes' build does
# (kubectl refuses a server whose version it cannot parse).
provision_kube_apiserver() {
  local wanted=(kube-apiserver) missing=() b
  command -v kubectl >/dev/null || wanted+=(kubectl)
  for b in "${wanted[@]}"; do [[ -x $(k8s_bin "$b") ]] || missing+=("$b"); done
  ((${#missing[@]})) || return 0
  k8s_need_go "to build Kubernetes"
  # Packages compiled for each, on top of etcd's (the standard library, gRPC, ...).
  local about=0 note="a minute or two, once"
  [[ " ${missing[*]} " == *" kube-apiserver "* ]] && about=$((about + 1900)) note="7 to 11 minutes on 2 cores, once"
  [[ " ${missing[*]} " == *" kubectl "* ]] && about=$((about + 200))
  step "building $(commas "${missing[@]}") $K8S_VERSION from the Go module proxy" "$note"
  local work out; work=$(mktemp -d); out=$(dirname "$(k8s_bin kube-apiserver)")
  local version=${K8S_VERSION#v} pkg=k8s.io/component-base/version ldflags
  ldflags="-X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${version%%.*}"
  ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$version") -X $pkg.gitTreeState=clean"
  # shellcheck disable=SC2317 # run by k8s_go_build
  build_kubernetes() { # every step chained: errexit does not apply inside `( ) || ...`
    local theirs packages=()
    for b in "${missing[@]}"; do packages+=("k8s.io/kubernetes/cmd/$b"); done
    cd "$work" &&
      theirs=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p') &&
      [[ -f $theirs ]] &&
      {
        printf 'module local/kubernetes-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
        sed -n "s#^\t\(k8s.io/[^ ]*\) => \./staging/.*#\t\1 => \1 $K8S_STAGING_VERSION#p" "$theirs"
        printf ')\n'
      } >go.mod &&
      grep -q "=> k8s.io/api $K8S_STAGING_VERSION" go.mod &&
      mkdir -p "$out" &&
      go build -v -trimpath -ldflags "$ldflags" -o "$out/" "${packages[@]}"
  }
  k8s_go_build "building Kubernetes" "$FD_CACHE/kubernetes-build.log" build_kubernetes "$about"
  rm -rf "$work"
  for b in "${missing[@]}"; do
    [[ -x $(k8s_bin "$b") ]] || {
      tail -n 20 "$FD_CACHE/kubernetes-build.log" >&2
      die "building $b $K8S_VERSION failed (log: $FD_CACHE/kubernetes-build.log)"
    }
  done
  step_done "$(du -sh "$out" | cut -f1)"
}

# The CRDs, as their projects publish them: in their Go modules (downloaded into the module
# cache, copied out), Strimzi's in the tests jar of its API on Maven Central (its crds/v1 folder:
# each CRD serving kafka.strimzi.io/v1 alone). Only the kinds kubernetes/ uses.
provision_k8s_crds() {
  local dir; dir=$(k8s_crds)
  [[ -f $dir/.complete ]] && return 0
  k8s_need_go "to download the CRDs' modules"
  log "fetching the CRDs: KEDA $KEDA_VERSION, Prometheus Operator $PROMETHEUS_OPERATOR_VERSION, Strimzi $STRIMZI_VERSION, CloudNativePG $CNPG_VERSION (once)"
  local keda operator cnpg jar
  module_dir() { # module_dir MODULE@VERSION: where the module cache holds it
    GOFLAGS=-mod=mod GOSUMDB=off GOWORK=off go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
  }
  # (Each checked below: a failed download must say which, not end ./dev silently.)
  keda=$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION") || keda=''
  [[ -d $keda ]] || die "could not download KEDA $KEDA_VERSION's module"
  operator=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION") || operator=''
  [[ -d $operator ]] || die "could not download the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION's module"
  cnpg=$(module_dir "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION") || cnpg=''
  [[ -d $cnpg ]] || die "could not download CloudNativePG $CNPG_VERSION's module"
  rm -rf "$dir"; mkdir -p "$dir"
  jar=$dir/strimzi-api-$STRIMZI_VERSION-tests.jar
  curl -fsSL --retry 3 -o "$jar" \
    "https://repo1.maven.org/maven2/io/strimzi/api/$STRIMZI_VERSION/api-$STRIMZI_VERSION-tests.jar" \
    || die "could not download Strimzi $STRIMZI_VERSION's API tests jar from Maven Central"
  unzip -q -j -d "$dir" "$jar" \
    crds/v1/040-Crd-kafka.yaml crds/v1/043-Crd-kafkatopic.yaml \
    crds/v1/044-Crd-kafkauser.yaml crds/v1/045-Crd-kafkanodepool.yaml \
    || die "Strimzi $STRIMZI_VERSION's API tests jar has no crds/v1 folder"
  rm "$jar"
  cp "$keda"/config/crd/bases/keda.sh_{scaledobjects,triggerauthentications}.yaml \
    "$operator"/example/prometheus-operator-crd/monitoring.coreos.com_{podmonitors,prometheusrules}.yaml \
    "$cnpg"/config/crd/bases/postgresql.cnpg.io_{clusters,poolers,databases}.yaml "$dir/"
  chmod u+w "$dir"/*
  touch "$dir/.complete"
}

provision_k8s() {
  apt_install openssl curl jq unzip
  provision_etcd
  provision_kube_apiserver
  provision_k8s_crds
}

# Keys, certificate and token, made once: a self-signed serving certificate for 127.0.0.1 (the
# kubeconfig trusts it and nothing else), the key pair service-account tokens are signed with,
# and one static token in system:masters (the kubeconfig's user).
k8s_credentials() {
  local dir; dir=$(k8s_dir)/pki
  [[ -f $dir/.complete ]] && return 0
  rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kube-apiserver \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$dir/apiserver.key" -out "$dir/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$dir/service-account.key" 2048 2>/dev/null
  openssl rsa -in "$dir/service-account.key" -pubout -out "$dir/service-account.pub" 2>/dev/null
  printf '%s,admin,admin,system:masters\n' "$(openssl rand -hex 32)" >"$dir/tokens.csv"
  touch "$dir/.complete"
}

k8s_write_kubeconfig() {
  local pki; pki=$(k8s_dir)/pki
  cat >"$(k8s_kubeconfig)" <<EOF
# Written by ./dev k8s up: the local API server (./dev k8s), as system:masters.
apiVersion: v1
kind: Config
clusters:
  - name: fooddelivery-local
    cluster:
      server: https://127.0.0.1:$(k8s_port)
      certificate-authority-data: $(base64 -w0 "$pki/apiserver.crt")
users:
  - name: admin
    user:
      token: $(cut -d, -f1 "$pki/tokens.csv")
contexts:
  - name: fooddelivery-local
    context: {cluster: fooddelivery-local, user: admin}
current-context: fooddelivery-local
EOF
  chmod 600 "$(k8s_kubeconfig)"
}

etcd_ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(etcd_port)/health"; }
k8s_ready() {
  curl -fs -o /dev/null --max-time 2 --cacert "$(k8s_dir)/pki/apiserver.crt" \
    -H "Authorization: Bearer $(cut -d, -f1 "$(k8s_dir)/pki/tokens.csv")" \
    "https://127.0.0.1:$(k8s_port)/readyz"
}
k8s_running() { pid_alive "$FD_STATE/run/kube-apiserver.pid" && k8s_ready; }

start_etcd() {
  pid_alive "$FD_STATE/run/etcd.pid" && return 0
  local p
  for p in "$(etcd_port)" "$(etcd_port peer)"; do
    port_open "$p" && die "something ./dev did not start answers on $p (etcd's port in ports.tsv)"
  done
  mkdir -p "$(k8s_dir)/etcd"
  # A throw-away store for admission checks: no fsync (a crash may lose the last writes, which
  # a rerun applies again), so the checks do not wait on the disk.
  (cd "$(k8s_dir)" && detached nohup "$(etcd_bin)" --name local --data-dir "$(k8s_dir)/etcd" \
    --listen-client-urls "http://127.0.0.1:$(etcd_port)" \
    --advertise-client-urls "http://127.0.0.1:$(etcd_port)" \
    --listen-peer-urls "http://127.0.0.1:$(etcd_port peer)" \
    --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_port peer)" \
    --initial-cluster "local=http://127.0.0.1:$(etcd_port peer)" \
    --unsafe-no-fsync --log-level warn) >>"$FD_STATE/logs/etcd.log" 2>&1 &
  echo $! >"$FD_STATE/run/etcd.pid"
  wait_for 30 "etcd on $(etcd_port)" etcd_ready \
    || { tail -n 20 "$FD_STATE/logs/etcd.log" >&2; die "etcd did not start (log: $FD_STATE/logs/etcd.log)"; }
}

# Flags: everything on 127.0.0.1; the apiserver does not publish its own address as the
# `kubernetes` Service's endpoint (--endpoint-reconciler-type=none: no cluster network here);
# the default admission plugins, PodSecurity among them; RBAC, as clusters run it.
# --service-cluster-ip-range is only where Services' cluster IPs are allocated from: no
# traffic goes there.
start_kube_apiserver() {
  pid_alive "$FD_STATE/run/kube-apiserver.pid" && return 0
  port_open "$(k8s_port)" && die "something ./dev did not start answers on $(k8s_port) (kube-apiserver's port in ports.tsv)"
  local dir pki; dir=$(k8s_dir); pki=$dir/pki
  (cd "$dir" && detached nohup "$(k8s_bin kube-apiserver)" \
    --etcd-servers "http://127.0.0.1:$(etcd_port)" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(k8s_port)" \
    --endpoint-reconciler-type none \
    --cert-dir "$dir/certs" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --token-auth-file "$pki/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-account.pub" \
    --service-account-signing-key-file "$pki/service-account.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    -v 1) >>"$FD_STATE/logs/kube-apiserver.log" 2>&1 &
  echo $! >"$FD_STATE/run/kube-apiserver.pid"
  wait_for 90 "kube-apiserver on $(k8s_port)" k8s_ready \
    || { tail -n 20 "$FD_STATE/logs/kube-apiserver.log" >&2; die "kube-apiserver did not start (log: ./dev logs kube-apiserver)"; }
}

k8s_up() {
  provision_k8s
  mkdir -p "$(k8s_dir)" "$FD_STATE/logs" "$FD_STATE/run"
  k8s_credentials
  k8s_write_kubeconfig
  start_etcd
  start_kube_apiserver
}

k8s_down() {
  # etcd too, whatever happened to the first (its log line unwritable on a closed pipe, say).
  stop_pidfile kube-apiserver || true
  stop_pidfile etcd
}

# What .ci/check-k8s-admission evaluates: the kubectl to use, the kubeconfig, the CRDs.
k8s_env() {
  printf 'KUBECTL=%q\nKUBECONFIG=%q\nK8S_CRDS=%q\n' "$(k8s_kubectl)" "$(k8s_kubeconfig)" "$(k8s_crds)"
}

k8s_status() {
  local name port state pid
  for name in etcd kube-apiserver; do
    [[ $name == etcd ]] && port=$(etcd_port) || port=$(k8s_port)
    if pid_alive "$FD_STATE/run/$name.pid"; then state=up; pid=$(cat "$FD_STATE/run/$name.pid"); else state=down; pid=-; fi
    printf '%-14s %-5s %s\n' "$name" "$state" "pid $pid, port $port"
  done
  [[ $state == up ]] && printf 'kubeconfig     %s\nkubectl        %s\n' "$(k8s_kubeconfig)" "$(k8s_kubectl)"
  return 0
}

cmd_k8s() {
  local sub=${1:-up}; shift || true
  case $sub in
    up)
      k8s_up
      log "the API server answers on https://127.0.0.1:$(k8s_port): KUBECONFIG=$(k8s_kubeconfig) $(k8s_kubectl) get namespaces"
      ;;
    down) k8s_down ;;
    status) k8s_status ;;
    check) exec "$ROOT/.ci/check-k8s-admission" "$@" ;;
    env) k8s_env ;;
    *) die "usage: ./dev k8s [up|down|status|check]" ;;
  esac
}
