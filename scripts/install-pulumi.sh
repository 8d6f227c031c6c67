#!/usr/bin/env bash
# Installs the Pulumi CLI that hostnet's stacks run with into .tools/pulumi/bin.
#
# The CLI is built from source through the Go module proxy (tools/pulumi pins it),
# because prebuilt Pulumi releases cannot be downloaded on the machines this
# project runs on. Pulumi's Python language host is a separate Go module,
# github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, which the
# proxy refuses for every version, including its version list (`go list -m
# -versions` of it, GOPROXY host elided):
#   go: module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3:
#   reading $GOPROXY/github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3/@v/list:
#   403 Forbidden
#   server response: This module version is not available.
# tools/pulumi-language-python stands in for it; it runs Pulumi's own program
# runner (pulumi-language-python-exec), copied here from the sdk/v3 module.
#
# Idempotent: an existing CLI of the pinned version is kept, and a pulumi plus a
# pulumi-language-python already on PATH (outside .tools) are used as they are.
set -euo pipefail

readonly PULUMI_VERSION=v3.274.1
readonly PKG=github.com/pulumi/pulumi/pkg/v3
readonly SDK=github.com/pulumi/pulumi/sdk/v3

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo/.tools/pulumi/bin"
mod="$repo/tools/pulumi"
# Keeps `pulumi version`'s logs in the checkout, as scripts/pulumi-env.sh does.
export PULUMI_HOME="${PULUMI_HOME:-$repo/.tools/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true

die() {
    echo "install-pulumi: $*" >&2
    exit 1
}

# version_at_least HAVE WANT: true when HAVE (e.g. v3.275.0) >= WANT.
version_at_least() {
    local have=${1#v} want=${2#v}
    [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]
}

system_pulumi_ok() {
    local cli host have
    cli=$(command -v pulumi || true)
    host=$(command -v pulumi-language-python || true)
    if [ -z "$cli" ] || [ -z "$host" ]; then
        return 1
    fi
    # Our own install may be on PATH already; it is checked below, file by file.
    [ "$(dirname "$cli")" != "$bin" ] || return 1
    have=$(pulumi version 2>/dev/null) || return 1
    version_at_least "$have" "$PULUMI_VERSION" || return 1
    echo "install-pulumi: using $cli ($have) and $host from PATH"
}

link_language_host() {
    # A relative link keeps working when the checkout moves.
    ln -sfn ../../../tools/pulumi-language-python "$bin/pulumi-language-python"
}

local_install_ok() {
    [ -x "$bin/pulumi" ] || return 1
    [ -x "$bin/pulumi-language-python-exec" ] || return 1
    [ -x "$bin/pulumi-resource-pulumi-python" ] || return 1
    [ "$("$bin/pulumi" version 2>/dev/null || true)" = "$PULUMI_VERSION" ]
}

build() {
    command -v go >/dev/null || die "go is not installed; it is needed to build the Pulumi CLI"
    mkdir -p "$bin"
    echo "install-pulumi: building pulumi $PULUMI_VERSION from $PKG (several minutes when cold)"
    local sdk_dir tmp
    (cd "$mod" && go mod download "$PKG" "$SDK") || die "go mod download failed"
    # -mod=readonly: build exactly what go.sum pins, whatever GOFLAGS says.
    sdk_dir=$(cd "$mod" && go list -mod=readonly -m -f '{{.Dir}}' "$SDK") || die "cannot locate $SDK"
    if [ -z "$sdk_dir" ] || [ ! -d "$sdk_dir/python" ]; then
        die "$SDK has no python/ directory at '$sdk_dir'"
    fi
    tmp="$bin/.pulumi.$$"
    trap 'rm -f "$tmp"' EXIT
    (cd "$mod" && go build -mod=readonly -o "$tmp" \
        -ldflags "-X $SDK/go/common/version.Version=$PULUMI_VERSION" \
        "$PKG/cmd/pulumi") || die "go build of the Pulumi CLI failed"
    mv -f "$tmp" "$bin/pulumi"
    trap - EXIT
    # Module cache files are read-only; install gives the copies normal modes.
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/"
    install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$bin/"
}

main() {
    if system_pulumi_ok; then
        exit 0
    fi
    if ! local_install_ok; then
        build
        local_install_ok || die "$bin/pulumi does not report version $PULUMI_VERSION"
    fi
    link_language_host
    echo "install-pulumi: $bin/pulumi $("$bin/pulumi" version)"
}

main "$@"
