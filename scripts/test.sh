#!/usr/bin/env bash
# The README's test command: installs what the tests need when missing, then runs
# formatting, lints and the whole test suite (real promtool, Prometheus, amtool, rsyslog).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/sbin/rsyslogd ] || command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if ((${#need[@]})); then
  echo "==> installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"
for bin in promtool prometheus amtool rsyslogd; do
  command -v "$bin" >/dev/null 2>&1 || { echo "error: $bin is still missing after install" >&2; exit 1; }
done

# The Kubernetes manifest checks validate against the official schemas, from PyPI.
if ! python3 -c "import kubernetes_validate, cloudcoil.models.prometheus_operator, yaml" 2>/dev/null; then
  echo "==> installing the Kubernetes schema validators (PyPI)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    kubernetes-validate==1.37.0 "cloudcoil.models.prometheus_operator==0.80.1.0" PyYAML
fi

# A fresh build gains nothing from incremental state, which would double the
# target directory's size on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo check: each pillar alone and in the combinations that make sense"
for features in metrics logging tracing "tracing,logging" "metrics,dashboards" axum tokio client reqwest grpc otlp zipkin "logging,otlp" "otlp,tls" "zipkin,tls"; do
  # Warnings fail the check (RUSTFLAGS would rebuild every dependency instead).
  out=$(cargo check -q -p megaobs --no-default-features --features "$features" 2>&1) || { echo "$out"; exit 1; }
  if grep -q '^warning' <<<"$out"; then echo "features $features: $out"; exit 1; fi
done
echo "==> cargo clippy for macOS (the metrics pillar's process_* reader; nothing here runs it)"
rustup target list --installed | grep -qx aarch64-apple-darwin || rustup target add aarch64-apple-darwin
cargo clippy -q -p megaobs --no-default-features --features metrics --target aarch64-apple-darwin -- -D warnings
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "==> cargo doc (broken or private intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
echo "==> cargo test"
cargo test --workspace --all-features
