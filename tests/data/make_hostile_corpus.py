"""Writes hostile.jsonl: hostile or malformed input through every channel, each of which
must end in exit code 2, a message and no traceback. Run it to regenerate the corpus.

Placeholders in args and files: {dir} is a fresh temporary folder, {marker} a file that
an injection would create.
"""

import json
from pathlib import Path

M = "{marker}"
# `__builtins__` or `__import__` alone are ordinary names here (inputs), harmless: see test_hostile.py.
INJECTIONS = [
    f"__import__('os').system('touch {M}')",
    f'__import__("os").system("touch {M}")',
    f"eval(\"__import__('os').system('touch {M}')\")",
    f"exec('open(\"{M}\",\"w\")')",
    f"open('{M}', 'w')",
    "x.__class__.__mro__[-1].__subclasses__()",
    "().__class__.__bases__[0]",
    "x.__class__",
    "lambda: 1",
    "lambda x: x",
    "[x for x in y]",
    "{x: 1}",
    "'string'",
    '"string"',
    "x if y else z",
    "x and y",
    "x or y",
    "not x",
    "x == y",
    "x < y",
    "x @ y",
    "x % y",
    "x // y",
    "x << y",
    "x | y",
    "x & y",
    "~x",
    "x[0]",
    "x.real",
    "sin(x=1)",
    "f(x=1)",
    "*x",
    "import os",
    "from os import system",
    f"$(touch {M})",
    f"`touch {M}`",
    "x := 1",
    "del x",
    "print(x)",
    "sympify('x')",
    "getattr(x, 'y')",
    "Symbol('x')",
    "x\\y",
    "x!",
    "x?",
    "#!/bin/sh\nrm -rf /",
]
MALFORMED = [
    "", "   ", "# only a comment", ";;;;", "(", ")", "x = ", "= x", "x = y = z", ",", "sin()", "sin(x,)",
    "max(x)", "log(x, 2, 3)", "sin", "f = 2 + sin", "x = 1 2", "2x", ".", "1.2.3", "0x10", "1_000", "1e",
    "pi = 3", "E = 1", "sin = 2", "y = 1; y = 2", "f = x + 1; x = 2", "f = 1; f + 1", "x + 1; y = 2",
    "unknown(x)", "sigmod(x)", "factorial(x)", "gamma(x)", "x" * 1000, "1" * 2000,
]
UNICODE = [
    "ｓｉｎ(x)", "x − y", "x × y", "x·y", "x²", "\u0445 + 1", "x\u200by", "\u202ex + y", "ℯ^x", "π*x",
    "x + \u0663", "x\u00b3", "e\u0301", "😀 + x", "\ufeffx + 1", "x\u3000+ 1", "ｘ + 1", "x＝1",
]
DOS = [
    ("f = 9^9^9", None),
    ("f = x*9^9^9", "x=2"),
    ("f = 2^10^10", None),
    ("f = x*(13/10)^6472416997", "x=1"),
    ("f = x*10^100000", "x=1"),
    ("f = exp(exp(exp(exp(x))))", "x=10"),
    ("f = x^(10^10)", "x=2"),
    ("f = " + "(" * 5000 + "x" + ")" * 5000, "x=1"),
    ("f = " + "-" * 100000 + "x", "x=1"),
    ("f = x" + "^x" * 5000, "x=1"),
    ("f = " + "sin(" * 300 + "x" + ")" * 300, "x=1"),
    ("f = " + "+" * 1000 + "x", "x=1"),
    ("f = x" + "**-x" * 500, "x=1"),
    ("f = 1e999999999*x", "x=1"),
    ("f = exp(x)", "x=1e999"),
    ("f = sinh(cosh(exp(x)))", "x=1000"),
]
DOMAIN = [
    ("f = log(x)", "x=-1"), ("f = log(x)", "x=0"), ("f = 1/x", "x=0"), ("f = sqrt(x)", "x=-4"),
    ("f = sqrt(x)", "x=0"), ("f = asin(x)", "x=2"), ("f = acos(x)", "x=5"), ("f = x^(1/3)", "x=-8"),
    ("f = x^y", "x=-2,y=1/2"), ("f = tan(x)", "x=pi/2"), ("f = ln(x - x)", "x=1"), ("f = x/(y - y)", "x=1,y=2"),
    ("f = log(x, 1)", "x=2"),
]
AT = [
    f"x=__import__('os').system('touch {M}')", "x=nan", "x=inf", "x=-inf", "x=1_000", "x=\u0663", "x=1e99999",
    "x=9^9^9", "x=y", "x=", "=1", "x", "x==1", "x=1,x=2", "q=1", "x=(", "x=sqrt(-1)", "x=log(0)", "x=1/0",
    "@/nonexistent/values.txt", "@/", "x=" + "1+" * 10000 + "1", "x=1;import os", "x=lambda:1", 'x="1"',
    "x=1 2", "1x=2", "x.y=1", "x=[1]", "x={}", "x=True", "x=None", "x=0x10", "x=1j", "x=ｘ",
]
EXPECT = [
    f"w=__import__('os').system('touch {M}')", "w=", "w", "q=1", "w=z", "w=(", "w=1/0", "w=9^9^9", "w=x.y",
    "w=lambda:1", "w='6'", "=6", "w=nan", "w=log(-1)", "L=1/(x-x)",
]
TOML_CASES = {
    "not_toml": "[[case]\nname=",
    "no_cases": "title = 'nothing'\n",
    "case_not_table": "case = [1, 2]\n",
    "program_not_string": "[[case]]\nname='a'\nprogram=1\nexpect={x=1}\n",
    "program_injection": f"[[case]]\nname='a'\nprogram=\"__import__('os').system('touch {M}')\"\nexpect={{x=1}}\n",
    "at_injection": f"[[case]]\nname='a'\nprogram='f = x'\nat={{x=\"__import__('os').system('touch {M}')\"}}\nexpect={{x=1}}\n",
    "expect_injection": f"[[case]]\nname='a'\nprogram='f = x'\nat={{x=1}}\nexpect={{x=\"__import__('os').system('touch {M}')\"}}\n",
    "tol_string": "[[case]]\nname='a'\nprogram='f = x'\nat={x=1}\nexpect={x=1}\ntol='big'\n",
    "tol_negative": "[[case]]\nname='a'\nprogram='f = x'\nat={x=1}\nexpect={x=1}\ntol=-1\n",
    "unknown_field": "[[case]]\nname='a'\nprogram='f = x'\nat={x=1}\nexpected={x=1}\n",
    "empty_expect": "[[case]]\nname='a'\nprogram='f = x'\nat={x=1}\nexpect={}\n",
    "expect_not_table": "[[case]]\nname='a'\nprogram='f = x'\nexpect=[1]\n",
    "at_not_table": "[[case]]\nname='a'\nprogram='f = x'\nat='x=1'\nexpect={x=1}\n",
    "value_is_table": "[[case]]\nname='a'\nprogram='f = x'\nat={x={y=1}}\nexpect={x=1}\n",
    "value_is_bool": "[[case]]\nname='a'\nprogram='f = x'\nat={x=true}\nexpect={x=1}\n",
    "dos_program": "[[case]]\nname='a'\nprogram='f = x*9^9^9'\nat={x=2}\nexpect={x=1}\n",
    "deep_program": "[[case]]\nname='a'\nprogram='f = " + "(" * 3000 + "x" + ")" * 3000 + "'\nexpect={x=1}\n",
    "unknown_name_in_claim": "[[case]]\nname='a'\nprogram='f = x*y'\nat={x=1,y=2}\nexpect={q=1}\n",
    "nan_float": "[[case]]\nname='a'\nprogram='f = x'\nat={x=nan}\nexpect={x=1}\n",
    "inf_float": "[[case]]\nname='a'\nprogram='f = x'\nat={x=inf}\nexpect={x=1}\n",
    "of_not_string": "[[case]]\nname='a'\nprogram='f = x'\nat={x=1}\nexpect={x=1}\nof=3\n",
    # found by the fuzzer: a bindings path with a NUL byte, from a `# at:` line inside a case
    "nul_in_bindings_path": '[[case]]\nname="a"\nprogram="# at: @a\\u0000b\\nf = x"\nexpect={x=1}\n',
    "binary": "\x00\x01\x02",
}
SAMPLES = ["../../etc/passwd", "linear; rm -rf /", "nonexistent", "", "x" * 5000, "linear\x01", "/etc/passwd",
           "samples/linear", "LINEAR", "linear.bp"]
FILES = {
    "empty.bp": "",
    "binary.bp": "\x00\x01\x02PNG",
    "comment_only.bp": "# nothing here\n",
    "nul.bp": "f = x\x00",
    "injection.bp": f"# at: x=__import__('os').system('touch {M}')\nf = x\n",
    "bad_at_line.bp": "# at: x=\nf = x\n",
    "dir_name/.keep": "",
}
OPTIONS = [
    ["grad", "--sample", "linear", "--of", "q"], ["grad", "--sample", "linear", "--of", "x"],
    ["grad", "--sample", "linear", "--wrt", "q"], ["grad", "--sample", "linear", "--wrt", "pi"],
    ["grad", "--sample", "linear", "--lang", "xx"], ["grad", "--sample", "linear", "--format", "xml"],
    ["explain", "--sample", "linear", "--lr", "abc"], ["explain", "--sample", "linear", "--lr", "9^9^9"],
    ["explain", "--sample", "linear", "--lr", f"__import__('os').system('touch {M}')"],
    ["check", "--sample", "linear", "--expect", "w=-6", "--tol", "-1"],
    ["grad", "--sample", "linear", "--timeout", "-1"], ["quiz", "--sample", "linear", "--level", "bad"],
    ["graph", "--sample", "linear", "--format", "gif"], ["nonsense-command"], ["grad", "--no-such-option"],
    ["grad", "x", "--sample", "linear"], ["grad"], ["check", "--sample", "linear"],
    ["check", "--cases", "{dir}/missing.toml"], ["check", "--sample", "linear", "--junit", "{dir}/j.xml", "--expect", "w=1"],
    ["graph", "--sample", "linear", "-o", "/nonexistent/dir/x.dot", "--format", "dot"],
    ["explain", "--sample", "linear", "--save-svg", "/nonexistent/dir/x.svg"],
]


def main() -> None:
    rows = []
    for i, text in enumerate(INJECTIONS):
        rows.append({"id": f"program-injection-{i}", "args": ["grad", text]})
        rows.append({"id": f"program-injection-explain-{i}", "args": ["explain", "f = x + " + text, "--at", "x=1"]})
    for i, text in enumerate(MALFORMED):
        rows.append({"id": f"malformed-{i}", "args": ["grad", text]})
    for i, text in enumerate(UNICODE):
        rows.append({"id": f"unicode-{i}", "args": ["grad", text]})
    for i, (text, at) in enumerate(DOS):
        rows.append({"id": f"dos-{i}", "args": ["grad", text] + (["--at", at] if at else [])})
    for i, (text, at) in enumerate(DOMAIN):
        rows.append({"id": f"domain-{i}", "args": ["explain", text, "--at", at]})
    for i, text in enumerate(AT):
        rows.append({"id": f"at-{i}", "args": ["grad", "f = x*w", "--at", text]})
    for i, text in enumerate(EXPECT):
        rows.append({"id": f"expect-{i}", "args": ["check", "--sample", "linear", "--expect", text]})
    for name, content in TOML_CASES.items():
        rows.append({"id": f"cases-{name}", "args": ["check", "--cases", "{dir}/cases.toml"],
                     "files": {"cases.toml": content}})
    for i, name in enumerate(SAMPLES):
        rows.append({"id": f"sample-{i}", "args": ["grad", "--sample", name]})
    for name, content in FILES.items():
        target = "{dir}/dir_name" if name == "dir_name/.keep" else "{dir}/" + name
        rows.append({"id": f"file-{name}", "args": ["grad", "--file", target], "files": {name: content}})
    rows.append({"id": "file-missing", "args": ["grad", "--file", "/nonexistent/program.bp"]})
    rows.append({"id": "stdin-empty", "args": ["grad", "--file", "-"], "stdin": ""})
    rows.append({"id": "stdin-injection", "args": ["grad", "--file", "-"], "stdin": f"open('{M}', 'w')"})
    rows.append({"id": "stdin-huge", "args": ["grad", "--file", "-"], "stdin_repeat": ["x + ", 4_100_000]})
    for i, args in enumerate(OPTIONS):
        rows.append({"id": f"option-{i}", "args": args})
    path = Path(__file__).with_name("hostile.jsonl")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} inputs written to {path}")


if __name__ == "__main__":
    main()
