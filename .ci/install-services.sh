#!/usr/bin/env bash
# Install the local services used by the CarePlus integration tests.
#
# Components (one status line is printed per component):
#   * mariadb-server, mariadb-client  -- Debian packages (apt-get).
#   * versitygw v1.8.0                -- Versity S3 gateway, built with
#                                        `go install` from the Go module proxy.
#
# The script is idempotent: it only installs what is missing. It never starts
# a service (tests/services.py starts private instances on loopback), never
# calls systemctl, and guards apt-get with a temporary policy-rc.d so that
# package maintainer scripts cannot start mariadb either.
#
# Network needs: Debian's package mirrors and the Go module proxy only.
# When no usable Go (>= 1.21) is installed, a pinned Go toolchain is fetched
# from the Go module proxy (module golang.org/toolchain), verified against the
# checksum database served by that proxy, and unpacked under /opt/careplus.
#
# Environment overrides:
#   VERSITYGW_VERSION     module version to build (default v1.8.0)
#   GO_BOOTSTRAP_VERSION  Go toolchain fetched when Go is missing (default 1.26.8)
#   GOPROXY               Go module proxy (default https://proxy.golang.org)
set -euo pipefail

readonly VERSITYGW_MODULE="github.com/versity/versitygw"
readonly VERSITYGW_PACKAGE="${VERSITYGW_MODULE}/cmd/versitygw"
readonly VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
readonly GO_BOOTSTRAP_VERSION="${GO_BOOTSTRAP_VERSION:-1.26.8}"
readonly GO_BOOTSTRAP_PARENT="/opt/careplus"
readonly APT_PACKAGES=(mariadb-server mariadb-client)
# First entry of GOPROXY without the ",direct" fallback.
readonly GO_PROXY_URL="${GOPROXY:-https://proxy.golang.org}"

APT_UPDATED=0
TEMP_POLICY_RC=""

log() {
    printf '%s\n' "$*"
}

die() {
    printf 'install-services: error: %s\n' "$*" >&2
    exit 1
}

cleanup() {
    if [[ -n "${TEMP_POLICY_RC}" && -f "${TEMP_POLICY_RC}" ]]; then
        rm -f "${TEMP_POLICY_RC}"
    fi
}
trap cleanup EXIT

require_root() {
    if [[ "${EUID}" -ne 0 ]]; then
        die "installing $1 needs root (re-run as root or with sudo)"
    fi
}

# ---------------------------------------------------------------- apt ------

deb_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "${status}" == "install ok installed" ]]
}

# Deny service starts from maintainer scripts for the duration of this script
# (an existing policy-rc.d is left untouched).
deny_service_starts() {
    if [[ -e /usr/sbin/policy-rc.d ]]; then
        return 0
    fi
    TEMP_POLICY_RC="/usr/sbin/policy-rc.d"
    printf '#!/bin/sh\n# temporary, written by .ci/install-services.sh\nexit 101\n' \
        >"${TEMP_POLICY_RC}"
    chmod 0755 "${TEMP_POLICY_RC}"
}

apt_install() {
    require_root "$*"
    deny_service_starts
    export DEBIAN_FRONTEND=noninteractive
    if [[ "${APT_UPDATED}" -eq 0 ]]; then
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_apt_package() {
    local package="$1"
    if deb_installed "${package}"; then
        log "${package}: already present ($(dpkg-query -W -f='${Version}' "${package}"))"
        return 0
    fi
    apt_install "${package}"
    deb_installed "${package}" || die "apt-get did not install ${package}"
    log "${package}: installed ($(dpkg-query -W -f='${Version}' "${package}"))"
}

# Install helper packages silently when their command is missing.
ensure_command() {
    local command_name="$1" package="$2"
    if ! command -v "${command_name}" >/dev/null 2>&1; then
        apt_install "${package}"
    fi
}

# ----------------------------------------------------------------- go ------

# Prints the minor version of a Go binary (e.g. 26 for go1.26.8), or 0.
go_minor_version() {
    local version
    version="$("$1" env GOVERSION 2>/dev/null || true)"
    if [[ "${version}" =~ ^go1\.([0-9]+) ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    else
        printf '0\n'
    fi
}

go_arch() {
    case "$(uname -m)" in
        x86_64 | amd64) printf 'amd64\n' ;;
        aarch64 | arm64) printf 'arm64\n' ;;
        *) die "unsupported CPU architecture $(uname -m)" ;;
    esac
}

# Downloads golang.org/toolchain from the module proxy, checks its h1: hash
# against the proxied checksum database and unpacks it into $1.
bootstrap_go() {
    local target="$1"
    local module_version="v0.0.1-go${GO_BOOTSTRAP_VERSION}.linux-$(go_arch)"
    require_root "a Go toolchain"
    ensure_command python3 python3
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] || apt_install ca-certificates
    mkdir -p "${GO_BOOTSTRAP_PARENT}"
    python3 - "${GO_PROXY_URL%%,*}" "${module_version}" "${target}" <<'PY'
"""Fetch, verify and unpack a Go toolchain module zip (stdlib only)."""
import base64
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile

proxy, version, target = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
module = "golang.org/toolchain"
prefix = f"{module}@{version}/"


def fetch(url: str, dest: str) -> None:
    with urllib.request.urlopen(url, timeout=120) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out)


def expected_h1() -> str:
    url = f"{proxy}/sumdb/sum.golang.org/lookup/{module}@{version}"
    with urllib.request.urlopen(url, timeout=60) as response:
        for line in response.read().decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == module and parts[1] == version:
                return parts[2]
    raise SystemExit(f"no checksum for {module}@{version} in the checksum database")


def zip_h1(archive: zipfile.ZipFile) -> str:
    lines = []
    for name in sorted(archive.namelist()):
        digest = hashlib.sha256(archive.read(name)).hexdigest()
        lines.append(f"{digest}  {name}\n")
    summary = hashlib.sha256("".join(lines).encode()).digest()
    return "h1:" + base64.b64encode(summary).decode()


def unpack(archive: zipfile.ZipFile, dest: str) -> None:
    for info in archive.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        relative = info.filename[len(prefix):]
        if relative.startswith("/") or ".." in relative.split("/"):
            raise SystemExit(f"unsafe path in toolchain zip: {info.filename}")
        path = os.path.join(dest, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with archive.open(info) as src, open(path, "wb") as out:
            shutil.copyfileobj(src, out)
        executable = relative.startswith("bin/") or relative.startswith("pkg/tool/")
        os.chmod(path, 0o755 if executable else 0o644)


with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as work:
    zip_path = os.path.join(work, "toolchain.zip")
    fetch(f"{proxy}/{module}/@v/{version}.zip", zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        actual, wanted = zip_h1(archive), expected_h1()
        if actual != wanted:
            raise SystemExit(f"checksum mismatch for {module}@{version}: {actual} != {wanted}")
        staging = os.path.join(work, "go")
        unpack(archive, staging)
    os.replace(staging, target)
PY
}

# Prints the path of a Go (>= 1.21, able to switch toolchains) binary,
# installing the pinned bootstrap toolchain when none is available.
find_or_install_go() {
    local candidate bootstrap_root="${GO_BOOTSTRAP_PARENT}/go${GO_BOOTSTRAP_VERSION}"
    for candidate in "$(command -v go || true)" /usr/local/go/bin/go "${bootstrap_root}/bin/go"; do
        if [[ -n "${candidate}" && -x "${candidate}" ]] \
            && [[ "$(go_minor_version "${candidate}")" -ge 21 ]]; then
            printf '%s\n' "${candidate}"
            return 0
        fi
    done
    bootstrap_go "${bootstrap_root}" >&2
    [[ -x "${bootstrap_root}/bin/go" ]] || die "Go bootstrap failed"
    log "go toolchain: installed go${GO_BOOTSTRAP_VERSION} in ${bootstrap_root} (build dependency)" >&2
    printf '%s\n' "${bootstrap_root}/bin/go"
}

# ---------------------------------------------------------- versitygw ------

# True when binary $1 embeds module build info for the wanted version.
versitygw_has_version() {
    [[ -x "$1" ]] || return 1
    grep -aqF "$(printf 'mod\t%s\t%s' "${VERSITYGW_MODULE}" "${VERSITYGW_VERSION}")" "$1"
}

versitygw_candidates() {
    command -v versitygw || true
    if [[ -n "${GOBIN:-}" ]]; then
        printf '%s\n' "${GOBIN}/versitygw"
    fi
    if command -v go >/dev/null 2>&1; then
        printf '%s\n' "$(go env GOPATH 2>/dev/null | cut -d: -f1)/bin/versitygw"
    fi
    printf '%s\n' "${HOME}/go/bin/versitygw"
}

install_versitygw() {
    local candidate go_binary gopath target
    while IFS= read -r candidate; do
        if [[ -n "${candidate}" ]] && versitygw_has_version "${candidate}"; then
            log "versitygw ${VERSITYGW_VERSION}: already present (${candidate})"
            return 0
        fi
    done < <(versitygw_candidates)

    go_binary="$(find_or_install_go)"
    gopath="$("${go_binary}" env GOPATH | cut -d: -f1)"
    target="$("${go_binary}" env GOBIN)"
    target="${target:-${gopath}/bin}/versitygw"
    # GOTOOLCHAIN=auto lets Go >= 1.21 fetch the toolchain required by
    # versitygw's go.mod from the module proxy; CGO is not needed.
    GOTOOLCHAIN=auto CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
        "${go_binary}" install "${VERSITYGW_PACKAGE}@${VERSITYGW_VERSION}"
    versitygw_has_version "${target}" || die "go install did not produce ${target}"
    log "versitygw ${VERSITYGW_VERSION}: installed (${target})"
}

main() {
    local package
    for package in "${APT_PACKAGES[@]}"; do
        install_apt_package "${package}"
    done
    install_versitygw
}

main "$@"
