"""Coverage-guided fuzzing of the whole pipeline with atheris (libFuzzer for Python).

    pip install atheris
    python fuzz/fuzz_parser.py -runs=100000          # a fixed budget of inputs
    python fuzz/fuzz_parser.py -max_total_time=600   # or of seconds

Each input is split into a program and a binding; the program is parsed, built,
run forward and backward and checked. Only BackpropError (a clean exit 2) may
come out; anything else is a crash that libFuzzer reports with the input.
"""

import sys

import atheris

with atheris.instrument_imports():
    from backprop_cli.engine import Request, run
    from backprop_cli.errors import BackpropError
    from backprop_cli.source import BindingText, from_text

SEED_PROGRAMS = [b"y = w*x + b; L = (y - t)^2/2", b"c = a + b; d = b + 1; e = c * d", b"f = sigmoid(w0*x0 + w1)",
                 b"f = relu(x) + abs(x) + max(x, y)", b"f = log(x, 10)^-2 + leaky_relu(x, 0.2)"]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    program = provider.ConsumeUnicodeNoSurrogates(200)
    binding = provider.ConsumeUnicodeNoSurrogates(40)
    try:
        run(Request(from_text(program), [BindingText(binding, "--at")] if binding else []))
    except BackpropError:
        pass  # a clean error: exit code 2


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
