"""Names strace prints for numbers, shared by the argument decoder
(trace.decode) and the struct summaries (trace.structs)."""
from ..abi.consts import SIGNAMES

SIGNALS = [SIGNAMES[n] for n in range(1, 32)]     # the standard signals, 1 to 31
