/* Every general register but RSP is zero when a program starts (execve's
 * start_thread), and the x87 and SSE control words are in their init
 * state. Run with an argument, the program fills every register with junk
 * and execs itself without one: the new image must start clean all the
 * same. The status is a bit per register found non-zero (0: all clean).
 * Built with -nostdlib: nothing runs before _start. */
__asm__(
    ".globl _start\n"
    "_start:\n"
    "    xor %r12d, %r12d\n"          /* the status, once r12 itself is checked */
    "    test %r12, %r12\n"
    "    jz 1f\n"
    "    or $1, %r12\n"
    "1:  mov %r12, %r13\n"
    "    xor %r12d, %r12d\n"
    "    test %rax, %rax\n  jz 2f\n  or $2, %r12\n  2:\n"
    "    test %rbx, %rbx\n  jz 2f\n  or $4, %r12\n  2:\n"
    "    test %rcx, %rcx\n  jz 2f\n  or $8, %r12\n  2:\n"
    "    test %rdx, %rdx\n  jz 2f\n  or $16, %r12\n  2:\n"
    "    test %rsi, %rsi\n  jz 2f\n  or $32, %r12\n  2:\n"
    "    test %rdi, %rdi\n  jz 2f\n  or $64, %r12\n  2:\n"
    "    test %rbp, %rbp\n  jz 2f\n  or $128, %r12\n  2:\n"
    "    mov %r8, %r13\n  or %r9, %r13\n  or %r10, %r13\n  or %r11, %r13\n"
    "    or %r14, %r13\n  or %r15, %r13\n"
    "    test %r13, %r13\n  jz 2f\n  or $256, %r12\n  2:\n"
    "    sub $16, %rsp\n"
    "    fnstcw (%rsp)\n"
    "    cmpw $0x37f, (%rsp)\n  je 2f\n  or $512, %r12\n  2:\n"
    "    stmxcsr 4(%rsp)\n"
    "    cmpl $0x1f80, 4(%rsp)\n  je 2f\n  or $1024, %r12\n  2:\n"
    "    add $16, %rsp\n"
    "    cmpq $1, (%rsp)\n"            /* argc */
    "    ja 3f\n"
    "    mov %r12, %rdi\n"
    "    mov $60, %eax\n"              /* exit(status) */
    "    syscall\n"
    "3:  mov 8(%rsp), %rdi\n"          /* execve(argv[0], {argv[0], NULL}, NULL) */
    "    push $0\n"
    "    push %rdi\n"
    "    mov %rsp, %rsi\n"
    "    xor %edx, %edx\n"
    "    mov $-1, %rbx\n  mov $-1, %rbp\n  mov $-1, %r8\n  mov $-1, %r9\n"
    "    mov $-1, %r10\n  mov $-1, %r12\n  mov $-1, %r13\n  mov $-1, %r14\n  mov $-1, %r15\n"
    "    movw $0x7f, -8(%rsp)\n  fldcw -8(%rsp)\n"
    "    movl $0x9f80, -8(%rsp)\n  ldmxcsr -8(%rsp)\n"
    "    mov $59, %eax\n"
    "    syscall\n"
    "    mov $127, %edi\n"
    "    mov $60, %eax\n"
    "    syscall\n");
