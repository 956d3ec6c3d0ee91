#!/usr/bin/env bash
# Replace the vendored selftests from a Linux tree or tarball (see README.md).
set -euo pipefail
dest="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
src="${1:-}"
paths="tools/testing/selftests/x86 tools/testing/selftests/vDSO tools/testing/selftests/kselftest.h
       arch/x86/include/asm/desc_defs.h LICENSES/preferred/GPL-2.0 Makefile"
if [ -z "$src" ]; then
    (cd "$tmp" && apt-get download linux-source-6.1 >/dev/null &&
     dpkg-deb --fsys-tarfile linux-source-6.1_*.deb | tar -x ./usr/src/)
    src="$(ls "$tmp"/usr/src/linux-source-*.tar.xz)"
fi
if [ -f "$src" ]; then
    top="$(tar -tJf "$src" | head -1 | cut -d/ -f1)"
    tar -xJf "$src" -C "$tmp" $(for p in $paths; do echo "$top/$p"; done)
    src="$tmp/$top"
fi
rm -rf "$dest/tools" "$dest/arch" "$dest/LICENSES"
mkdir -p "$dest/tools/testing/selftests" "$dest/arch/x86/include/asm" "$dest/LICENSES"
cp -r "$src/tools/testing/selftests/x86" "$src/tools/testing/selftests/vDSO" \
      "$src/tools/testing/selftests/kselftest.h" "$dest/tools/testing/selftests/"
cp "$src/arch/x86/include/asm/desc_defs.h" "$dest/arch/x86/include/asm/"
cp "$src/LICENSES/preferred/GPL-2.0" "$dest/LICENSES/"
make -s -C "$src" kernelversion 2>/dev/null | sed 's/^/vendored Linux /' || true
