/*
 * Layout shared by both images (after Linux's vdso-layout.lds.S): one
 * PT_LOAD, readable and executable, holding the ELF header, the dynamic
 * symbol tables (.hash, .gnu.hash, .dynsym, .dynstr, versions), .dynamic,
 * read-only data, the notes, the unwind tables and the code; the file is the
 * image byte for byte from offset 0, so the kernel maps it as is.
 *
 * The vvar page sits one page below the image's first byte. __vvar_page is
 * defined relative to the image start, so code reaches it PC-relatively and
 * the link needs no relocation.
 */
SECTIONS
{
	HIDDEN(__vvar_page = . - 4096);

	. = SIZEOF_HEADERS;

	.hash		: { *(.hash) }			:text
	.gnu.hash	: { *(.gnu.hash) }
	.dynsym		: { *(.dynsym) }
	.dynstr		: { *(.dynstr) }
	.gnu.version	: { *(.gnu.version) }
	.gnu.version_d	: { *(.gnu.version_d) }
	.gnu.version_r	: { *(.gnu.version_r) }

	.dynamic	: { *(.dynamic) }		:text	:dynamic

	.rodata		: { *(.rodata .rodata.*) }	:text
	/* Nothing is ever written: anything here is read-only in practice
	 * (on i386, .got.plt only anchors _GLOBAL_OFFSET_TABLE_ for @GOTOFF). */
	.data		: {
		*(.data .data.* .got.plt .got .bss .bss.* COMMON)
	}

	.note		: { *(.note.Linux) }		:text	:note
	.eh_frame_hdr	: { *(.eh_frame_hdr) }		:text	:eh_frame_hdr
	.eh_frame	: { KEEP (*(.eh_frame)) }	:text

	.text		: { *(.text .text.*) }		:text	=0x90909090

	/DISCARD/	: {
		*(.note.gnu.property .note.GNU-stack .comment)
	}
}

PHDRS
{
	text		PT_LOAD		FLAGS(5) FILEHDR PHDRS;	/* PF_R | PF_X */
	dynamic		PT_DYNAMIC	FLAGS(4);		/* PF_R */
	note		PT_NOTE		FLAGS(4);		/* PF_R */
	eh_frame_hdr	PT_GNU_EH_FRAME;
}
