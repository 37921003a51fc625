/* asm_block: three bytes of code whose hand-written DWARF (below) is a
 * compile unit holding a lexical block at its PC and no subprogram, as
 * some producers write for code outside any function.  The symbolizer's
 * scopes at that PC then name no function: the frame is made from the ELF
 * symbol, after the scopes were freed (the out-of-memory path that freed
 * them twice).  Assembled with -g0: this DWARF is the only one. */
        .text
        .globl asm_block
asm_block:
        nop
        nop
        ret

        .section .debug_abbrev,"",@progbits
.Labbrev:
        .uleb128 1              /* abbreviation 1 */
        .uleb128 0x11           /* DW_TAG_compile_unit */
        .byte 1                 /* with children */
        .uleb128 0x03, 0x08     /* DW_AT_name, DW_FORM_string */
        .uleb128 0x11, 0x01     /* DW_AT_low_pc, DW_FORM_addr */
        .uleb128 0x12, 0x07     /* DW_AT_high_pc, DW_FORM_data8 (a length) */
        .uleb128 0, 0
        .uleb128 2              /* abbreviation 2 */
        .uleb128 0x0b           /* DW_TAG_lexical_block */
        .byte 0                 /* no children */
        .uleb128 0x11, 0x01
        .uleb128 0x12, 0x07
        .uleb128 0, 0
        .uleb128 0

        .section .debug_info,"",@progbits
.Lcu:
        .long .Lcu_end - .Lcu_start
.Lcu_start:
        .short 4                /* DWARF 4 */
        .long .Labbrev
        .byte 8                 /* address size */
        .uleb128 1
        .string "asm-wait.S"
        .quad asm_block
        .quad 3
        .uleb128 2
        .quad asm_block
        .quad 3
        .byte 0                 /* end of the unit's children */
.Lcu_end:

        .section .debug_aranges,"",@progbits
        .long .Lar_end - .Lar_start
.Lar_start:
        .short 2
        .long .Lcu
        .byte 8, 0
        .long 0                 /* pads the header to 16 bytes */
        .quad asm_block
        .quad 3
        .quad 0, 0
.Lar_end:

        .section .note.GNU-stack,"",@progbits
