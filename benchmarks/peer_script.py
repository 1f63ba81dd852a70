"""A peer doing backprop's job on a program file: read it, translate it to Python, run it, print.

    python peer_script.py micrograd PROGRAM.bp
    python peer_script.py torch PROGRAM.bp
    python peer_script.py torch PROGRAM.bp --at @WEIGHTS.npz --wrt W1,b1,W2,b2   # a tensor program

The very `.bp` text that `backprop grad --file` reads is translated line by line into a Python
script: each statement `y = expr` becomes the Python assignment `y = expr` with `^` written as
`**` and a function such as `relu(...)` calling the peer's own operation; the inputs are bound from
the same `# at:` numbers, as micrograd `Value`s or as PyTorch float64 0-d tensors that require
gradients. The script is compiled and run, the last assigned name is the output (as in backprop),
`backward()` is called on it, and every input's gradient is printed as CSV (`input,gradient`), in
the order of the `# at:` line. The whole of that (reading, translating, compiling, both passes and
the output) is the peer's measured job.

A tensor program (the matrix-form MLP) is read the same way, with `@` kept as Python's matmul and
`sum`, `mean`, `softmax`, `log_softmax` as PyTorch's (the last axis, as in backprop). Its inputs
come from `--at @FILE.npz`, as backprop's do: every array loaded by `numpy.load` (no pickles) as a
float64 tensor, those named by `--wrt` requiring gradients; the gradients of the `--wrt` names are
printed as JSON, `{"gradients": {name: nested lists}}`, floats in full (repr) precision.

This runs the benchmark's own generated programs only. It still fails closed: a line that is not
a comment, a blank line or `name = expr` over names, numbers and `+ - * / ^ @ ( ) ,` is an error, as
is a dot that is not a decimal point or a dunder name; the script runs without built-ins, so a name
that is neither an input, a function of the peer nor assigned earlier is a NameError.
"""

from __future__ import annotations

import re
import sys

STATEMENT = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*([\w\s.+\-*/^(),@]+)\Z")
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


def torch_arrays(path: str, wrt: list[str] | None):
    """Every array of the .npz as a float64 tensor; the --wrt ones (all without it) require gradients."""
    import numpy as np
    import torch

    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: torch.from_numpy(np.asarray(archive[name], dtype=np.float64)) for name in archive.files}
    missing = set(wrt or ()) - set(arrays)
    if missing:
        raise SystemExit(f"--wrt names no array of {path}: {sorted(missing)}")
    for name in arrays if wrt is None else wrt:
        arrays[name].requires_grad_(True)
    functions = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "exp": torch.exp,
                 "log": torch.log, "sum": lambda x, axis=None: x.sum() if axis is None else x.sum(axis),
                 "mean": lambda x, axis=None: x.mean() if axis is None else x.mean(axis),
                 "softmax": lambda z: torch.softmax(z, -1), "log_softmax": lambda z: torch.log_softmax(z, -1)}
    return arrays, functions


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


def options(argv: list[str]) -> tuple[str, str, str | None, list[str] | None]:
    """PEER PROGRAM [--at @FILE.npz] [--wrt a,b,...] (no argparse: the scalar runs stay as they were)."""
    peer, path, rest = argv[0], argv[1], dict(zip(argv[2::2], argv[3::2]))
    unknown = set(rest) - {"--at", "--wrt"}
    if unknown or len(argv) % 2:
        raise SystemExit(f"usage: peer_script.py PEER PROGRAM [--at @FILE.npz] [--wrt a,b] (not {sorted(unknown)})")
    at = rest.get("--at")
    if at is not None and not (at.startswith("@") and at.endswith(".npz")):
        raise SystemExit("--at takes @FILE.npz only (the tensor programs' arrays)")
    wrt = rest["--wrt"].split(",") if "--wrt" in rest else None
    return peer, path, at and at[1:], wrt


def main() -> None:
    peer, path, npz, wrt = options(sys.argv[1:])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if npz is not None:  # a tensor program: PyTorch only
        if peer != "torch":
            raise SystemExit(f"{peer} has no arrays: tensor programs run with the torch peer only")
        import json

        import numpy as np
        arrays, functions = torch_arrays(npz, wrt)
        _, source, output = translate(text, functions)
        namespace = {"__builtins__": {}, **functions, **arrays}
        exec(compile(source, path, "exec"), namespace)  # our own generated benchmark programs only
        namespace[output].backward()
        names = wrt or list(arrays)
        sys.stdout.write(json.dumps({"of": output, "value": namespace[output].item(), "gradients": {
            name: np.zeros(arrays[name].shape).tolist() if arrays[name].grad is None else arrays[name].grad.tolist()
            for name in names}}) + "\n")
        return
    if wrt is not None:
        raise SystemExit("--wrt is for tensor programs (with --at @FILE.npz); a scalar run prints every input")
    leaf, functions, gradient = {"micrograd": micrograd_peer, "torch": torch_peer}[peer]()
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
