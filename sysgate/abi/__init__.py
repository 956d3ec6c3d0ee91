"""The ABI layer: what the kernel's uapi headers fix, defined once.

consts.py is generated from the headers (tools/gen_unistd.py, as the
system-call numbers in kernel/tables/unistd.py are); structs.py declares
the structures whose layout differs between i386 and x86-64, and the typed
user-memory accessors that read and write them."""
