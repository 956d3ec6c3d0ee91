"""sysgate's vDSO: the images mapped into every process, and their vvar page.

    src/          C and assembly sources, linker scripts, version scripts
    Makefile      rebuilds vdso64.so, vdso32.so and their .json metadata
    images.py     load(arch), VdsoImage (bytes, symbols, landing pad),
                  patch_vsyscall(image_bytes, gate)
    vvar.py       the vvar page layout and a writer for it (Vvar, TscClock)
    elfread.py    the small ELF reader both use
    genmeta.py    the build's checks and metadata writer
"""
