/* Three frame-pointer functions whose unwind rules keep "rbp at CFA-16"
 * after `leave`, up to the `ret`, as GCC writes them at -O0:
 * epi_root calls epi_outer calls epi_inner.  test-unwind.c builds by
 * hand the state of a thread stopped at epi_inner's `ret` (epi_inner_ret):
 * its caller's rbp is back in the register, its save slot below the stack
 * pointer.  Never run. */
        .macro frame_enter
        .cfi_startproc
        pushq %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq %rsp, %rbp
        .cfi_def_cfa_register %rbp
        .endm

        /* leave, and GCC's rule after it: no .cfi_restore of rbp */
        .macro frame_leave
        leave
        .cfi_def_cfa %rsp, 8
        .endm

        .text
        .globl epi_inner, epi_inner_ret, epi_outer, epi_outer_after, epi_root, epi_root_after
        .type epi_inner, @function
epi_inner:
        frame_enter
        nop
        frame_leave
epi_inner_ret:
        ret
        .cfi_endproc
        .size epi_inner, . - epi_inner

        .type epi_outer, @function
epi_outer:
        frame_enter
        call epi_inner
epi_outer_after:
        nop
        frame_leave
        ret
        .cfi_endproc
        .size epi_outer, . - epi_outer

        .type epi_root, @function
epi_root:
        frame_enter
        call epi_outer
epi_root_after:
        nop
        frame_leave
        ret
        .cfi_endproc
        .size epi_root, . - epi_root

        .section .note.GNU-stack,"",@progbits
