"""The machine-readable and compact report formats: concise, SARIF, GitHub, GitLab, JUnit,
statistics. Built from real lint runs over the shipped samples plus an unreadable file."""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import jsonschema
import pytest

from cnnlstm_lint.docs import render_rule
from cnnlstm_lint.engine import FileResult, Settings, lint_file
from cnnlstm_lint.files import Target
from cnnlstm_lint.findings import Finding, Severity
from cnnlstm_lint.graph import Location
from cnnlstm_lint.report import RENDERERS
from cnnlstm_lint.report.formats.github import escape_data, escape_property
from cnnlstm_lint.report.paths import artifact_location
from cnnlstm_lint.rules import REGISTRY

from conftest import ROOT

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "data", "sarif-schema-2.1.0.json")

CL001 = "sample_models/cl001_spatial_reshape.keras"
ONNX = "sample_models/torch/spatial_reshape.ts.onnx"
CL002 = "sample_models/cl002_channels_as_time.keras"
CL003 = "sample_models/cl003_flatten_clip.keras"
CL008 = "sample_models/cl008_concat_imbalance.keras"
GOOD = "sample_models/good_lrcn.keras"
SAMPLES = [CL001, ONNX, CL002, CL003, CL008, GOOD]
BAD_REASON = ("unrecognised file format (.keras; expected a torch.export archive, .keras zip, "
              "HDF5, Keras JSON or ONNX model)")


def lint(*paths: str) -> list[FileResult]:
    return [lint_file(Target(p, True), Settings()) for p in paths]


@pytest.fixture
def in_root(monkeypatch):
    """Sample paths relative to the repository, as a user in the checkout types them."""
    monkeypatch.chdir(ROOT)


@pytest.fixture
def bad(tmp_path) -> str:
    path = tmp_path / "bad.keras"
    path.write_bytes(b"this is not a model\x00\xff")
    return str(path)


@pytest.fixture
def results(in_root, bad) -> list[FileResult]:
    out = lint(*SAMPLES, bad)
    assert [r.status for r in out] == ["ok"] * len(SAMPLES) + ["error"]
    return out


@pytest.fixture
def clean_results(in_root) -> list[FileResult]:
    return lint(*SAMPLES)


@pytest.fixture(scope="module")
def schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def findings_of(results: list[FileResult]) -> list[Finding]:
    return [f for r in results for f in r.findings]


# -- registry ---------------------------------------------------------------------------


def test_all_formats_are_registered():
    assert set(RENDERERS) >= {"text", "json", "concise", "sarif", "github", "gitlab", "junit",
                              "statistics"}


# -- concise ----------------------------------------------------------------------------


def test_concise_lines(results, bad):
    out = RENDERERS["concise"](results).splitlines()
    cl002 = results[2].findings[0]
    cl003 = {f.code: f for f in results[3].findings}
    cl008 = results[4].findings[0]
    assert out == [
        f"{CL001}:lstm: CL001 [warning] LSTM `lstm` runs over 225 steps made of the 15×15 pixels "
        "(H×W) of `max_pooling2d`'s feature map, so its time axis is a scan over image positions.",
        f"{ONNX}:/lstm/LSTM (layer lstm): CL001 [warning] LSTM `lstm` runs over 225 steps "
        "made of the 15×15 pixels (H×W) of `pool`'s feature map, so its time axis is a "
        "scan over image positions.",
        f"{ONNX}: CL006 (no-dropout) not judged: an inference-only export, where dropout is "
        "stripped",
        f"{CL002}:lstm: CL002 [warning] {cl002.message}",
        f"{CL003}:flatten: CL003 [error] {cl003['CL003'].message}",
        f"{CL008}:concat: CL008 [info] {cl008.message}",
        "Found 5 findings (1 error, 3 warnings, 1 info) in 7 files; 1 file could not be read.",
    ]


def test_concise_without_findings(in_root):
    assert RENDERERS["concise"](lint(GOOD)) == "No findings in 1 model file.\n"


def test_concise_color_only_when_asked(results):
    assert "\x1b[" not in RENDERERS["concise"](results)
    colored = RENDERERS["concise"](results, color=True)
    assert "\x1b[31m" in colored and "\x1b[33m" in colored


# -- statistics -------------------------------------------------------------------------


def test_statistics(results):
    assert RENDERERS["statistics"](results).splitlines() == [
        "   2  CL001  spatial-sequence",
        "   1  CL002  channels-as-time",
        "   1  CL003  missing-timedistributed",
        "   1  CL008  concat-imbalance",
        "Found 5 findings (1 error, 3 warnings, 1 info) in 7 files; 1 file could not be read.",
    ]


def test_statistics_sorted_by_count_then_code(in_root):
    many = lint(CL008, CL008, CL008, CL001)
    assert RENDERERS["statistics"](many).splitlines()[:2] == [
        "   3  CL008  concat-imbalance",
        "   1  CL001  spatial-sequence",
    ]


def test_statistics_without_findings(in_root):
    assert RENDERERS["statistics"](lint(GOOD)) == "No findings in 1 model file.\n"


# -- SARIF ------------------------------------------------------------------------------


def test_stored_schema_is_the_oasis_sarif_2_1_0_schema(schema):
    # The OASIS Standard's schema (SARIF v2.1.0 plus Errata 01), byte for byte.
    assert schema["$id" if "$id" in schema else "id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
        "sarif-schema-2.1.0.json")
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft7Validator.check_schema(schema)


def validate(doc: dict, schema: dict) -> None:
    # The draft the schema declares, and Draft 7 (what most SARIF consumers use).
    for validator in (jsonschema.Draft4Validator, jsonschema.Draft7Validator):
        errors = sorted(validator(schema).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_validates(results, clean_results, schema):
    for run in (results, clean_results, []):
        validate(json.loads(RENDERERS["sarif"](run)), schema)
    validate(json.loads(RENDERERS["sarif"](results, verbose=True)), schema)


def test_the_validation_has_teeth(results, schema):
    doc = json.loads(RENDERERS["sarif"](results))
    doc["runs"][0]["results"][0]["level"] = "warn"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)


def test_sarif_tool_and_rules(results):
    import cnnlstm_lint

    doc = json.loads(RENDERERS["sarif"](results))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cnnlstm-lint"
    assert driver["version"] == cnnlstm_lint.__version__
    assert driver["informationUri"] == "https://pypi.org/project/cnnlstm-lint/"
    assert [r["id"] for r in driver["rules"]] == sorted(REGISTRY)
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for rule in driver["rules"]:
        cls = REGISTRY[rule["id"]]
        assert rule["name"] == cls.name
        assert rule["help"] == {"text": render_rule(cls), "markdown": render_rule(cls)}
        assert rule["defaultConfiguration"]["level"] == levels[cls.severity.value]
        short = rule["shortDescription"]["text"]
        assert short and "\n" not in short
        assert rule["fullDescription"]["text"].startswith(short)
    assert driver["rules"][0]["shortDescription"]["text"] == (
        "Flags a recurrent layer whose time steps are the pixels of a feature map: its time axis "
        "was built from two or more spatial axes (height × width) of a conv or pooling output, "
        "typically by `Reshape((H * W, C))`.")


def test_sarif_results(results):
    doc = json.loads(RENDERERS["sarif"](results))
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    by_fp = {f.fingerprint: f for f in findings_of(results)}
    assert len(run["results"]) == len(by_fp) == 5
    for res in run["results"]:
        f = by_fp[res["partialFingerprints"]["cnnlstmLint/v1"]]
        assert res["ruleId"] == f.code and rules[res["ruleIndex"]]["id"] == f.code
        assert res["level"] == {"error": "error", "warning": "warning", "info": "note"}[
            f.severity.value]
        layer = f.evidence.get("layer") or f.node
        assert res["message"]["text"] == f"`{layer}`: {f.message} Remedy: {f.remedy}"
        (loc,) = res["locations"]
        artifact = loc["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": f.location.file, "uriBaseId": "%SRCROOT%"}  # relative
        assert loc["physicalLocation"]["region"] == {"startLine": 1}
        assert loc["logicalLocations"] == [{"name": f.node, "fullyQualifiedName": layer,
                                            "kind": "module"}]
    onnx = [r for r in run["results"]
            if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ONNX]
    assert onnx[0]["locations"][0]["logicalLocations"] == [
        {"name": "/lstm/LSTM", "fullyQualifiedName": "lstm", "kind": "module"}]
    assert onnx[0]["message"]["text"].startswith("`lstm`: LSTM `lstm` runs over 225 steps")
    note = [r for r in run["results"] if r["ruleId"] == "CL008"]
    assert note[0]["level"] == "note"
    # the source root the relative URIs hang from: this checkout (or the cwd without .git)
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == pathlib.Path(ROOT).as_uri() + "/"


# sha256(code + "\0" + path relative to the repository root + "\0" + node)[:16]
FINGERPRINTS = {
    ("CL001", CL001, "lstm"): "57a8ba9d144c93b3",
    ("CL001", ONNX, "/lstm/LSTM"): "79dd39cab77248fb",
    ("CL002", CL002, "lstm"): "ad6fc870e1732eaa",
    ("CL003", CL003, "flatten"): "472284709c035b4e",
    ("CL008", CL008, "concat"): "a11d76acdd8824b7",
}


def test_fingerprints_are_fixed_values(results):
    """What SARIF and GitLab carry (and baselines store) is pinned, so that a change to
    what the fingerprint hashes shows here instead of re-keying every user's baseline."""
    found = {(f.code, f.file_key, f.node): f.fingerprint for f in findings_of(results)}
    assert found == FINGERPRINTS
    (run,) = json.loads(RENDERERS["sarif"](results))["runs"]
    assert sorted(r["partialFingerprints"]["cnnlstmLint/v1"] for r in run["results"]) == \
        sorted(FINGERPRINTS.values())
    issues = json.loads(RENDERERS["gitlab"](results))
    assert {i["fingerprint"] for i in issues if i["check_name"] != "unreadable-model"} == \
        set(FINGERPRINTS.values())


def test_sarif_invocation_with_unreadable_file(results, bad):
    (run,) = json.loads(RENDERERS["sarif"](results))["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert bad in note["message"]["text"] and BAD_REASON in note["message"]["text"]
    artifact = note["locations"][0]["physicalLocation"]["artifactLocation"]
    # outside the repository: an absolute file URI, no base id
    assert artifact == {"uri": pathlib.Path(bad).as_uri()}


def test_sarif_invocation_clean(clean_results):
    (run,) = json.loads(RENDERERS["sarif"](clean_results))["runs"]
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_verbose_adds_not_judged_notes(results):
    (run,) = json.loads(RENDERERS["sarif"](results, verbose=True))["runs"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error", "note"]
    assert "CL006 (no-dropout) not judged" in notes[1]["message"]["text"]


def test_sarif_is_deterministic(results):
    once = RENDERERS["sarif"](results)
    shuffled = list(results)
    random.Random(7).shuffle(shuffled)
    assert RENDERERS["sarif"](shuffled) == once
    assert once.startswith('{\n  "$schema": ') and once.endswith("}\n")


def test_sarif_uri_is_relative_to_the_repository_root(tmp_path, monkeypatch, schema):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "my models").mkdir()
    shutil.copy(os.path.join(ROOT, CL001), repo / "my models" / "m 1.keras")
    monkeypatch.chdir(repo / "my models")  # not the root: the URI still starts at the root
    doc = json.loads(RENDERERS["sarif"](lint("m 1.keras")))
    validate(doc, schema)
    (run,) = doc["runs"]
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "my%20models/m%201.keras", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"


def test_artifact_location_encoding(tmp_path):
    loc = artifact_location(str(tmp_path / "a:b" / "é #1.keras"), str(tmp_path))
    assert loc == {"uri": "a%3Ab/%C3%A9%20%231.keras", "uriBaseId": "%SRCROOT%"}
    assert urlsplit(loc["uri"]).scheme == ""  # not mistaken for a URI scheme


# -- GitHub -----------------------------------------------------------------------------


def test_github_commands(results, bad):
    out = RENDERERS["github"](results).splitlines()
    assert len(out) == 6
    assert out[0].startswith(f"::warning file={CL001},line=1,title=CL001 spatial-sequence::"
                             "`lstm`: LSTM `lstm` runs over 225 steps")
    kinds = [line.split(" ", 1)[0] for line in out]
    assert kinds == ["::warning", "::warning", "::warning", "::error", "::notice", "::error"]
    assert out[-1] == (f"::error file={escape_property(bad)},line=1,title=unreadable model::"
                       f"{escape_data(BAD_REASON)}")
    assert escape_property(bad) == bad  # a tmp path has no character to escape


def make_result(path: str, message: str, remedy: str) -> FileResult:
    finding = Finding("CL001", "spatial-sequence", Severity.WARNING, message, "lstm",
                      remedy=remedy, location=Location(path, "lstm"))
    return FileResult(path, "ok", findings=[finding])


def test_github_escaping(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    path = os.path.join("dir:x", "a,b%.keras")
    result = make_result(path, "100% sure\nsecond line\r", "use a:b, c")
    broken = FileResult(os.path.join("dir:x", "c.keras"), "error", "bad,\nzip: 50%")
    out = RENDERERS["github"]([result, broken])
    assert out == (
        "::warning file=dir%3Ax/a%2Cb%25.keras,line=1,title=CL001 spatial-sequence::"
        "`lstm`: 100%25 sure%0Asecond line%0D Remedy: use a:b, c\n"
        "::error file=dir%3Ax/c.keras,line=1,title=unreadable model::bad,%0Azip: 50%25\n")


def test_github_escape_functions():
    assert escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"
    assert escape_property("%3A") == "%253A"  # % first, so escapes are not double-read


def test_github_nothing_to_say(in_root):
    assert RENDERERS["github"](lint(GOOD)) == ""


# -- GitLab -----------------------------------------------------------------------------


def test_gitlab_code_quality(results, bad):
    issues = json.loads(RENDERERS["gitlab"](results))
    assert isinstance(issues, list) and len(issues) == 6
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert all(isinstance(issue[k], str) and issue[k]
                   for k in ("description", "check_name", "fingerprint", "severity"))
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert set(issue["location"]) == {"path", "lines"}
        assert issue["location"]["lines"] == {"begin": 1}
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    by_fp = {f.fingerprint: f for f in findings_of(results)}
    sev = {"info": "info", "warning": "minor", "error": "major"}
    found = [i for i in issues if i["fingerprint"] in by_fp]
    assert len(found) == 5
    for issue in found:
        f = by_fp[issue["fingerprint"]]
        assert issue["check_name"] == f.code
        assert issue["severity"] == sev[f.severity.value]
        assert issue["location"]["path"] == f.location.file  # relative to the repository
        assert f.message in issue["description"]
    (unreadable,) = [i for i in issues if i["check_name"] == "unreadable-model"]
    assert unreadable["severity"] == "critical"
    assert unreadable["location"]["path"] == bad
    assert BAD_REASON in unreadable["description"]
    assert RENDERERS["gitlab"](list(reversed(results))) == RENDERERS["gitlab"](results)


def test_gitlab_empty(in_root):
    assert json.loads(RENDERERS["gitlab"](lint(GOOD))) == []


# -- JUnit ------------------------------------------------------------------------------


def test_junit(results, bad):
    root = ET.fromstring(RENDERERS["junit"](results).encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "cnnlstm-lint"
    cases = suite.findall("testcase")
    # 5 findings, 1 clean file, 1 unreadable file
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "5", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "5", "1")
    assert len(cases) == 7
    failures = [c for c in cases if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failures] == [
        (CL001, "CL001:lstm"), (ONNX, "CL001:/lstm/LSTM"), (CL002, "CL002:lstm"),
        (CL003, "CL003:flatten"), (CL008, "CL008:concat")]
    first = failures[0].find("failure")
    assert first.get("type") == "CL001"
    assert "runs over 225 steps" in first.get("message")
    assert "provenance: time axis of 225 steps" in first.text
    assert "remedy:" in first.text
    passing = [c for c in cases if len(c) == 0]
    assert [(c.get("classname"), c.get("name")) for c in passing] == [(GOOD, "lint")]
    (errored,) = [c for c in cases if c.find("error") is not None]
    assert errored.get("classname") == bad
    assert errored.find("error").get("message") == BAD_REASON


def test_junit_escapes_everything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = 'a <b> & "c" \x01 \'d\' ]]> end'
    result = make_result("x<&>.keras", message, "fix & <go>")
    root = ET.fromstring(RENDERERS["junit"]([result]))
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message").endswith('a <b> & "c" \\x01 \'d\' ]]> end')
    assert "remedy:     fix & <go>" in failure.text
    assert root.find("testsuite/testcase").get("classname") == "x<&>.keras"


def test_junit_all_clean(in_root):
    root = ET.fromstring(RENDERERS["junit"](lint(GOOD, GOOD)))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "0")
