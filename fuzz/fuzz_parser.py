"""Coverage-guided fuzzing of the whole pipeline with atheris (libFuzzer for Python).

    pip install atheris
    python fuzz/fuzz_parser.py --seeds corpus/       # readable seed programs
    python fuzz/fuzz_parser.py corpus/ -runs=100000  # a fixed budget of inputs
    python fuzz/fuzz_parser.py corpus/ -max_total_time=600   # or of seconds

Each input is a program and a binding, split at a NUL byte; the program is parsed, built,
run forward and backward and checked. Only BackpropError (a clean exit 2) may
come out; anything else is a crash that libFuzzer reports with the input.
"""

import sys

import atheris

# Filled by main(), inside atheris' instrumentation, so coverage guides the fuzzer.
run = Request = BackpropError = BindingText = from_text = None

SEEDS = ["y = w*x + b; L = (y - t)^2/2\x00x=2,w=3,b=1,t=10", "c = a + b; d = b + 1; e = c * d\x00a=2,b=1",
         "f = sigmoid(w0*x0 + w1)\x00w0=2,x0=-1,w1=1/3", "f = relu(x) + abs(x) + max(x, y)\x00x=0,y=0",
         "f = log(x, 10)^-2 + leaky_relu(x, 0.2)\x00x=1e-3", "h = tanh(x)\nf = exp(h)*sqrt(h + 2)\x00x=pi/4",
         "f = (x - y)/(x + y)\x00x=1", "f = x^y^2 - asin(y/3)\x00y=-1/2,x=sqrt(2)",
         # tensors: @, .T, literals, reductions, softmax, broadcasting
         "h = tanh(W @ x + b); L = sum(h^2)\x00W=[[1, 2], [3, 4]], x=[1, -1], b=[0, 1/2]",
         "z = W @ x; p = softmax(z); L = -sum(y*log(p))\x00W=[[1, 0], [0, 1]], x=[1, 2], y=[0, 1]",
         "L = sum(mean(A.T @ A, 0) * [1, 2]) + sum(outer(v, v), -1) @ v\x00A=[[1, 2], [3, 4]], v=[1, 2]",
         "Y = X @ W.T + b; L = mean(log_softmax(Y))\x00X=[[1, 2]], W=[[1, 0]], b=[1]"]


def write_seeds(folder: str) -> None:
    """`python fuzz/fuzz_parser.py --seeds DIR` writes the seed corpus into DIR."""
    import os

    os.makedirs(folder, exist_ok=True)
    for i, seed in enumerate(SEEDS):
        with open(os.path.join(folder, f"seed{i}"), "wb") as handle:
            handle.write(seed.encode("utf-8"))


def one_input(data: bytes) -> None:
    # The input is the program, a NUL, then the bindings: seed files are readable programs.
    program, _, binding = data.decode("utf-8", "replace").partition("\x00")
    try:
        run(Request(from_text(program), [BindingText(binding, "--at")] if binding else []))
    except BackpropError:
        pass  # a clean error: exit code 2


def main() -> None:
    global run, Request, BackpropError, BindingText, from_text
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        write_seeds(sys.argv[2])
        return
    with atheris.instrument_imports():
        from backprop_cli.engine import Request, run
        from backprop_cli.errors import BackpropError
        from backprop_cli.source import BindingText, from_text
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
