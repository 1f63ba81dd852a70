"""Every limit against hostile or runaway input, in one place.

Each is generous enough for honest big input (SPEC §7: 4 MB programs, 250,000
graph nodes) and is quoted in the error message when hit.
"""

MAX_PROGRAM_CHARS = 16_000_000     # characters of program text
MAX_STATEMENTS = 300_000           # statements in one program
MAX_NODES = 1_000_000              # nodes in the computational graph
MAX_NESTING = 500                  # nested brackets, calls, unary signs and powers in one expression
MAX_NAME_LENGTH = 100              # characters in an identifier
MAX_NUMBER_LITERAL_CHARS = 1_000   # characters in one number literal
MAX_EXACT_DIGITS = 1_000           # digits of an exact rational; beyond it values go decimal
MAX_MAGNITUDE_DIGITS = 1_000       # |log10(value)| beyond which a value is an error (floats stop at 308)
MAX_BINDING_CHARS = 10_000         # characters in one --at value
MAX_ANSWER_CHARS = 10_000          # characters in one quiz answer (read no further)

MAX_PICTURE_NODES = 2_000          # graph --format text|svg|png (DOT text has no limit)
MAX_LABEL_CHARS = 400              # a node's text in labels and JSON: longer ones keep start and end

DEFAULT_TIMEOUT_SECONDS = 30.0     # wall clock for one command (--timeout); 0 turns it off
MAX_MEMORY_BYTES = 8 * 2**30       # address space of the backprop process
MAX_DECLARED_SIZE = 10_000         # a size in --shape (a declared 10,000x10,000 is 10^8 entries)
MAX_PRODUCT_FACTORS = 1_000        # factors in one product node; a longer run of * is nested

# Expansions SymPy may build while comparing claims (see settings.COMPARE_*).
MAX_EXPANDED_TERMS = 2_000         # terms an expansion may build ((a+b+c+d)^1000 would build 167,668,501)

# Tensor bindings (bindings.py): `--at W=[[...]]`, W=@w.csv, @weights.npz.
MAX_ARRAY_ENTRIES = 10_000_000     # entries in one bound vector or matrix
MAX_ARRAY_FILE_BYTES = 1_000_000_000  # bytes of one .npy or .npz file (an .npz's arrays unpacked, in total)
