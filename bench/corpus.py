#!/usr/bin/env python3
"""A corpus of real programs: Debian's own binaries installed here, each
invocation run natively, under sysgate and under qemu-user, comparing stdout,
stderr, exit status and the files written.

    python3 bench/corpus.py [--runners native,sysgate,qemu] [--only N,...]
                            [--jobs 2] [--timeout 180] [--diff]
    python3 bench/corpus.py --trace      # sysgate trace -f of every invocation:
                                         # each call answered ENOSYS, by caller

Each invocation runs in a fresh copy of the same fixture directory, at the
same path for every runner (so a path a program prints is the same), with a
fixed environment (LC_ALL=C, TZ=UTC, fixed git dates). The native run is the
oracle; a runner matches when all four agree. Not part of CI."""
import argparse
import concurrent.futures
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
from selftests_kit import kill_session  # noqa: E402  (one copy, shared with the selftests)
BASE = os.path.join(tempfile.gettempdir(), "sysgate-corpus")

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"]

HELLO_C = r'''#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    printf("hello from %s with %d args, %zu\n", "c", argc, strlen(argv[0]) > 0);
    return 3;
}
'''
MAKEFILE = "hello: hello.o\n\tgcc -o hello hello.o\nhello.o: hello.c\n\tgcc -c hello.c\n" \
           "clean:\n\trm -f hello hello.o\n"
SCRIPT_SH = "#!/bin/sh\nset -e\nfor i in 1 2 3; do echo \"line $i\"; done > out.txt\n" \
            "wc -l < out.txt\necho \"args: $*\"\nexit 7\n"
T_PY = "import sys, os, json\nprint(json.dumps({'argv': sys.argv[1:], 'cwd': os.path.basename(os.getcwd())}))\n" \
       "open('py.out', 'w').write(''.join(sorted(open('words.txt'))))\n"
X_PL = "use strict; my %c; while (<>) { chomp; $c{length $_}++ } " \
       "print map { \"$_ $c{$_}\\n\" } sort { $a <=> $b } keys %c;\n"
SQL = "create table t(a integer, b text);\n" + \
      "".join(f"insert into t values({i}, '{WORDS[i % len(WORDS)]}');\n" for i in range(50)) + \
      "select b, count(*), sum(a) from t group by b order by b;\n"
PATCH = "--- a.txt\n+++ a.txt\n@@ -1,3 +1,3 @@\n alpha\n-bravo\n+BRAVO\n charlie\n"


def make_fixture(d):
    os.makedirs(d)
    w = lambda name, text, mode=0o644: (open(os.path.join(d, name), "w").write(text),
                                          os.chmod(os.path.join(d, name), mode))
    w("words.txt", "".join(f"{WORDS[(i * 7) % len(WORDS)]}{i % 13}\n" for i in range(300)))
    w("nums.txt", "".join(f"{(i * 7919) % 1000 - 300}\n" for i in range(200)))
    w("data.csv", "".join(f"{i},{WORDS[i % 18]},{i * 1.5}\n" for i in range(40)))
    w("a.txt", "alpha\nbravo\ncharlie\n")
    w("b.txt", "alpha\nBRAVO\ncharlie\ndelta\n")
    w("hello.c", HELLO_C)
    w("Makefile", MAKEFILE)
    w("script.sh", SCRIPT_SH, 0o755)
    w("t.py", T_PY)
    w("x.pl", X_PL)
    w("db.sql", SQL)
    w("fix.patch", PATCH)
    w("tabs.txt", "a\tb\tc\n\td\te\n")
    for sub in ("tree/x", "tree/y/z"):
        os.makedirs(os.path.join(d, sub))
    for i, p in enumerate(("tree/f1", "tree/x/f2", "tree/y/f3", "tree/y/z/f4", "tree/y/z/.hid")):
        w(p, f"file {i}\n" * (i + 1))
    os.symlink("x/f2", os.path.join(d, "tree/link"))
    with open(os.path.join(d, "bin.dat"), "wb") as f:
        f.write(bytes(range(256)) * 40)
    # fixed times: listings and archives of the fixture are the same each run
    for root, dirs, files in os.walk(d, topdown=False):
        for n in files + dirs:
            os.utime(os.path.join(root, n), (1600000000, 1600000000), follow_symlinks=False)
    os.utime(d, (1600000000, 1600000000))


def sh(cmd):
    return ["/bin/sh", "-c", cmd]


def bash(cmd):
    return ["/bin/bash", "-c", cmd]


# name -> argv (or (argv, stdin)); argv[0] is looked up in PATH
CORPUS = {
    "echo": ["echo", "hello", "world"],
    "printf": ["printf", "%05d|%-6s|%x|%.3f\\n", "42", "ab", "255", "3.14159"],
    "cat": ["cat", "words.txt", "a.txt"],
    "cat-n": ["cat", "-n", "a.txt"],
    "head": ["head", "-n", "7", "words.txt"],
    "tail": ["tail", "-n", "7", "words.txt"],
    "tail-c": ["tail", "-c", "100", "bin.dat"],
    "wc": ["wc", "words.txt", "nums.txt", "data.csv"],
    "sort": ["sort", "words.txt"],
    "sort-n": ["sort", "-n", "nums.txt"],
    "sort-u-r": ["sort", "-u", "-r", "words.txt"],
    "sort-k": ["sort", "-t,", "-k2,2", "-k1,1n", "data.csv"],
    "uniq-c": sh("sort words.txt | uniq -c"),
    "cut": ["cut", "-d,", "-f2,3", "data.csv"],
    "tr": (["tr", "a-z", "A-Z"], b"hello there\n"),
    "tr-d": (["tr", "-d", "aeiou"], b"hello there\n"),
    "nl": ["nl", "a.txt"],
    "od": ["od", "-A", "x", "-t", "x1z", "-N", "64", "bin.dat"],
    "base64": ["base64", "a.txt"],
    "base64-d": (["base64", "-d"], b"aGVsbG8gd29ybGQK\n"),
    "md5sum": ["md5sum", "words.txt", "bin.dat"],
    "sha1sum": ["sha1sum", "words.txt"],
    "sha256sum": ["sha256sum", "words.txt", "bin.dat"],
    "sha512sum": ["sha512sum", "a.txt"],
    "cksum": ["cksum", "words.txt"],
    "sum": ["sum", "words.txt"],
    "seq": ["seq", "1", "3", "100"],
    "factor": ["factor", "1234567", "600851475143", "97"],
    "expr": ["expr", "12", "*", "34"],
    "basename": ["basename", "/usr/lib/x.so.1", ".1"],
    "dirname": ["dirname", "/usr/lib/x.so.1"],
    "ls": ["ls", "-la", "--time-style=+%s", "tree"],
    "ls-R": ["ls", "-R", "tree"],
    "stat": ["stat", "-c", "%n %s %a %F", "a.txt", "tree", "tree/link"],
    "du": ["du", "-ab", "tree"],
    "cp-r": sh("cp -r tree tree2 && ls -R tree2"),
    "cp-a": ["cp", "-a", "tree", "tree3"],
    "mv": ["mv", "a.txt", "moved.txt"],
    "ln-s": ["ln", "-s", "words.txt", "wl"],
    "mkdir-p": ["mkdir", "-p", "d1/d2/d3"],
    "rm-r": ["rm", "-r", "tree"],
    "touch-d": ["touch", "-d", "2020-01-02 03:04:05", "new.txt"],
    "chmod": sh("chmod 600 a.txt && stat -c %a a.txt"),
    "split": ["split", "-l", "70", "words.txt", "part."],
    "csplit": ["csplit", "-s", "words.txt", "/golf/", "{3}"],
    "join": sh("sort a.txt > s1; sort b.txt > s2; join s1 s2"),
    "paste": ["paste", "a.txt", "b.txt"],
    "comm": ["comm", "a.txt", "b.txt"],
    "tac": ["tac", "a.txt"],
    "fold": ["fold", "-w", "7", "data.csv"],
    "fmt": ["fmt", "-w", "30", "words.txt"],
    "pr": ["pr", "-2", "-t", "a.txt"],
    "expand": ["expand", "tabs.txt"],
    "unexpand": sh("expand tabs.txt | unexpand -a"),
    "tsort": (["tsort"], b"a b\nb c\na c\nd a\n"),
    "shuf": ["shuf", "--random-source=words.txt", "-n", "5", "words.txt"],
    "date": ["date", "-u", "-d", "@1234567890", "+%Y-%m-%d %H:%M:%S %A %j"],
    "env-i": ["env", "-i", "A=1", "B=2", "env"],
    "true": ["true"],
    "false": ["false"],
    "test": sh("test -d tree && test -f a.txt && test ! -e nope; echo $?"),
    "sleep": ["sleep", "0.2"],
    "yes-head": sh("yes abc | head -n 3"),
    "id": ["id"],
    "uname": ["uname", "-s", "-m"],
    "pwd": sh("cd tree/y && pwd && /bin/pwd"),
    "readlink-f": ["readlink", "-f", "tree/link"],
    "realpath": ["realpath", "--relative-to=tree", "tree/y/z/f4"],
    "truncate": sh("truncate -s 1000 t.bin && stat -c %s t.bin"),
    "dd": ["dd", "if=bin.dat", "of=dd.out", "bs=1000", "count=5", "status=none"],
    "tee": (["tee", "tee.out"], b"tee me\n"),
    "install": ["install", "-m", "750", "a.txt", "inst.txt"],
    "numfmt": ["numfmt", "--to=iec", "1024", "1048576", "123456789"],
    "nproc-env": sh("env | sort | grep -v '^_='"),
    "grep-n": ["grep", "-n", "kilo", "words.txt"],
    "grep-c": ["grep", "-c", "-E", "^(a|e)", "words.txt"],
    "grep-r": ["grep", "-r", "file 3", "tree"],
    "grep-o": ["grep", "-o", "-E", "[0-9]+", "a.txt", "data.csv"],
    "grep-miss": ["grep", "nothing", "a.txt"],
    "sed": ["sed", "s/a/A/g;3q", "words.txt"],
    "sed-n": ["sed", "-n", "/golf/{=;p}", "words.txt"],
    "sed-i": sh("sed -i 's/bravo/BRAVO/' a.txt && cat a.txt"),
    "awk-sum": ["awk", "{s+=$1} END {print s, NR}", "nums.txt"],
    "awk-F": ["awk", "-F,", "{a[$2]+=$3} END {for (k in a) print k, a[k]}", "data.csv"],
    "find-name": ["find", "tree", "-name", "f*", "-type", "f"],
    "find-sorted": sh("find . -type f | sort"),
    "xargs": sh("find tree -type f | sort | xargs wc -c"),
    "diff": ["diff", "a.txt", "b.txt"],
    "diff-u": ["diff", "-u", "a.txt", "b.txt"],
    "cmp": ["cmp", "a.txt", "b.txt"],
    "patch": ["patch", "-s", "a.txt", "fix.patch"],
    "gzip": ["gzip", "-9", "-k", "words.txt"],
    "gzip-c": ["gzip", "-c", "-n", "words.txt"],
    "gunzip": sh("gzip -k words.txt && rm words.txt && gunzip words.txt.gz && md5sum words.txt"),
    "gunzip-script": (["gunzip", "-c"], gzip.compress(b"a #! script as the program\n", mtime=0)),
    "zcat": sh("gzip -c -n words.txt > w.gz && zcat w.gz | wc -l"),
    "xz": ["xz", "-k", "words.txt"],
    "xz-d": sh("xz -c words.txt > w.xz && xz -d -c w.xz | tail -n 2"),
    "bzip2": ["bzip2", "-k", "words.txt"],
    "bzip2-d": sh("bzip2 -c words.txt | bzip2 -d | md5sum"),
    "zstd": ["zstd", "-q", "-k", "words.txt"],
    "tar-c": ["tar", "--mtime=@0", "--owner=0", "--group=0", "--sort=name", "-cf", "t.tar", "tree"],
    "tar-tv": sh("tar --mtime=@0 --sort=name -cf t.tar tree && tar -tvf t.tar"),
    "tar-x": sh("tar -czf t.tgz tree && mkdir out && tar -xzf t.tgz -C out && find out | sort"),
    "tar-J": sh("tar --mtime=@0 --sort=name -cJf t.txz tree && tar -tJf t.txz"),
    "zip": sh("zip -q -X -r z.zip tree && unzip -l z.zip | tail -n 1"),
    "bash-loop": bash("s=0; for ((i=0;i<1000;i++)); do s=$((s+i)); done; echo $s"),
    "bash-procsub": bash("diff <(sort a.txt) <(sort b.txt); echo status $?"),
    "bash-paste-procsub": bash("paste <(seq 3) <(seq 4 6)"),
    "bash-subshell": bash("(true) & wait; x=$(echo sub); echo $x"),
    "bash-pipe": bash("seq 1000 | grep 7 | wc -l"),
    "bash-script": ["/bin/bash", "script.sh", "a", "b"],
    "bash-heredoc": bash("cat <<EOF\nhere $((6*7))\nEOF"),
    "bash-array": bash("a=(one two three); echo ${#a[@]} ${a[1]}; declare -A m=([k]=v); echo ${m[k]}"),
    "bash-trap": bash("trap 'echo got USR1' USR1; kill -USR1 $$; echo after"),
    "bash-ulimit": bash("ulimit -n; ulimit -s"),
    "bash-fd": bash("exec 3>fd3.txt; echo into3 >&3; exec 3>&-; cat fd3.txt; cat /dev/fd/0 <a.txt"),
    "bash-read": (bash("while read l; do echo \"[$l]\"; done"), b"x\ny\n"),
    "script-as-program": ["./script.sh", "p", "q"],
    "dash": ["/bin/dash", "-c", "for i in a b c; do echo $i; done | sort -r; echo ${#PATH}"],
    "dash-script": ["/bin/dash", "script.sh"],
    "sh-exit": sh("exit 42"),
    "sh-kill-self": sh("kill -TERM $$"),
    "sh-segv-child": sh("sh -c 'kill -SEGV $$'; echo child $?"),
    "busybox-sh": ["busybox", "sh", "-c", "echo $((3*4)); ls tree | sort"],
    "busybox-ls": ["busybox", "ls", "-1", "tree"],
    "busybox-sort": ["busybox", "sort", "-n", "nums.txt"],
    "busybox-awk": ["busybox", "awk", "{n++} END {print n}", "words.txt"],
    "busybox-sed": ["busybox", "sed", "-n", "2p", "a.txt"],
    "busybox-md5": ["busybox", "md5sum", "words.txt"],
    "busybox-tar": ["busybox", "tar", "-cf", "bb.tar", "a.txt"],
    "busybox-find": ["busybox", "find", "tree", "-type", "f"],
    "perl-e": ["perl", "-e", "print join(',', map { $_ ** 2 } 1..10), \"\\n\""],
    "perl-script": ["perl", "x.pl", "words.txt"],
    "perl-ne": ["perl", "-ne", "print if /^(al|ec)/", "words.txt"],
    "perl-posix": ["perl", "-MPOSIX", "-e", "print floor(7.5), ' ', strftime('%Y', gmtime(0)), \"\\n\""],
    "perl-fork": ["perl", "-e", "my $p = fork; if (!$p) { exit 5 } waitpid($p, 0); print $? >> 8, \"\\n\""],
    "python3-c": ["/usr/bin/python3", "-c", "print(sum(range(10**5)))"],
    "python3-script": ["/usr/bin/python3", "t.py", "u", "v"],
    "python3-json": ["/usr/bin/python3", "-c", "import json;print(json.dumps({'a':[1,2,{'b':None}]},sort_keys=True))"],
    "python3-hash": ["/usr/bin/python3", "-c", "import hashlib;print(hashlib.sha256(open('bin.dat','rb').read()).hexdigest())"],
    "python3-subprocess": ["/usr/bin/python3", "-c", "import subprocess;print(subprocess.run(['echo','sub'],capture_output=True).stdout)"],
    "python3-fork": ["/usr/bin/python3", "-c", "import os\npid=os.fork()\nif pid==0: os._exit(9)\nprint(os.waitpid(pid,0)[1]>>8)"],
    "python3-sqlite": ["/usr/bin/python3", "-c", "import sqlite3;c=sqlite3.connect('p.db');c.execute('create table t(x)');c.executemany('insert into t values(?)',[(i,) for i in range(100)]);c.commit();print(c.execute('select sum(x) from t').fetchone())"],
    "python3-threads": ["/usr/bin/python3", "-c", "import threading\nr=[]\nts=[threading.Thread(target=r.append,args=(i,)) for i in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\nprint(sorted(r))"],
    "python3-signal": ["/usr/bin/python3", "-c", "import signal,os\nsignal.signal(signal.SIGUSR1, lambda *a: print('sig'))\nos.kill(os.getpid(), signal.SIGUSR1)\nprint('done')"],
    "python3-asyncio": ["/usr/bin/python3", "-c", "import asyncio\nasync def f(): await asyncio.sleep(0.01); return 5\nprint(asyncio.run(f()))"],
    "sqlite3": (["sqlite3", "s.db"], SQL.encode()),
    "sqlite3-mem": ["sqlite3", ":memory:", "select 1+1, upper('x'), length(randomblob(9));"],
    "gcc-c": ["gcc", "-c", "hello.c"],
    "gcc-run": sh("gcc -O2 -o hello hello.c && ./hello a b"),
    "gcc-E": ["gcc", "-E", "-P", "hello.c"],
    "make": ["make"],
    "make-n": ["make", "-n"],
    "git": sh("git init -q -b main r && cd r && cp ../a.txt . && git add a.txt && git commit -q -m one && "
              "git log --format='%H %s' && git status --short && echo x >> a.txt && git diff --stat"),
    "git-version": ["git", "--version"],
    "file": ["file", "bin.dat", "a.txt", "hello.c"],
    "rev": ["rev", "a.txt"],
    "column": ["column", "-t", "-s,", "data.csv"],
    "bc": (["bc", "-l"], b"scale=20; 4*a(1)\n2^100\n"),
    "m4": (["m4"], b"define(`X', `hello')dnl\nX world\n"),
    "jq": (["jq", "-c", ".a | map(. * 2)"], b'{"a": [1, 2, 3]}'),
    "openssl-dgst": ["openssl", "dgst", "-sha256", "a.txt"],
    "iconv": (["iconv", "-f", "utf-8", "-t", "utf-16le"], "h\u00e9llo\n".encode()),
    "xxd": ["xxd", "-l", "64", "bin.dat"],
    "hexdump": ["hexdump", "-C", "-n", "48", "bin.dat"],
    "ed": (["ed", "-s", "a.txt"], b",s/alpha/ALPHA/\nw\nq\n"),
    "strace-v": ["strace", "-V"],
    "lz4": ["lz4", "-q", "words.txt", "words.lz4"],
    "xz-threads": ["xz", "-T2", "-k", "-6", "words.txt"],
    "sort-parallel": ["sort", "--parallel=2", "-S", "64K", "words.txt"],
    "gcc-m32-run": sh("gcc -m32 -static -o h32 hello.c && ./h32 x"),
    "make-j2": ["make", "-j2"],
    "git-clone": sh("git init -q -b main r && cd r && cp ../words.txt . && git add . && git commit -q -m w "
                    "&& cd .. && git clone -q r c && git -C c log --format=%s && ls c"),
    "python3-pool": ["/usr/bin/python3", "-c", "import multiprocessing as m\nif __name__=='__main__':\n"
                     "  with m.Pool(2) as p: print(p.map(abs, range(-5, 5)))"],
    "python3-compileall": ["/usr/bin/python3", "-m", "compileall", "-q", "t.py"],
    "perl-threads": ["perl", "-Mthreads", "-e", "my @t = map { threads->create(sub { $_[0] * 2 }, $_) } 1..3; "
                     "print join(',', map { $_->join } @t), \"\\n\""],
    "find-exec": ["find", "tree", "-type", "f", "-name", "f*", "-exec", "wc", "-c", "{}", "+"],
    "proc-status": sh("grep -E '^(Name|State|Threads|PPid):' /proc/self/status | sed 's/[0-9][0-9]*$/N/'"),
    "proc-cmdline": sh("tr '\\0' ' ' < /proc/self/cmdline; echo; exec cat /proc/self/cmdline | tr '\\0' ' '"),
    "proc-fd": bash("exec 7<a.txt; ls /proc/self/fd | sort -n | tr '\\n' ' '"),
    "dev-fd": bash("exec 9<b.txt; cat /dev/fd/9; readlink /dev/fd/9"),
    "sqlite3-big": (["sqlite3", ":memory:"], b"create table t(x);" + b"".join(
        b"insert into t values(%d);" % i for i in range(3000)) + b"select count(*), sum(x) from t;"),
    "setpriv-nnp": ["setpriv", "--no-new-privs", "true"],
    "timeout": ["timeout", "5", "sleep", "0.1"],
    "nice": ["nice", "-n", "5", "nice"],
    "flock": ["flock", "lk", "true"],
    "stdbuf": ["stdbuf", "-oL", "echo", "buf"],
    "chroot-less-env": ["env", "-u", "HOME", "printenv", "LC_ALL"],
}

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "TZ": "UTC", "TERM": "dumb", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "a",
       "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b",
       "GIT_AUTHOR_DATE": "1600000000 +0000", "GIT_COMMITTER_DATE": "1600000000 +0000"}
# the files whose bytes record inode numbers and times of the run itself
VOLATILE = {".git/index"}


ROOT = None     # --root: an i386 (or any) Debian root, run under chroot and sysgate --root


def resolve(argv):
    if ROOT is None:
        exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=ENV["PATH"])
        return None if exe is None else [exe] + argv[1:]
    if argv[0].startswith("./"):
        return argv
    for d in ([""] if "/" in argv[0] else ENV["PATH"].split(":")):
        p = os.path.join(d, argv[0]) if d else argv[0]
        if os.path.exists(ROOT + p) and not os.path.isdir(ROOT + p):
            return [p] + argv[1:]
    return None


# In a root, every invocation starts as a shell that enters its directory.
ENTER = ["/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh"]


def snapshot(d):
    out = {}
    for root, dirs, files in os.walk(d):
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            if any(rel.endswith(v) for v in VOLATILE):
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", oct(st.st_mode & 0o7777))
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", oct(st.st_mode & 0o7777), hashlib.sha256(f.read()).hexdigest()[:16])
    return out


def runner_argv(runner, argv, tracefile=None, guest_dir=None):
    if ROOT is not None:
        argv = [ROOT + ENTER[0]] + ENTER[1:] + [guest_dir] + argv
        if runner == "native":
            return ["chroot", ROOT, argv[0][len(ROOT):]] + argv[1:]
        if runner == "qemu":
            return ["qemu-i386", "-L", ROOT] + argv
        root = ["--root", ROOT]
    else:
        root = []
    if runner == "native":
        return argv
    if runner == "qemu":
        return ["qemu-x86_64"] + argv
    if runner == "trace":
        return [sys.executable, "-m", "sysgate", "trace", *root, "-f", "-o", tracefile] + argv
    cpu = runner.split("-", 1)[1] if "-" in runner else "intel"
    return [sys.executable, "-m", "sysgate", "run", "--cpu", cpu, *root] + argv




def run_one(name, runner, timeout, tracefile=None):
    spec = CORPUS[name]
    argv, stdin = spec if isinstance(spec, tuple) else (spec, b"")
    argv = resolve(argv)
    base = BASE if ROOT is None else ROOT + "/tmp/sysgate-corpus"
    d = os.path.join(base, name)
    shutil.rmtree(d, ignore_errors=True)
    make_fixture(d)
    home = os.path.join(BASE, "home")   # outside d: sysgate keeps its cache there
    os.makedirs(home, exist_ok=True)
    env = dict(ENV, HOME=home)
    env["PYTHONPATH"] = TOP      # every runner's guest sees the same environment
    guest_dir = d if ROOT is None else d[len(ROOT):]
    if ROOT is not None:
        env["HOME"] = "/tmp/sysgate-corpus"
    p = subprocess.Popen(runner_argv(runner, argv, tracefile, guest_dir), cwd=d, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        kill_session(p.pid)
        out, err = p.communicate()
        rc = "timeout"
    files = snapshot(d)
    shutil.rmtree(d, ignore_errors=True)
    signaled = isinstance(rc, int) and rc < 0
    if signaled:
        rc = 128 - rc       # as a shell (and sysgate) reports death by signal N
    return {"status": rc, "stdout": out, "stderr": err, "files": files, "signaled": signaled}


SIGNAL_WORD = re.compile(rb"(Segmentation fault|Terminated|Aborted|Killed|Illegal instruction|"
                         rb"Bus error|Floating point exception|Trace/breakpoint trap)\n$")


def compare(native, other):
    why = []
    if native["signaled"] and not other["signaled"]:
        # sysgate names the signal its guest died of on stderr, as a shell does
        other = dict(other, stderr=SIGNAL_WORD.sub(b"", other["stderr"]))
    for k in ("status", "stdout", "stderr", "files"):
        if native[k] != other[k]:
            if k == "files":
                a, b = native[k], other[k]
                diff = sorted(set(a.items()) ^ set(b.items()))
                why.append(f"files differ: {', '.join(sorted({x[0] for x in diff}))[:150]}")
            elif k == "status":
                why.append(f"status {native[k]} vs {other[k]}")
            else:
                why.append(f"{k}: {first_diff(native[k], other[k])}")
    return why


def first_diff(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else b"<eof>"
        y = lb[i] if i < len(lb) else b"<eof>"
        if x != y:
            return f"line {i + 1}: {x[:90]!r} vs {y[:90]!r}"
    return "differs"


def trace_sweep(names, jobs, timeout):
    found = {}
    tdir = tempfile.mkdtemp(prefix="sysgate-corpus-trace-")

    def one(n):
        tf = os.path.join(tdir, n + ".trace")
        run_one(n, "trace", timeout, tf)
        calls = []
        if os.path.exists(tf):
            with open(tf, errors="replace") as f:
                for line in f:
                    if "ENOSYS" in line:
                        m = re.search(r"\]\s*(?:\[pid\s*\d+\]\s*)?([a-z_0-9]+)\(", line) or \
                            re.search(r"([a-z_0-9]+)\(", line)
                        calls.append(m.group(1) if m else line.strip()[:80])
        return n, calls

    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for n, calls in ex.map(one, names):
            for c in calls:
                found.setdefault(c, set()).add(n)
    shutil.rmtree(tdir, ignore_errors=True)
    print(f"calls answered ENOSYS in a traced sweep of {len(names)} invocations:")
    for c, who in sorted(found.items(), key=lambda x: -len(x[1])):
        print(f"  {c}: {len(who)} ({', '.join(sorted(who))[:200]})")
    if not found:
        print("  none")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runners", default="native,sysgate,qemu")
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--diff", action="store_true", help="print each difference in full")
    ap.add_argument("--root", help="a Debian root (e.g. i386, made by debootstrap): each "
                    "invocation runs there under chroot natively and sysgate --root")
    a = ap.parse_args()
    global ROOT
    if a.root:
        ROOT = os.path.abspath(a.root).rstrip("/")
        if a.runners == ap.get_default("runners"):
            a.runners = "native,sysgate"     # qemu-i386 -L runs a child's exec outside the root
        # the native runs under chroot read /proc as sysgate's guests read theirs
        proc = ROOT + "/proc"
        if not os.path.ismount(proc) and os.geteuid() == 0 and \
                subprocess.run(["mount", "-t", "proc", "proc", proc]).returncode == 0:
            import atexit
            atexit.register(subprocess.run, ["umount", proc])
    names = [n for n in (a.only.split(",") if a.only else CORPUS) if resolve(
        (CORPUS[n][0] if isinstance(CORPUS[n], tuple) else CORPUS[n]))]
    missing = [n for n in CORPUS if n not in names and not a.only]
    t0 = time.time()
    if a.trace:
        trace_sweep(names, a.jobs, a.timeout)
        print(f"({time.time() - t0:.0f} s)")
        return
    runners = a.runners.split(",")
    if "native" not in runners:
        runners.insert(0, "native")

    def one(n):
        # one invocation's runs one after another: they share its directory path
        return n, {r: run_one(n, r, a.timeout) for r in runners}

    res = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for n, rr in ex.map(one, names):
            res[n] = rr
    others = [r for r in runners if r != "native"]
    matched = dict.fromkeys(others, 0)
    for n in names:
        for r in others:
            why = compare(res[n]["native"], res[n][r])
            if why:
                print(f"{n} [{r}]: {'; '.join(why)}")
                if a.diff:
                    for k in ("stdout", "stderr"):
                        print(f"   native {k}: {res[n]['native'][k][-400:]!r}\n   {r} {k}: {res[n][r][k][-400:]!r}")
            else:
                matched[r] += 1
    if missing:
        print(f"(not installed here: {', '.join(missing)})")
    print(f"corpus: {len(names)} invocations; matching native: " +
          ", ".join(f"{r} {matched[r]}/{len(names)}" for r in others) + f" ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
