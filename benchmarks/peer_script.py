"""A peer doing backprop's job on a program file: read it, translate it to Python, run it, print.

    python peer_script.py micrograd PROGRAM.bp
    python peer_script.py torch PROGRAM.bp

The very `.bp` text that `backprop grad --file` reads is translated line by line into a Python
script: each statement `y = expr` becomes the Python assignment `y = expr` with `^` written as
`**` and a function such as `relu(...)` calling the peer's own operation; the inputs are bound from
the same `# at:` numbers, as micrograd `Value`s or as PyTorch float64 0-d tensors that require
gradients. The script is compiled and run, the last assigned name is the output (as in backprop),
`backward()` is called on it, and every input's gradient is printed as CSV (`input,gradient`), in
the order of the `# at:` line. The whole of that (reading, translating, compiling, both passes and
the output) is the peer's measured job.

This runs the benchmark's own generated programs only. It still fails closed: a line that is not
a comment, a blank line or `name = expr` over names, numbers and `+ - * / ^ ( ) ,` is an error, as
is a dot that is not a decimal point or a dunder name; the script runs without built-ins, so a name
that is neither an input, a function of the peer nor assigned earlier is a NameError.
"""

from __future__ import annotations

import re
import sys

STATEMENT = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*([\w\s.+\-*/^(),]+)\Z")
# a dot is a decimal point only, and no name is a dunder: no attribute access reaches compile()
FORBIDDEN = re.compile(r"__|(?<![0-9])\.|\.(?![0-9])")


def micrograd_peer():
    from micrograd.engine import Value

    functions = {"relu": lambda a: a.relu()}
    return Value, functions, lambda leaf: leaf.grad


def torch_peer():
    import torch

    functions = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "exp": torch.exp,
                 "log": torch.log, "ln": torch.log, "sin": torch.sin, "cos": torch.cos, "sqrt": torch.sqrt,
                 "abs": torch.abs}

    def leaf(value: float):
        return torch.tensor(value, dtype=torch.float64, requires_grad=True)

    def gradient(tensor) -> float:
        return 0.0 if tensor.grad is None else tensor.grad.item()

    return leaf, functions, gradient


def translate(text: str, functions: dict) -> tuple[dict[str, float], str, str]:
    """The `# at:` bindings, the Python source of the statements, and the output's name."""
    bindings: dict[str, float] = {}
    statements: list[str] = []
    output = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("# at:"):
            for pair in stripped[len("# at:"):].split(","):
                name, _, value = pair.partition("=")
                bindings[name.strip()] = float(value)
            continue
        if not stripped or stripped.startswith("#"):
            continue
        match = STATEMENT.match(line)
        if match is None:
            raise SystemExit(f"line {number}: not a statement this peer translates: {line[:80]!r}")
        output, expression = match.groups()
        statements.append(f"{output} = {expression.replace('^', '**')}")
    if output is None:
        raise SystemExit("the program has no statement")
    source = "\n".join(statements) + "\n"
    forbidden = FORBIDDEN.search(source)
    if forbidden is not None:
        raise SystemExit(f"{forbidden.group()!r} is not translated (attribute access or a dunder name)")
    return bindings, source, output


def main() -> None:
    peer, path = sys.argv[1], sys.argv[2]
    leaf, functions, gradient = {"micrograd": micrograd_peer, "torch": torch_peer}[peer]()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    bindings, source, output = translate(text, functions)
    inputs = {name: leaf(value) for name, value in bindings.items()}
    # no built-ins: a name that is neither an input, a function nor assigned earlier is a NameError
    namespace = {"__builtins__": {}, **functions, **inputs}
    exec(compile(source, path, "exec"), namespace)  # our own generated benchmark programs only
    namespace[output].backward()
    sys.stdout.write("input,gradient\n" + "".join(f"{name},{gradient(value)!r}\n" for name, value in inputs.items()))


if __name__ == "__main__":
    sys.setrecursionlimit(1_000_000)  # micrograd's topological sort recurses once per level of the graph
    main()
