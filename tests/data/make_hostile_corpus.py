"""Writes hostile.jsonl: hostile or malformed input through every channel, and hostile
environments (closed, full or broken streams, non-UTF-8 encodings, a file-size limit, outputs
over inputs), each of which must end in its exit code (2 unless the row says), a message and
no traceback, with no raw control character on stdout or stderr. Run it to regenerate the corpus.

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
    ("f = " + "sin(" * 600 + "x" + ")" * 600, "x=1"),
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

# ---------------------------------------------------------------- the environment (issue 16)
# Rows below use the runner's other fields: "exit" (default 2), "env", "close" (a list of
# "stdin", "stdout", "stderr", closed as `<&-`, `>&-`, `2>&-`), "stdout_to" ("/dev/full"),
# "broken_pipe" (stdout is a pipe nobody reads), "prlimit_fsize", "symlinks" ({link: target}),
# "intact" (files that must be unchanged), "creates" (files the run may add; anything else new
# is a partial file), "xml" (files that must parse), "json" (stdout must parse),
# "stdout_encoding", "stderr_has", "stdout_has", "stderr_empty", "needs" (a program on PATH).

PROG = "f = x*y\n# at: x=2, y=3\n"
HW = "[[case]]\nname = 'a'\nprogram = 'f = x*y'\nat = { x = 2, y = 3 }\nexpect = { x = 3 }\n"
HW_WRONG = "[[case]]\nname = 'a'\nprogram = 'f = x*y'\nat = { x = 2, y = 3 }\nexpect = { x = 4 }\n"
# A comment inside brackets carries an OSC 8 hyperlink, a clear-screen, BEL, backspace and U+202E
# into the node's label.
HOSTILE_LABEL = ("f = (x  # \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x1b[2J \x07\x08 \u202e gnp.exe\n"
                 "     * y) + 1\n# at: x=2, y=3\n")  # the product is unnamed: its label is the text, comment and all
MARKDOWN_LABEL = "f = (x  # `` <img src=x onerror=alert(1)> ``\n * y)\n# at: x=2, y=3\n"
OVERWRITE = [
    ("graph-o", ["graph", "--file", "{dir}/prog.bp", "--format", "dot", "-o", "{dir}/prog.bp"], {"prog.bp": PROG}),
    ("graph-o-text", ["graph", "--file", "{dir}/prog.bp", "-o", "{dir}/prog.bp"], {"prog.bp": PROG}),
    ("junit", ["check", "--cases", "{dir}/hw.toml", "--junit", "{dir}/hw.toml"], {"hw.toml": HW}),
    ("save-html", ["explain", "--file", "{dir}/in.bp", "--save-html", "{dir}/in.bp"], {"in.bp": PROG}),
    ("save-svg", ["explain", "--file", "{dir}/in.bp", "--save-svg", "{dir}/in.bp"], {"in.bp": PROG}),
    ("at-file", ["graph", "f = x*y", "--at", "@{dir}/at.txt", "--format", "dot", "-o", "{dir}/at.txt"],
     {"at.txt": "x=2\ny=3\n"}),
    ("relative-path", ["graph", "--file", "{dir}/prog.bp", "--format", "dot", "-o", "{dir}/sub/../prog.bp"],
     {"prog.bp": PROG, "sub/.keep": ""}),
]
PARTIAL = [  # a write that fails midway (a file-size limit of 100 bytes) over an existing file
    ("save-svg", ["explain", "--sample", "linear", "--save-svg", "{dir}/part.svg"], "part.svg"),
    ("save-html", ["explain", "--sample", "linear", "--save-html", "{dir}/part.html"], "part.html"),
    ("junit", ["check", "--cases", "{dir}/hw.toml", "--junit", "{dir}/part.xml"], "part.xml"),
    ("graph-dot", ["graph", "--sample", "two-layer", "--format", "dot", "-o", "{dir}/part.dot"], "part.dot"),
    ("graph-text", ["graph", "--sample", "two-layer", "-o", "{dir}/part.txt"], "part.txt"),
]
CLOSED_STDOUT = [
    ["grad", "--sample", "linear"], ["grad", "--sample", "linear", "--format", "csv"],
    ["grad", "--sample", "linear", "--format", "json"], ["explain", "--sample", "linear"],
    ["explain", "--sample", "linear", "--format", "markdown"], ["graph", "--sample", "linear", "--format", "dot"],
    ["graph", "--sample", "linear"], ["check", "--sample", "branch", "--expect", "b=5"], ["samples"], ["--version"],
]
ENCODINGS = ["ascii", "latin-1"]
ENCODED = [  # (args, exit code, stdout is JSON)
    (["grad", "--sample", "linear"], 0, False), (["grad", "--sample", "linear", "--format", "json"], 0, True),
    (["grad", "--sample", "linear", "--format", "csv"], 0, False), (["explain", "--sample", "branch"], 0, False),
    (["explain", "--sample", "branch", "--format", "markdown"], 0, False),
    (["explain", "--sample", "branch", "--format", "json"], 0, True),
    (["explain", "--sample", "branch", "--format", "json", "--lang", "zh"], 0, True),
    (["grad", "--sample", "linear", "--format", "json", "--lang", "zh"], 0, True),
    (["check", "--sample", "branch", "--expect", "b=2"], 1, False),
    (["check", "--sample", "branch", "--expect", "b=2", "--format", "json", "--lang", "zh"], 1, True),
    (["graph", "--sample", "branch"], 0, False),
    (["samples"], 0, False), (["--help"], 0, False), (["grad", "-h"], 0, False),
    (["quiz", "--sample", "branch"], 0, False), (["quiz", "--sample", "branch", "--format", "json"], 0, True),
    (["quiz", "--sample", "branch", "--format", "json", "--lang", "zh"], 2, False),
]
LANGUAGES = [("zh_CN", 0, "前向传播"), ("zh-CN", 0, "前向传播"), ("zh_TW.UTF-8", 0, "前向传播"), ("zh", 0, "前向传播"),
             ("en_US.UTF-8", 0, "Forward pass"), ("C.UTF-8", 0, "Forward pass"), ("fr", 2, None),
             ("fr_FR.UTF-8", 2, None), ("\x1b[2J", 2, None), ("../../etc/passwd", 2, None)]
ECHOES = [  # user text with control characters, echoed in an error message
    ["grad", "f = x\x1b[2J + 1"], ["grad", "f = x # \x1b]8;;http://e/\x1b\\\nf = 1 +"],
    ["grad", "f = x*y", "--at", "x=\x1b[2J"], ["grad", "f = x*y", "--at", "q\x07=1"],
    ["check", "--sample", "linear", "--expect", "w=\x1b[31m-6"], ["check", "--sample", "linear", "--expect", "\u202ew=1"],
    ["grad", "--sample", "\x1b]8;;http://e/\x1b\\x"], ["grad", "--file", "{dir}/\x1b[2Jmissing.bp"],
    ["grad", "--sample", "linear", "--wrt", "\x1b[2J"], ["grad", "--sample", "linear", "--of", "\u202eL"],
    ["grad", "--sample", "linear", "--wrt", "w\x08\x08x"], ["grad", "--sample", "linear", "--lang", "\x1b[2J"],
    ["grad", "--sample", "linear", "--format", "\x1b[2J"], ["\x1b]8;;http://e/\x1b\\"],
    ["grad", "--sample", "linear", "--\x1b[2J"],
]
CASE_NAMES = {  # case names and fields with characters XML cannot hold or a terminal obeys
    "esc_name": "[[case]]\nname = 'x'\nprogram = 'f = x*y'\nat = { x = 2, y = 3 }\nexpect = { x = 4 }\n"
                .replace("'x'", '"esc \\u001b[31m soh \\u0001 nonchar \\uFFFE rlo \\u202e"'),
    "esc_in_at": '[[case]]\nname = "n\\u001b]8;;x"\nprogram = "f = x*y"\nat = { x = 2, y = "\\u001b[31m" }\n'
                 'expect = { x = 3 }\n',
    "esc_in_expect": '[[case]]\nname = "\\uFFFF"\nprogram = "f = x*y"\nat = { x = 2, y = 3 }\n'
                     'expect = { x = "\\u0001" }\n',
    "esc_in_program": '[[case]]\nname = "\\u0007"\nprogram = "f = x\\u001b[2J"\nat = { x = 2 }\nexpect = { x = 1 }\n',
}


def environment_rows() -> list[dict]:
    rows = []
    for name, args, files in OVERWRITE:
        rows.append({"id": f"io-overwrite-{name}", "args": args, "files": files, "intact": list(files),
                     "stderr_has": "an input of this run"})
    rows.append({"id": "io-overwrite-through-symlink", "files": {"prog.bp": PROG}, "symlinks": {"link.bp": "prog.bp"},
                 "args": ["graph", "--file", "{dir}/link.bp", "--format", "dot", "-o", "{dir}/prog.bp"],
                 "intact": ["prog.bp"], "stderr_has": "would write over '{dir}/link.bp', an input of this run"})
    rows.append({"id": "io-overwrite-symlink-target", "files": {"prog.bp": PROG}, "symlinks": {"out.dot": "prog.bp"},
                 "args": ["graph", "--file", "{dir}/prog.bp", "--format", "dot", "-o", "{dir}/out.dot"],
                 "intact": ["prog.bp"], "stderr_has": "an input of this run"})
    rows.append({"id": "io-two-outputs-one-file", "args": ["explain", "--sample", "linear", "--save-svg", "{dir}/a",
                                                          "--save-html", "{dir}/a"], "creates": ["a"],
                 "stderr_has": "another output of this run", "xml": ["a"]})
    for name, args, target in PARTIAL:
        files = {target: "the old file\n"}
        if "junit" in name:
            files["hw.toml"] = HW
        rows.append({"id": f"io-partial-{name}", "args": args, "files": files, "prlimit_fsize": 100,
                     "intact": list(files), "stderr_has": "File too large; the old file is unchanged"})
        rows.append({"id": f"io-partial-new-{name}", "args": args, "files": {k: v for k, v in files.items() if k != target},
                     "prlimit_fsize": 100, "stderr_has": "File too large"})
    for i, args in enumerate(CLOSED_STDOUT):
        rows.append({"id": f"io-closed-stdout-{i}", "args": args, "close": ["stdout"],
                     "stderr_has": "error: cannot write the output: standard output is closed"})
        rows.append({"id": f"io-dev-full-{i}", "args": args, "stdout_to": "/dev/full",
                     "stderr_has": "error: cannot write the output to standard output: No space left on device"})
        rows.append({"id": f"io-broken-pipe-{i}", "args": args, "broken_pipe": True, "exit": 141, "stderr_empty": True})
    for i, args in enumerate(CLOSED_STDOUT[:4] + [["graph", "--sample", "two-layer", "--format", "dot"]]):
        rows.append({"id": f"io-fsize-stdout-{i}", "args": args, "prlimit_fsize": 100, "stdout_to": "{dir}/out.txt",
                     "creates": ["out.txt"],  # Python's buffered writer would drop the rest of the short write
                     "stderr_has": "error: cannot write the output to standard output: File too large"})
    rows.append({"id": "io-broken-pipe-help", "args": ["--help"], "broken_pipe": True, "exit": 141, "stderr_empty": True})
    rows.append({"id": "io-closed-stdin-quiz", "args": ["quiz", "--sample", "linear"], "close": ["stdin"],
                 "stderr_has": "error: the quiz reads the answers from standard input, which is closed"})
    rows.append({"id": "io-closed-stdin-file", "args": ["grad", "--file", "-"], "close": ["stdin"],
                 "stderr_has": "error: cannot read the program file from standard input ('-'): it is closed"})
    rows.append({"id": "io-closed-stdin-quiz-json", "args": ["quiz", "--sample", "linear", "--format", "json"],
                 "close": ["stdin"], "stderr_has": "standard input, which is closed"})
    rows.append({"id": "io-closed-stderr", "args": ["grad", "f = sigmod(x)"], "close": ["stderr"]})
    rows.append({"id": "io-closed-stderr-and-stdout", "args": ["grad", "--sample", "linear"],
                 "close": ["stdout", "stderr"]})
    rows.append({"id": "io-closed-all", "args": ["grad", "--file", "-"], "close": ["stdin", "stdout", "stderr"]})
    rows.append({"id": "io-closed-stdout-output-file", "args": ["graph", "--sample", "linear", "--format", "dot", "-o",
                                                                "{dir}/g.dot"], "close": ["stdout"], "exit": 0,
                 "creates": ["g.dot"]})
    rows.append({"id": "io-closed-stdout-closed-stderr-file", "args": ["graph", "--file", "{dir}/prog.bp", "--format",
                                                                       "dot", "-o", "{dir}/g.dot"],
                 "files": {"prog.bp": PROG}, "close": ["stdout", "stderr"], "exit": 0, "creates": ["g.dot"],
                 "intact": ["prog.bp"]})
    for encoding in ENCODINGS:
        for i, (args, code, is_json) in enumerate(ENCODED):
            rows.append({"id": f"encoding-{encoding}-{i}", "args": args, "env": {"PYTHONIOENCODING": encoding},
                         "exit": code, "json": is_json, "stdout_encoding": encoding})
        rows.append({"id": f"encoding-{encoding}-dot", "args": ["graph", "--sample", "branch", "--format", "dot"],
                     "env": {"PYTHONIOENCODING": encoding}, "exit": 0})  # DOT is UTF-8 bytes, for Graphviz
        for args in (["grad", "--sample", "linear", "--lang", "zh"], ["explain", "--sample", "linear", "--lang", "zh"],
                     ["check", "--sample", "branch", "--expect", "b=2", "--lang", "zh"]):
            rows.append({"id": f"encoding-{encoding}-refused-{args[0]}", "args": args,
                         "env": {"PYTHONIOENCODING": encoding},
                         "stderr_has": "cannot show the language 'zh'\nhint: use a UTF-8 locale"})
    rows.append({"id": "encoding-ascii-label", "args": ["explain", "--file", "{dir}/café.bp"],
                 "files": {"café.bp": "f = (x # café ∂ 中文\n * y)\n# at: x=2, y=3\n"},
                 "env": {"PYTHONIOENCODING": "ascii"}, "exit": 0, "stdout_encoding": "ascii"})
    rows.append({"id": "encoding-ascii-error", "args": ["grad", "f = x − y"], "env": {"PYTHONIOENCODING": "ascii"}})
    for i, (value, code, heading) in enumerate(LANGUAGES):
        row = {"id": f"lang-env-{i}", "args": ["explain", "--sample", "linear"], "env": {"BACKPROP_LANG": value},
               "exit": code}
        if heading:
            row["stdout_has"] = heading
        else:
            row["stderr_has"] = "BACKPROP_LANG="
        rows.append(row)
        if code == 2:
            rows.append({"id": f"lang-option-{i}", "args": ["grad", "--sample", "linear", "--lang", value],
                         "stderr_has": "no such language; available: en, zh"})
    rows.append({"id": "lang-option-zh_CN", "args": ["grad", "--sample", "linear", "--lang", "zh_CN"], "exit": 0,
                 "stdout_has": "输入"})
    rows.append({"id": "lang-env-fr-every-command", "args": ["check", "--sample", "linear", "--expect", "w=-6"],
                 "env": {"BACKPROP_LANG": "fr"}, "stderr_has": "BACKPROP_LANG=fr: no such language; available: en, zh"})
    for command in (["graph", "--sample", "linear"], ["samples"], ["quiz", "--sample", "linear"]):
        rows.append({"id": f"lang-env-fr-{command[0]}", "args": command, "env": {"BACKPROP_LANG": "fr"},
                     "stderr_has": "error: BACKPROP_LANG=fr: no such language; available: en, zh"})
    views = [(["explain"], 0), (["explain", "--format", "markdown"], 0), (["graph"], 0), (["graph", "--format", "dot"], 0),
             (["grad"], 0), (["check", "--expect", "x=1"], 1), (["check", "--expect", "x=1", "--format", "json"], 1),
             (["explain", "--format", "json"], 0), (["explain", "--lang", "zh"], 0)]
    for i, (args, code) in enumerate(views):
        rows.append({"id": f"control-label-{i}", "args": [*args, "--file", "{dir}/esc.bp"],
                     "files": {"esc.bp": HOSTILE_LABEL}, "exit": code, "json": "json" in args})
    rows.append({"id": "control-label-quiz", "args": ["quiz", "--file", "{dir}/esc.bp"], "stdin": "6\nq\n",
                 "files": {"esc.bp": HOSTILE_LABEL}, "exit": 0})
    rows.append({"id": "control-label-save", "args": ["explain", "--file", "{dir}/esc.bp", "--save-svg", "{dir}/e.svg",
                                                      "--save-html", "{dir}/e.html"],
                 "files": {"esc.bp": HOSTILE_LABEL}, "exit": 0, "creates": ["e.svg", "e.html"], "xml": ["e.svg"]})
    rows.append({"id": "control-label-svg", "args": ["graph", "--file", "{dir}/esc.bp", "--format", "svg", "-o",
                                                     "{dir}/g.svg"], "files": {"esc.bp": HOSTILE_LABEL}, "exit": 0,
                 "creates": ["g.svg"], "xml": ["g.svg"], "needs": "dot"})
    rows.append({"id": "control-label-markdown-fence", "args": ["explain", "--file", "{dir}/md.bp", "--format", "markdown"],
                 "files": {"md.bp": MARKDOWN_LABEL}, "exit": 0, "stdout_has": "- ``` f = (x # `` <img src=x onerror=alert(1)> `` * y) ``` = `6`"})
    for i, args in enumerate(ECHOES):
        rows.append({"id": f"control-echo-{i}", "args": args})
    for name, content in CASE_NAMES.items():
        rows.append({"id": f"control-case-{name}", "args": ["check", "--cases", "{dir}/c.toml", "--junit", "{dir}/j.xml"],
                     "files": {"c.toml": content}, "exit": 1 if name == "esc_name" else 2, "creates": ["j.xml"],
                     "xml": ["j.xml"], "intact": ["c.toml"]})
    rows.append({"id": "control-case-field-at", "args": ["check", "--cases", "{dir}/c.toml"],
                 "files": {"c.toml": CASE_NAMES["esc_in_at"]}, "stderr_has": "field 'at'"})
    rows.append({"id": "control-case-field-expect", "args": ["check", "--cases", "{dir}/c.toml"],
                 "files": {"c.toml": HW.replace("x = 3 }", 'x = "sqrt(" }')}, "stderr_has": "field 'expect'"})
    return rows


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
    rows.extend(environment_rows())
    path = Path(__file__).with_name("hostile.jsonl")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} inputs written to {path}")


if __name__ == "__main__":
    main()
