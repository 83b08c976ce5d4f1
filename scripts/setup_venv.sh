#!/usr/bin/env bash
# Creates (or reuses) .venv with the pinned TFX stack: the versions in constraints.txt, which the
# Kubeflow image installs too (scripts/lock.py writes it from .venv after a deliberate upgrade).
#
# tfx 1.21 needs ml-metadata and tensorflow-data-validation 1.21, which ship only
# manylinux_2_39 wheels. On hosts with an older glibc (Debian 12 has 2.36) the venv's
# interpreter is pointed at a private Debian 13 glibc/libstdc++ runtime kept inside
# .venv/, so pip sees glibc 2.41 and every process started from sys.executable
# (Beam workers, TFX executors) inherits it. Nothing outside .venv/ is changed.
set -euo pipefail

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
REQUIRED_GLIBC=2.39
RUNTIME_PACKAGES="libc6 libstdc++6 libgcc-s1"
STAMP="$VENV/.setup-complete"

die() { echo "setup: $*" >&2; exit 1; }

inputs_hash() { cat setup.py constraints.txt "$0" | sha256sum | cut -d' ' -f1; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash)" ]; then
  exit 0
fi

command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.11 (with venv) first"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$PYTHON is $("$PYTHON" -V 2>&1); tfx 1.21 needs Python 3.11 (set PYTHON=/path/to/python3.11)"

glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
needs_runtime() { [ "$(printf '%s\n%s\n' "$REQUIRED_GLIBC" "$glibc" | sort -V | head -1)" != "$REQUIRED_GLIBC" ]; }

install_patchelf() {
  command -v patchelf >/dev/null && return
  [ "$(id -u)" = 0 ] || die "patchelf is missing: run 'sudo apt-get install patchelf' and retry"
  echo "setup: installing patchelf"
  apt-get install -y -q patchelf >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q patchelf >/dev/null; } \
    || die "could not install patchelf with apt-get"
}

# Debian mirror this host already uses, so no host name is hard-coded here.
debian_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt; cannot fetch the glibc $REQUIRED_GLIBC+ runtime"
  echo "$uri"
}

fetch_runtime() {
  local runtime=$1 work
  work="$(realpath -m "$VENV")/.runtime-download"
  [ -f "$runtime/.complete" ] && return
  echo "setup: glibc $glibc < $REQUIRED_GLIBC, fetching Debian 13 $RUNTIME_PACKAGES into $runtime"
  rm -rf "$runtime" "$work"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/sources.list.d" "$runtime"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main" > "$work/sources.list"
  local opts=(-q -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/sources.list.d"
              -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null
              -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update >/dev/null || die "apt-get update of the Debian 13 package list failed"
  (cd "$work" && apt-get "${opts[@]}" download $RUNTIME_PACKAGES >/dev/null) || die "apt-get download $RUNTIME_PACKAGES failed"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$runtime"; done
  rm -rf "$work"
  touch "$runtime/.complete"
}

create_venv() {
  if needs_runtime; then
    install_patchelf
    local runtime libdir interp exe
    runtime="$(realpath -m "$VENV")/glibc-runtime"
    [ -x "$VENV/bin/python3.11" ] || "$PYTHON" -m venv --copies "$VENV"
    fetch_runtime "$runtime"
    libdir=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
    interp="$runtime/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    exe="$VENV/bin/python3.11"
    if [ "$(patchelf --print-interpreter "$exe")" != "$interp" ]; then
      echo "setup: pointing $exe at $runtime"
      # Two calls: patchelf 0.14 corrupts RUNPATH when --set-rpath and --add-needed share one.
      patchelf --set-interpreter "$interp" --set-rpath "$runtime/usr/lib/x86_64-linux-gnu:$libdir" "$exe"
      # TF's own libraries carry a RUNPATH, so libstdc++ must be loaded by the interpreter itself.
      patchelf --add-needed libstdc++.so.6 --add-needed libgcc_s.so.1 "$exe"
    fi
    ln -sf python3.11 "$VENV/bin/python3"
    ln -sf python3.11 "$VENV/bin/python"
    "$VENV/bin/python" -c 'import os, sys; v = tuple(map(int, os.confstr("CS_GNU_LIBC_VERSION").split()[1].split("."))); sys.exit(v < (2, 39))' \
      || die "the patched interpreter $exe does not run with the new glibc; remove $VENV and retry"
  else
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  fi
}

create_venv
echo "setup: installing the project and its pinned dependencies into $VENV (first time: several minutes)"
pip_install() {
  # This machine's pip config names local index folders that may not exist; their warnings are noise.
  "$VENV/bin/python" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
pip_install --upgrade pip
pip_install -c constraints.txt -e '.[test]'
# tflite-support declares protobuf<4, which TFX 1.21 cannot have; the metadata writer modules the
# Pusher uses import no protobuf code, so it goes in without its dependencies (docs/android.md).
pip_install --no-deps -c constraints.txt tflite-support
# Its native modules link libusb-1.0.
if ! compgen -G "/usr/lib/*/libusb-1.0.so.0" >/dev/null && ! compgen -G "/lib/*/libusb-1.0.so.0" >/dev/null; then
  [ "$(id -u)" = 0 ] || die "libusb-1.0 is missing: run 'sudo apt-get install libusb-1.0-0' (tflite-support's metadata writer links it)"
  echo "setup: installing libusb-1.0-0 (Debian package) for tflite-support's metadata writer"
  apt-get install -y -q libusb-1.0-0 >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q libusb-1.0-0 >/dev/null; } \
    || die "could not install libusb-1.0-0 with apt-get"
fi
if ! out=$("$VENV/bin/python" -c 'import tfx, tensorflow_data_validation, ml_metadata, tensorflow_model_analysis, ai_edge_litert
from tensorflow_lite_support.metadata.python.metadata_writers import metadata_writer' 2>&1); then
  echo "$out" >&2
  die "the installed stack does not import; remove $VENV and run 'make setup' again"
fi
inputs_hash > "$STAMP"
echo "setup: $VENV ready"
