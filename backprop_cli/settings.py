"""Settings of the engine: precisions, steps, tolerances and the sizes where the number mode
changes. They decide how a result is computed; the limits against hostile or runaway input
live apart, in limits.py."""

# Exact values that are not rational stay exact while their SymPy expression has
# at most this many nodes (tanh(2) has 2, 1/(1 + exp(-1)) has 7). Larger values,
# such as tanh of a sum of tanh's, are carried as DECIMAL_DIGITS-digit decimals.
MAX_EXACT_EXPRESSION_NODES = 24
# Symbolic gradients (unbound inputs) are given expanded into the inputs while they have at most
# this many nodes; beyond, only their formula in the program's own names.
MAX_SYMBOLIC_EXPRESSION_NODES = 60

DECIMAL_DIGITS = 50                # significant digits of decimal values
FD_DIGITS = 80                     # working precision of the finite-difference check
FD_STEP_EXPONENT = -25             # central-difference step 10**FD_STEP_EXPONENT * max(1, |input|)
FD_TOLERANCE = 1e-9                # |analytic - numeric| / max(1, |analytic|) allowed
FULL_CHECK_MAX_INPUTS = 32         # --check auto: a central difference per input up to here, directional beyond
FAST_CHECK_DIGITS = 30             # working precision of the directional check
FAST_CHECK_STEP_EXPONENT = -10     # its step 10**FAST_CHECK_STEP_EXPONENT
FAST_CHECK_TWO_DIRECTIONS_MAX_NODES = 20_000  # two random directions up to here, one beyond
# Tensors: every entry of the reported inputs is checked while they have FULL_CHECK_MAX_INPUTS
# entries in all; beyond, a random direction per tensor and this many single entries of each.
TENSOR_CHECK_SAMPLES = 3

# Number modes: exact (SymPy numbers, 50-digit decimals beside) up to this many graph
# nodes or edges, numeric (Python floats, templates compiled once per op kind) beyond.
EXACT_MODE_MAX_NODES = 2_000
# Numeric mode runs over whole columns (vectorised.py) from here: below it, numpy's import (about
# 0.1 s) costs what the columns save (measured even at 4,000 and 6,500 nodes, ahead at 20,000).
VECTORISED_MIN_NODES = 10_000

# Deciding whether two exact values or formulas are equal (claims, quiz answers):
# numerically first, with SymPy's adaptive precision up to COMPARE_MAX_DIGITS digits;
# SymPy's simplify only where the numbers agree and the expanded form stays small.
COMPARE_DIGITS = 30                # digits to which a difference must be known to call it nonzero
COMPARE_MAX_DIGITS = 600           # working precision at most, for cancellations

# Symbolic tensors (--shape, no values): each matrix formula is checked at this many random
# points (normal entries, seeded) against the reverse pass there, in float64.
SYMBOLIC_TENSOR_POINTS = 3
SYMBOLIC_TENSOR_SEED = 20261201
SYMBOLIC_TENSOR_TOLERANCE = 1e-9
