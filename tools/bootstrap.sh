#!/usr/bin/env bash
# tools/bootstrap.sh — what `make` needs on a fresh Debian/Ubuntu machine (root).
#
#   tools/bootstrap.sh toolchain [--lint]   a C linker, pkg-config, and the Rust
#                                           toolchain of Cargo.toml's `rust-version`
#                                           (--lint: with clippy and rustfmt)
#   tools/bootstrap.sh packages PKG...      the Debian packages named that are missing
#   tools/bootstrap.sh servers PKG...       the same for server packages a benchmark
#                                           runs privately (postfix, dovecot, kea,
#                                           nsd…): their host daemons are not started
#                                           by the install, nor at boot
#
# A toolchain that is already there and new enough is used as it is: nothing
# is reinstalled. Otherwise Rust comes through rustup: Debian's `rustup`
# package where the release has one, else the official rustup-init script,
# into ~/.cargo (the Makefile puts ~/.cargo/bin first on its PATH).
# apt runs quietly; its output goes to a log that is shown only on failure.
#
# Environment (for tests and unusual machines):
#   LABCTL_RUSTUP_URL   where to fetch rustup-init from (default https://sh.rustup.rs);
#                       when set, the script is used even if apt has `rustup`
#   CARGO_HOME          where rustup installs (default ~/.cargo)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
# libpcap-dev: labctl links libpcap for its capture filter compiler.
BUILD_PACKAGES=(build-essential pkg-config libpcap-dev)

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

# The Debian packages among "$@" that are not installed.
missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
    done
}

# apt-get install, quiet; the whole log only if it fails.
apt_install() {
    [[ $(id -u) == 0 ]] || die "installing $* needs root (run make as root, or install them yourself)"
    command -v apt-get >/dev/null || die "no apt-get: install $* with your system's package manager"
    local log
    log=$(mktemp /tmp/labctl-apt.XXXXXX)
    say "installing $* with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
        cat "$log" >&2
        die "apt-get could not install $* (its log is above, and in $log)"
    fi
    rm -f "$log"
}

# Packages installed now, one a line, sorted.
installed_packages() {
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" { print $2 }' | sort
}

# The host services that PKG... brought: disabled, so that a reboot does not
# start them either (systemctl where there is one, which also updates the
# System V links; update-rc.d otherwise).
disable_services() {
    local pkg file
    for pkg in "$@"; do
        while read -r file; do
            case $file in
            /lib/systemd/system/*.service | /usr/lib/systemd/system/*.service)
                if command -v systemctl >/dev/null; then
                    systemctl disable --quiet "${file##*/}" >/dev/null 2>&1 || true
                fi
                ;;
            /etc/init.d/*)
                if ! command -v systemctl >/dev/null && command -v update-rc.d >/dev/null; then
                    update-rc.d "${file##*/}" disable >/dev/null 2>&1 || true
                fi
                ;;
            esac
        done < <(dpkg -L "$pkg" 2>/dev/null)
    done
}

# Server packages (postfix, dovecot, kea, nsd, …) that the benchmarks start
# privately inside a lab: installed without starting their host daemons (a
# temporary policy-rc.d says "no" to every service start, the way Debian's
# installers are told; one that is already there is left as it is), with
# the services of every package the install added (dependencies too)
# disabled afterwards, and postfix without a mail configuration of its own.
ensure_servers() {
    local policy=/usr/sbin/policy-rc.d made_policy=no before
    if [[ -z $(missing_packages "$@" | tr -d '[:space:]') ]]; then
        return
    fi
    before=$(installed_packages)
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# labctl bootstrap: no service starts while benchmark peers install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=yes
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    local status=0
    ensure_packages "$@" || status=$?
    # shellcheck disable=SC2046 # one word per package
    disable_services $(comm -13 <(echo "$before") <(installed_packages))
    [[ $made_policy == yes ]] && rm -f "$policy"
    return "$status"
}

ensure_packages() {
    local missing
    # tshark asks whether non-root users may capture: no, without a question.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    missing=$(missing_packages "$@" | tr '\n' ' ')
    if [[ -n ${missing// /} ]]; then
        # shellcheck disable=SC2086 # one word per package
        apt_install $missing
    fi
}

# `rust-version = "1.95"` from Cargo.toml.
wanted_rust() {
    sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n1
}

# The version of the cargo on PATH ("1.95.0"), or nothing.
cargo_version() {
    command -v cargo >/dev/null || return 0
    cargo --version 2>/dev/null | sed -n 's/^cargo \([0-9][0-9.]*\).*/\1/p'
}

# Whether version $1 is at least $2 (numerically, part by part).
at_least() {
    [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]
}

# rustup from Debian if this release packages it, else the rustup-init script.
install_rustup() {
    local version=$1
    if [[ -z ${LABCTL_RUSTUP_URL:-} ]] && command -v apt-cache >/dev/null &&
        apt-cache policy rustup 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        ensure_packages rustup
        return
    fi
    local url=${LABCTL_RUSTUP_URL:-https://sh.rustup.rs}
    ensure_packages curl ca-certificates
    local script
    script=$(mktemp /tmp/labctl-rustup-init.XXXXXX)
    say "downloading rustup-init from $url"
    if ! curl --proto '=https' --tlsv1.2 -sSf --retry 2 --connect-timeout 20 -o "$script" "$url" 2>"$script.err"; then
        local why
        why=$(cat "$script.err")
        rm -f "$script" "$script.err"
        die "cannot download rustup-init from $url: ${why:-no answer}
  labctl needs Rust $version or newer, with clippy and rustfmt. Either let this
  machine reach $url, or install Rust yourself
  (https://rustup.rs, or your distribution's rustup package) and run make again."
    fi
    rm -f "$script.err"
    say "installing rustup into ${CARGO_BIN%/bin} (toolchain $version)"
    sh "$script" -y --no-modify-path --profile minimal --default-toolchain "$version" \
        --component clippy --component rustfmt >/tmp/labctl-rustup.log 2>&1 ||
        { cat /tmp/labctl-rustup.log >&2; rm -f "$script"; die "rustup-init failed (its log is above)"; }
    rm -f "$script" /tmp/labctl-rustup.log
}

ensure_toolchain() {
    local lint=$1 version have
    version=$(wanted_rust)
    [[ -n $version ]] || die "no rust-version in $ROOT/Cargo.toml"
    ensure_packages "${BUILD_PACKAGES[@]}"
    have=$(cargo_version)
    if [[ -n $have ]] && at_least "$have" "$version"; then
        say "using cargo $have at $(command -v cargo) (labctl needs $version or newer)"
    else
        if [[ -n $have ]]; then
            say "cargo $have at $(command -v cargo) is older than the $version labctl needs: installing Rust $version through rustup"
        else
            say "no working cargo on PATH: installing Rust $version through rustup"
        fi
        command -v rustup >/dev/null || install_rustup "$version"
        export PATH="$CARGO_BIN:/usr/lib/rustup/bin:$PATH"
        command -v rustup >/dev/null || die "rustup was installed but is not on PATH ($CARGO_BIN, /usr/lib/rustup/bin)"
        rustup toolchain install "$version" --profile minimal --component clippy --component rustfmt >/dev/null 2>&1 ||
            die "rustup could not install Rust $version (try: rustup toolchain install $version)"
        rustup default "$version" >/dev/null
        have=$(cargo_version)
        [[ -n $have ]] && at_least "$have" "$version" || die "after installing, cargo is ${have:-missing}, not $version"
        say "installed cargo $have at $(command -v cargo)"
    fi
    if [[ $lint == yes ]] && ! { cargo clippy --version && cargo fmt --version; } >/dev/null 2>&1; then
        command -v rustup >/dev/null ||
            die "cargo $have has no clippy or rustfmt, and there is no rustup to add them: install them (Debian: apt-get install rust-clippy rustfmt)"
        say "adding clippy and rustfmt to the toolchain"
        rustup component add clippy rustfmt >/dev/null 2>&1 || die "rustup could not add clippy and rustfmt"
    fi
}

case ${1:-} in
toolchain)
    lint=no
    [[ ${2:-} == --lint ]] && lint=yes
    ensure_toolchain "$lint"
    ;;
packages)
    shift
    ensure_packages "$@"
    ;;
servers)
    shift
    ensure_servers "$@"
    ;;
*)
    die "usage: $0 toolchain [--lint] | packages PKG... | servers PKG..."
    ;;
esac
