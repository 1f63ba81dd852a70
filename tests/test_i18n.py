"""Every sentence exists in every language, with the same placeholders."""

import json
import re
import string
from pathlib import Path

from backprop_cli.i18n import Messages, available_languages, catalogue

SOURCE = "\n".join(p.read_text() for p in (Path(__file__).parent.parent / "backprop_cli").rglob("*.py"))


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_at_least_english_and_chinese():
    assert {"en", "zh"} <= set(available_languages())


def test_catalogues_are_complete_and_consistent():
    english = catalogue("en")
    for language in available_languages():
        entries = catalogue(language)
        assert set(entries) == set(english), (language, set(english) ^ set(entries))
        for key, text in entries.items():
            assert placeholders(text) == placeholders(english[key]), (language, key)


def test_every_key_is_used_by_the_code():
    for key in catalogue("en"):
        section, name = key.split(".", 1)
        used = (f'"{key}"' in SOURCE or f"{section}.{{" in SOURCE or f'f"{section}.' in SOURCE
                or section == "rule" or section.startswith("error"))  # error*: matched as templates
        assert used, key


def test_the_ci_summary_line_is_the_same_in_every_language():
    for language in available_languages():
        assert catalogue(language)["claim.summary"] == "{passed} passed, {failed} failed"


def test_explain_in_chinese(cli):
    code, out, _ = cli("explain", "--sample", "linear", "--lang", "zh")
    assert code == 0
    for phrase in ("前向传播", "反向传播", "上游梯度 × 局部梯度", "局部梯度 ∂(w*x)/∂w = x = 2", "（乘法：局部梯度就是另一个因子）",
                   "L 的梯度", "∂L/∂w = -6"):
        assert phrase in out, phrase


def test_branch_in_chinese_says_multi_path_sum(cli):
    code, out, _ = cli("explain", "--sample", "branch", "--lang", "zh")
    assert "多路相加：∂e/∂b = 2 + 3 = 5" in out


def test_check_in_chinese(cli):
    code, out, _ = cli("check", "--sample", "branch", "--expect", "b=2", "--lang", "zh")
    assert code == 1
    assert "可能的错误：你只算了经过 c 的路径，漏掉了经过 d 的路径" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_language_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("BACKPROP_LANG", "zh")
    assert Messages().language == "zh"


def test_numbers_and_json_do_not_change_with_the_language(cli):
    code, en, _ = cli("grad", "--sample", "linear", "--format", "json")
    code, zh, _ = cli("grad", "--sample", "linear", "--format", "json", "--lang", "zh")
    import json
    a, b = json.loads(en), json.loads(zh)
    a.pop("notes"), b.pop("notes")
    assert a == b
    assert re.search(r"-6", zh)


def test_piecewise_local_derivatives_are_worded_in_the_language(cli):
    # backprop explain "y = relu(w*x); L = y*y" --at w=1,x=2 --lang zh (also --format markdown, --forward)
    program, at = "y = relu(w*x); L = y*y", "w=1,x=2"
    code, out, _ = cli("explain", program, "--at", at, "--lang", "zh")
    assert code == 0 and "局部梯度 ∂y/∂(w*x) = (1 当 (w*x) > 0，否则 0) = 1" in out and " if " not in out
    code, out, _ = cli("explain", program, "--at", at, "--lang", "zh", "--format", "markdown")
    assert "`∂y/∂(w*x) = (1 当 (w*x) > 0，否则 0)`" in out
    code, out, _ = cli("explain", program, "--at", at, "--lang", "zh", "--forward", "--wrt", "x")
    assert "(1 当 (w*x) > 0，否则 0)·" in out
    code, out, _ = cli("explain", program, "--at", at)
    assert "local ∂y/∂(w*x) = (1 if (w*x) > 0, else 0) = 1" in out
    # JSON is data: the textbook formula as SPEC §4 has it, whatever the language
    code, out, _ = cli("explain", program, "--at", at, "--lang", "zh", "--format", "json")
    assert "(1 if (w*x) > 0, else 0)" in {edge["local_formula"] for edge in json.loads(out)["edges"]}
    # only the printer's words change: a user's name is an operand, never translated
    code, out, _ = cli("explain", "y = relu(iff); L = y", "--at", "iff=1", "--lang", "zh")
    assert "(1 当 iff > 0，否则 0)" in out


def test_numeric_mode_names_its_unbound_inputs_in_chinese(cli):
    # backprop grad "y = w*x + b" --at x=1 --numeric --lang zh
    code, _, err = cli("grad", "y = w*x + b", "--at", "x=1", "--numeric", "--lang", "zh")
    assert code == 2 and err == "error: --numeric 需要每个输入都有值；没有值的输入：w, b\n"
