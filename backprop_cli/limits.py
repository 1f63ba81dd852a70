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

# Exact values that are not rational stay exact while their SymPy expression has
# at most this many nodes (tanh(2) has 2, 1/(1 + exp(-1)) has 7). Larger values,
# such as tanh of a sum of tanh's, are carried as DECIMAL_DIGITS-digit decimals.
MAX_EXACT_EXPRESSION_NODES = 24
# Symbolic formulas (unbound inputs) larger than this are written in terms of
# the program's intermediate names, whose definitions are listed.
MAX_SYMBOLIC_EXPRESSION_NODES = 60

MAX_PICTURE_NODES = 2_000          # graph --format text|svg|png (DOT text has no limit)
MAX_LABEL_CHARS = 400              # a node's text in labels and JSON: longer ones keep start and end

DECIMAL_DIGITS = 50                # significant digits of decimal values
FD_DIGITS = 80                     # working precision of the finite-difference check
FD_STEP_EXPONENT = -25             # central-difference step h = 10**FD_STEP_EXPONENT * max(1, |x|)
FD_TOLERANCE = 1e-9                # |analytic - numeric| / max(1, |analytic|) allowed
FULL_CHECK_MAX_INPUTS = 32         # --check auto: a central difference per input up to here, directional beyond
FAST_CHECK_DIGITS = 30             # working precision of the directional check
FAST_CHECK_STEP_EXPONENT = -10     # its step h = 10**FAST_CHECK_STEP_EXPONENT
FAST_CHECK_TWO_DIRECTIONS_MAX_NODES = 20_000  # two random directions up to here, one beyond

# Number modes: exact (SymPy numbers, 50-digit decimals beside) up to this many graph
# nodes, numeric (Python floats, templates compiled once per op kind) beyond.
EXACT_MODE_MAX_NODES = 2_000

DEFAULT_TIMEOUT_SECONDS = 30.0     # wall clock for one command (--timeout); 0 turns it off
MAX_MEMORY_BYTES = 8 * 2**30       # address space of the backprop process
MAX_PRODUCT_FACTORS = 1_000        # factors in one product node; a longer run of * is nested

# Deciding whether two exact values or formulas are equal (claims, quiz answers):
# numerically first, with SymPy's adaptive precision up to COMPARE_MAX_DIGITS digits;
# SymPy's simplify only where the numbers agree and the expanded form stays small.
COMPARE_DIGITS = 30                # digits to which a difference must be known to call it nonzero
COMPARE_MAX_DIGITS = 600           # working precision at most, for cancellations
MAX_EXPANDED_TERMS = 2_000         # terms an expansion may build ((a+b+c+d)^1000 would build 167,668,501)
