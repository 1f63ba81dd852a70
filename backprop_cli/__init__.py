"""backprop: a command-line tutor and calculator for backpropagation."""

__version__ = "0.1.0"
