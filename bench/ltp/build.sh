#!/usr/bin/env bash
# Build this bench's LTP subset (bench/ltp/tests.txt) statically, x86-64 and i386.
#   bench/ltp/build.sh [LTP_SOURCE_DIR]
# Without a source dir, the LTP snapshot fetched to /work/.mirror (the `fetch`
# tool: github:linux-test-project/ltp) is exported. Output: build/ltp/bin64,
# build/ltp/bin32 (one static program per test, helpers beside them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
out="$top/build/ltp"
mirror=/work/.mirror/linux-test-project+ltp/repo
need=()
for pkg in autoconf automake m4 make gcc gcc-multilib pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$out"
for bits in 64 32; do
    src="$out/src$bits"
    if [ ! -f "$src/.configured" ]; then
        rm -rf "$src"; mkdir -p "$src"
        if [ $# -ge 1 ]; then cp -a "$1"/. "$src"/
             # a tree built before (for the other ABI) must not lend its objects
             find "$src" \( -name '*.o' -o -name '*.a' \) -delete
        else git --git-dir="$mirror" archive HEAD | tar -x -C "$src"
             git --git-dir="$mirror" describe --tags > "$src/.version" 2>/dev/null || true
        fi
        flags=""; [ $bits = 32 ] && flags="-m32"
        (cd "$src" && make autotools >/dev/null 2>&1 &&
         ./configure CFLAGS="$flags -O2" LDFLAGS="$flags -static" >"$src/.configure.log" 2>&1 &&
         make -j"$(nproc)" -C lib >"$src/.lib.log" 2>&1) || { echo "LTP $bits-bit library: build failed (see $src)"; continue; }
        touch "$src/.configured"
    fi
    bin="$out/bin$bits"; mkdir -p "$bin"
    built=0; failed=()
    while read -r dir tests; do
        case "$dir" in ''|'#'*) continue;; esac
        make -j"$(nproc)" -k -C "$src/testcases/kernel/syscalls/$dir" $tests >"$src/.make-$dir.log" 2>&1 || true
        for t in $tests; do
            if [ -x "$src/testcases/kernel/syscalls/$dir/$t" ]; then
                cp "$src/testcases/kernel/syscalls/$dir/$t" "$bin/$t"; built=$((built + 1))
            else failed+=("$t"); fi
        done
    done < "$here/tests.txt"
    cp "$src/.version" "$bin/VERSION" 2>/dev/null || true
    echo "LTP $bits-bit: $built programs in $bin${failed:+; not built: ${failed[*]}}"
done
