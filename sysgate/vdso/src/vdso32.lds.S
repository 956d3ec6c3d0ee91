/* The i386 image, linux-gate.so.1. */
OUTPUT_FORMAT("elf32-i386", "elf32-i386", "elf32-i386")
OUTPUT_ARCH(i386)
#include "layout.lds.h"
