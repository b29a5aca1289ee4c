#!/usr/bin/env bash
# Install the local services used by the CarePlus integration tests.
#
# Components (one status line is printed per component):
#   * mariadb-server, mariadb-client  -- Debian packages (apt-get).
#   * versitygw v1.8.0                -- Versity S3 gateway, built with
#                                        `go install` from the Go module proxy.
#   * Java 24.0.1+ (25 expected)      -- runs Trino; already installed on these
#                                        machines (/usr/lib/jvm/temurin-25-jdk-amd64),
#                                        else Debian's openjdk-25 if it has one.
#   * Trino 476 + Hive plugin         -- io.trino:trino-server-core (tar.gz) and
#                                        io.trino:trino-hive (zip) from Maven Central,
#                                        SHA-1 checked, unpacked into the cache
#                                        ~/.cache/careplus/trino/476 (CAREPLUS_TRINO_HOME),
#                                        plus a JVM AOT cache recorded by one training
#                                        start (faster Trino starts in the tests).
#
# The script is idempotent: it only installs what is missing. It never starts
# a service (tests/services.py starts private instances on loopback), never
# calls systemctl, and guards apt-get with a temporary policy-rc.d so that
# package maintainer scripts cannot start mariadb either.
#
# Network needs: Debian's package mirrors, the Go module proxy and Maven Central.
# When no usable Go (>= 1.21) is installed, a pinned Go toolchain is fetched
# from the Go module proxy (module golang.org/toolchain), verified against the
# checksum database served by that proxy, and unpacked under /opt/careplus.
#
# Environment overrides:
#   VERSITYGW_VERSION     module version to build (default v1.8.0)
#   GO_BOOTSTRAP_VERSION  Go toolchain fetched when Go is missing (default 1.26.8)
#   GOPROXY               Go module proxy (default https://proxy.golang.org)
#   CAREPLUS_TRINO_HOME   Trino cache folder (default ~/.cache/careplus/trino/476)
#   CAREPLUS_TRINO_JAVA_HOME  Java used for Trino (default: found, Java 25 preferred)
#   CAREPLUS_TRINO_AOT=0  skip recording the JVM AOT cache
#   CAREPLUS_SKIP_TRINO=1 skip Java and Trino altogether
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
# Trino 476 refuses older Java (io.trino.server.TrinoSystemRequirements).
readonly TRINO_VERSION="476"  # keep in step with TRINO_VERSION in tests/services.py
readonly TRINO_MIN_JAVA="24.0.1"
readonly TRINO_JAVA_PACKAGES=(openjdk-25-jdk-headless openjdk-24-jdk-headless)

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

# ------------------------------------------------------------ trino ------

# Prints the JAVA_VERSION of a JDK's release file (e.g. 25.0.3), or nothing.
java_release_version() {
    sed -n 's/^JAVA_VERSION="\{0,1\}\([0-9][0-9.]*\).*/\1/p' "$1/release" 2>/dev/null | head -n 1
}

# True when dotted version $1 >= $2.
version_at_least() {
    [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

# Prints the home of a Java able to run Trino: CAREPLUS_TRINO_JAVA_HOME, else a
# Java 25, else the newest >= TRINO_MIN_JAVA among JAVA_HOME and the usual folders.
find_trino_java() {
    local candidate version best="" best_version="0" home
    if [[ -n "${CAREPLUS_TRINO_JAVA_HOME:-}" ]]; then
        version="$(java_release_version "${CAREPLUS_TRINO_JAVA_HOME}")"
        if [[ -x "${CAREPLUS_TRINO_JAVA_HOME}/bin/java" && -n "${version}" ]] \
            && version_at_least "${version}" "${TRINO_MIN_JAVA}"; then
            printf '%s\n' "${CAREPLUS_TRINO_JAVA_HOME}"
            return 0
        fi
        die "CAREPLUS_TRINO_JAVA_HOME=${CAREPLUS_TRINO_JAVA_HOME} is not a Java ${TRINO_MIN_JAVA}+ installation"
    fi
    for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/* /opt/java/* /usr/local/*jdk*; do
        [[ -n "${candidate}" && -x "${candidate}/bin/java" ]] || continue
        home="$(readlink -f "${candidate}")"
        version="$(java_release_version "${home}")"
        [[ -n "${version}" ]] && version_at_least "${version}" "${TRINO_MIN_JAVA}" || continue
        if [[ "${version}" == 25 || "${version}" == 25.* ]]; then
            printf '%s\n' "${home}"
            return 0
        fi
        if version_at_least "${version}" "${best_version}"; then
            best="${home}"
            best_version="${version}"
        fi
    done
    if [[ -n "${best}" ]]; then
        printf '%s\n' "${best}"
    fi
}

# Debian package of a Java that Trino accepts, if the configured mirrors have one.
debian_trino_java_package() {
    local package
    if [[ "${APT_UPDATED}" -eq 0 && "${EUID}" -eq 0 ]]; then
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    for package in "${TRINO_JAVA_PACKAGES[@]}"; do
        if apt-cache policy "${package}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            printf '%s\n' "${package}"
            return 0
        fi
    done
    return 0
}

ensure_trino_java() {
    local java_home package
    java_home="$(find_trino_java)"
    if [[ -z "${java_home}" ]]; then
        package="$(debian_trino_java_package)"
        [[ -n "${package}" ]] || die "Trino needs Java ${TRINO_MIN_JAVA} or later (Java 25 expected in" \
            "/usr/lib/jvm/temurin-25-jdk-amd64, as on every machine of this kind) and none is installed;" \
            "Debian's mirrors offer no ${TRINO_JAVA_PACKAGES[*]}. Install a JDK 25 and set CAREPLUS_TRINO_JAVA_HOME."
        apt_install "${package}"
        java_home="$(find_trino_java)"
        [[ -n "${java_home}" ]] || die "installed ${package} but found no Java ${TRINO_MIN_JAVA}+ afterwards"
        log "java for trino: installed ${package}" >&2
    fi
    log "java for trino: $(java_release_version "${java_home}") (${java_home})" >&2
    printf '%s\n' "${java_home}"
}

# Downloads Trino + Hive plugin into the cache and records the JVM AOT cache, through
# tests/services.py (the same code the tests use). The project venv's Python is used
# when it exists; else the system python3 (the installer needs the standard library only).
install_trino() {
    local java_home python="python3" args=() output
    java_home="$(ensure_trino_java)"
    if [[ -x "${REPO_ROOT}/.venv/bin/python" ]]; then
        python="${REPO_ROOT}/.venv/bin/python"
    else
        ensure_command python3 python3
    fi
    if [[ "${CAREPLUS_TRINO_AOT:-1}" == "0" ]]; then
        args+=(--no-aot)
    fi
    output="$(mktemp)"
    if ! (cd "${REPO_ROOT}" && CAREPLUS_TRINO_JAVA_HOME="${java_home}" \
        "${python}" -m tests.services prepare-trino "${args[@]}") >"${output}" 2>&1; then
        cat "${output}" >&2
        rm -f "${output}"
        die "could not prepare Trino: '${python} -m tests.services prepare-trino' failed (output above)"
    fi
    log "trino ${TRINO_VERSION}: ready"
    sed 's/^/    /' "${output}"
    rm -f "${output}"
}

main() {
    local package
    for package in "${APT_PACKAGES[@]}"; do
        install_apt_package "${package}"
    done
    install_versitygw
    if [[ "${CAREPLUS_SKIP_TRINO:-0}" != "1" ]]; then
        install_trino
    fi
}

main "$@"
