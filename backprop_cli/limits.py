"""Every limit against hostile or runaway input, in one place.

Each is generous enough for honest big input (SPEC §7: 4 MB programs, 250,000
graph nodes) and is quoted in the error message when hit.
"""

MAX_PROGRAM_CHARS = 16_000_000     # characters of program text
MAX_STATEMENTS = 300_000           # statements in one program
MAX_NODES = 1_000_000              # nodes in the computational graph
MAX_NESTING = 100                  # nested brackets, calls, unary signs and powers in one expression
MAX_NAME_LENGTH = 100              # characters in an identifier
MAX_NUMBER_LITERAL_CHARS = 1_000   # characters in one number literal
MAX_EXACT_DIGITS = 1_000           # digits of an exact rational; beyond it values go decimal
MAX_MAGNITUDE_DIGITS = 1_000       # |log10(value)| beyond which a value is an error (floats stop at 308)
MAX_BINDING_CHARS = 10_000         # characters in one --at value

# Exact values that are not rational stay exact while their SymPy expression has
# at most this many nodes (tanh(2) has 2, 1/(1 + exp(-1)) has 7). Larger values,
# such as tanh of a sum of tanh's, are carried as DECIMAL_DIGITS-digit decimals.
MAX_EXACT_EXPRESSION_NODES = 24
# Symbolic formulas (unbound inputs) larger than this are written in terms of
# the program's intermediate names, whose definitions are listed.
MAX_SYMBOLIC_EXPRESSION_NODES = 60

DECIMAL_DIGITS = 50                # significant digits of decimal values
FD_DIGITS = 80                     # working precision of the finite-difference check
FD_STEP_EXPONENT = -25             # central-difference step h = 10**FD_STEP_EXPONENT * max(1, |x|)
FD_TOLERANCE = 1e-9                # |analytic - numeric| / max(1, |analytic|) allowed

DEFAULT_TIMEOUT_SECONDS = 30.0     # wall clock for one command (--timeout); 0 turns it off
MAX_MEMORY_BYTES = 8 * 2**30       # address space of the backprop process
