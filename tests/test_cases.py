"""Case files, the JUnit report and `backprop check` on the command line."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

HOMEWORK = str(Path(__file__).parent.parent / "samples" / "homework.toml")


def test_homework_sample(cli, tmp_path):
    junit = tmp_path / "report.xml"
    code, out, err = cli("check", "--cases", HOMEWORK, "--junit", str(junit))
    assert code == 1, err
    lines = out.splitlines()
    assert lines[-1] == "4 passed, 3 failed"
    assert "✓ linear neuron, squared error" in lines
    assert "✗ branch: forgot one path" in lines
    assert ("        likely mistake: you used the path through c but not the one through d: b feeds several nodes, "
            "and the contributions of all its paths add up") in lines
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "3", "0")
    failed = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed == ["branch: forgot one path", "circuit: sign slip", "linear neuron: forgot the input factor"]
    assert "the sign is flipped" in suite.findall("testcase")[2].find("failure").text


def test_a_malformed_case_never_hides_the_others(cli, tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('''
[[case]]
name = "good"
program = "f = x*y"
at = { x = 2, y = 3 }
expect = { x = 3 }

[[case]]
name = "no program"
expect = { x = 3 }

[[case]]
name = "bad syntax"
program = "f = x*"
expect = { x = 3 }

[[case]]
name = "typo in a field"
program = "f = x*y"
expected = { x = 3 }

[[case]]
name = "wrong"
program = "f = x*y"
at = { x = 2, y = 3 }
expect = { x = 2 }
''')
    junit = tmp_path / "r.xml"
    code, out, err = cli("check", "--cases", str(path), "--junit", str(junit))
    assert code == 2, out + err
    lines = out.splitlines()
    assert "✓ good" in lines and "✗ wrong" in lines
    assert "! no program: malformed, field 'program': a program (a string) is required" in lines
    assert any(line.startswith("! bad syntax: malformed, field 'program': expected a value") for line in lines)
    assert any(line.startswith("! typo in a field: malformed, field 'expected': unknown field") for line in lines)
    assert lines[-2:] == ["3 malformed case(s) were not run", "1 passed, 4 failed"]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors")) == ("1", "3")


def test_cases_json(cli):
    code, out, _ = cli("check", "--cases", HOMEWORK, "--format", "json")
    data = json.loads(out)
    assert code == 1 and (data["passed"], data["failed"], data["malformed"]) == (4, 3, 0)
    branch = data["cases"][1]
    wrong = [c for c in branch["claims"] if not c["ok"]][0]
    assert wrong["correct"]["exact"] == "5" and wrong["diagnoses"][0]["kind"] == "missing_branch"


def test_check_single_claims(cli):
    code, out, _ = cli("check", "--sample", "branch", "--expect", "b=2", "--expect", "a=2")
    assert code == 1
    assert out.splitlines()[0] == "✗ ∂e/∂b: you said 2; the correct value is 5 (difference -3)"
    assert out.splitlines()[-1] == "1 passed, 1 failed"
    code, out, _ = cli("check", "--sample", "linear", "--expect", "w=-6, b=-3")
    assert code == 0 and out.splitlines()[-1] == "2 passed, 0 failed"


def test_check_json(cli):
    code, out, _ = cli("check", "--sample", "linear", "--expect", "w=-5", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["claims"][0]["correct"]["exact"] == "-6" and data["claims"][0]["difference"] == 1.0


def test_check_usage_errors(cli, tmp_path):
    assert cli("check", "--sample", "linear")[0] == 2
    assert cli("check", "--sample", "linear", "--expect", "w=-6", "--junit", "x.xml")[0] == 2
    assert cli("check", "--cases", str(tmp_path / "missing.toml"))[0] == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[[case]\nname=")
    code, _, err = cli("check", "--cases", str(bad))
    assert code == 2 and "is not valid TOML" in err


def test_cases_report_wraps_at_80_columns_keeping_its_indentation():
    from typer.testing import CliRunner

    from backprop_cli.cli import app

    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "BACKPROP_LANG": None}).invoke(
        app, ["check", "--cases", HOMEWORK])
    lines = result.stdout.splitlines()
    assert result.exit_code == 1, result.stdout
    at = lines.index("    ✗ ∂e/∂b: you said 2; the correct value is 5 (difference -3)")
    assert lines[at + 1:at + 3] == [
        "        likely mistake: you used the path through c but not the one through d: b",
        "        feeds several nodes, and the contributions of all its paths add up"]
    assert all(len(line) <= 80 for line in lines) and lines[-1] == "4 passed, 3 failed"


def test_a_shipped_cases_file_runs_by_name(cli):
    """`--cases seed-formulas` and `check --sample seed-formulas` run the shipped file wherever the
    tool is installed (a newcomer tried both; only the path inside the clone worked)."""
    for args in (["--cases", "seed-formulas"], ["--cases", "seed-formulas.toml"], ["--sample", "seed-formulas"]):
        code, out, _ = cli("check", *args)
        assert code == 1 and out.rstrip().endswith("2 passed, 4 failed"), args
    code, _, err = cli("explain", "--sample", "seed-formulas")
    assert code == 2 and "'seed-formulas' is a shipped cases file, not a program" in err
    assert "hint: run its cases: backprop check --cases seed-formulas" in err


def test_case_names_in_the_lang_language(cli, tmp_path):
    """A name may be a table of languages: the --lang one, else the English one, else the first;
    the report, the JUnit file and the JSON all call the case by it."""
    path = tmp_path / "cases.toml"
    path.write_text('''
[[case]]
name = { en = "branch: forgot one path", zh = "分支：漏了一条路径" }
program = "c = a + b; d = b + 1; e = c*d"
at = { a = 2, b = 1 }
expect = { b = 2 }

[[case]]
name.fr = "seulement en français"
program = "f = x*y"
at = { x = 2, y = 3 }
expect = { x = 3 }

[[case]]
name = { zh = 5 }
program = "f = x*y"
at = { x = 2, y = 3 }
expect = { y = 2 }
''', encoding="utf-8")
    junit = tmp_path / "report.xml"
    code, out, _ = cli("check", "--cases", str(path), "--lang", "zh", "--junit", str(junit))
    assert code == 1
    assert "✗ 分支：漏了一条路径" in out and "✓ seulement en français" in out and "✓ case 3" in out
    names = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert names == ["分支：漏了一条路径", "seulement en français", "case 3"]
    code, out, _ = cli("check", "--cases", str(path), "--format", "json")
    assert code == 1
    assert [case["name"] for case in json.loads(out)["cases"]] == ["branch: forgot one path", "seulement en français",
                                                                    "case 3"]


def test_the_seed_formulas_are_named_in_chinese_under_zh(cli):
    code, out, _ = cli("check", "--cases", "seed-formulas", "--lang", "zh")
    assert code == 1
    assert "✓ ∂J/∂y = -(t - y)：输出的梯度" in out and "✗ ∂J/∂W2 = ∂J/∂h · ∂h/∂x：用输入 x 代替了 h" in out
    assert "the output's gradient" not in out
    code, out, _ = cli("check", "--cases", "seed-formulas")
    assert "✓ ∂J/∂y = -(t - y): the output's gradient" in out
