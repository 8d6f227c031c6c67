# shellcheck shell=sh
# Source this (". scripts/pulumi-env.sh") to run hostnet's stacks with the Pulumi
# CLI from scripts/install-pulumi.sh, fully offline: state in a local file
# backend, no update checks, no plugin downloads. Variables already set win.
# Sourced from bash it finds the checkout itself; from sh, source it at the
# repo root or set HOSTNET_ROOT.
if [ -z "${HOSTNET_ROOT:-}" ]; then
    if [ -n "${BASH_SOURCE:-}" ]; then
        HOSTNET_ROOT=$(cd "$(dirname "${BASH_SOURCE}")/.." && pwd)
    else
        HOSTNET_ROOT=$(pwd)
    fi
fi
export HOSTNET_ROOT

case ":${PATH}:" in
    *":${HOSTNET_ROOT}/.tools/pulumi/bin:"*) ;;
    *) PATH="${HOSTNET_ROOT}/.tools/pulumi/bin:${PATH}" ;;
esac
export PATH

: "${PULUMI_BACKEND_URL:=file://${HOSTNET_ROOT}/.pulumi-state}"
: "${PULUMI_HOME:=${HOSTNET_ROOT}/.tools/pulumi-home}"
: "${PULUMI_SKIP_UPDATE_CHECK:=true}"
: "${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:=true}"
export PULUMI_BACKEND_URL PULUMI_HOME PULUMI_SKIP_UPDATE_CHECK
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
# Stacks made by the lab and the tests hold no real secrets; a fixed passphrase
# keeps them usable without a prompt. A passphrase of your own takes precedence.
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    PULUMI_CONFIG_PASSPHRASE=hostnet-lab
    export PULUMI_CONFIG_PASSPHRASE
fi
case "${PULUMI_BACKEND_URL}" in
    file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
esac
mkdir -p "${PULUMI_HOME}"
