/* The x86-64 image, linux-vdso.so.1. */
OUTPUT_FORMAT("elf64-x86-64", "elf64-x86-64", "elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
#include "layout.lds.h"
