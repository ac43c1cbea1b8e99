"""Prompt parameters: what the prompt box and `imagine` accept, flag, complete and fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import params
from app.jobs.manager import PromptError, check_prompt
from app.params import check, completions, first_problem, normalize, parse, prepare
from app.simulator import Simulator, SimulatorConfig

FULL = (
    "a lighthouse at dusk --ar 16:9 --v 6.1 --stylize 250 --chaos 30 --no trees --seed 42 "
    "--tile --weird 200 --q 2 --niji 6 --sref https://example.org/a.png 1234 "
    "--cref https://example.org/b.png --style raw --iw 1.5 --stop 80 --repeat 4 --sw 300 "
    "--cw 50 --p --video"
)


def problems(prompt: str) -> list[str]:
    return [p.message for p in check(prompt)]


def test_every_documented_parameter_in_one_prompt_is_accepted() -> None:
    parsed = parse(FULL)
    assert parsed.problems == ()
    assert parsed.body == "a lighthouse at dusk"
    names = [f.param.name for f in parsed.found if f.param]
    assert names[:4] == ["ar", "v", "stylize", "chaos"]
    assert len(names) == len(parsed.found) == 20
    no = parsed.get("no")
    assert no is not None and no.value == "trees"
    sref = parsed.get("sref")
    assert sref is not None and sref.value == "https://example.org/a.png 1234"


@pytest.mark.parametrize(
    "prompt",
    [
        "fox --s 0",
        "fox --s 1000",
        "fox --c 100",
        "fox --w 3000",
        "fox --r 40",
        "fox --stop 10",
        "fox --iw 0",
        "fox --iw .5",
        "fox --iw 3",
        "fox --q .25",
        "fox --q 0.5",
        "fox --q 4",
        "fox --v 5.0",
        "fox --version 7",
        "fox --niji",
        "fox --niji 7",
        "fox --seed 4294967295",
        "fox --ar 1:1",
        "fox --aspect 21:9",
        "fox --AR 16:9",
        "fox --personalize abc123",
        "fox --ow 1",
        "fox --exp 100",
        "fox --sv 6",
        "fox --motion high --loop --bs 4",
        "fox --raw --draft",
        "fox --no red, green --no blue",
        "fox --ar {16:9, 1:1}",
        "fox",
        "",
        "a fox — in snow, well-known -x --",
    ],
)
def test_valid_prompts_have_no_problems(prompt: str) -> None:
    assert problems(prompt) == []


@pytest.mark.parametrize(
    ("prompt", "sentence"),
    [
        ("fox --ar 16:", "--ar 16: is not a ratio: it takes two whole numbers above 0 like 16:9"),
        ("fox --ar 16x9", "--ar 16x9 is not a ratio"),
        ("fox --ar 0:1", "--ar 0:1 is not a ratio"),
        ("fox --ar 1.5:1", "--ar 1.5:1 is not a ratio"),
        ("fox --chaos 150", "--chaos 150 is out of range: it takes a whole number from 0 to 100."),
        ("fox --c -5", "--c -5 is not a whole number: it takes a whole number from 0 to 100."),
        (
            "fox --stylize 1001",
            "--stylize 1001 is out of range: it takes a whole number from 0 to 1000.",
        ),
        (
            "fox --weird 3001",
            "--weird 3001 is out of range: it takes a whole number from 0 to 3000.",
        ),
        ("fox --stop 5", "--stop 5 is out of range: it takes a whole number from 10 to 100."),
        ("fox --repeat 41", "--repeat 41 is out of range: it takes a whole number from 1 to 40."),
        ("fox --seed 4294967296", "--seed 4294967296 is out of range"),
        ("fox --iw 3.5", "--iw 3.5 is out of range: it takes a number from 0 to 3."),
        ("fox --s 2.5", "--s 2.5 is not a whole number"),
        ("fox --s ٣", "--s ٣ is not a whole number"),
        ("fox --q 3", "--q 3 is not allowed: it takes one of .25, .5, 1, 2, 4."),
        ("fox --v 9", "--v 9 is not allowed: it takes one of 1, 2, 3, 4, 5, 5.1, 5.2, 6, 6.1, 7"),
        ("fox --style fancy", "--style fancy is not allowed: it takes one of raw,"),
        ("fox --chaos", "--chaos needs a value: a whole number from 0 to 100."),
        ("fox --no", "--no needs a value"),
        ("fox --foo 3", "--foo is not a parameter."),
        ("fox --stylze 100", "--stylze is not a parameter. Did you mean --stylize?"),
        ("fox --ar16:9", "--ar16:9 needs a space: --ar 16:9."),
        ("fox --tile dog", "“dog” after --tile is not part of it: words go before the parameters."),
        ("fox --ar 16:9 big dog", "“big dog” after --ar 16:9 is not part of it"),
        ("fox --ar 16:9 --ar 1:1", "--ar is given twice: keep one."),
        ("fox --c 5 --chaos 6", "--chaos is given twice: keep one."),
    ],
)
def test_bad_parameters_are_one_sentence_with_the_allowed_values(
    prompt: str, sentence: str
) -> None:
    found = problems(prompt)
    assert len(found) == 1, found
    assert found[0].startswith(sentence), found[0]
    assert found[0].endswith((".", "?")), found[0]


def test_problem_spans_cover_the_offending_words() -> None:
    prompt = "fox --chaos 150 --ar 16:9"
    (problem,) = check(prompt)
    assert prompt[problem.start : problem.end] == "150"
    (problem,) = check("fox --blah --ar 1:1")
    assert "fox --blah --ar 1:1"[problem.start : problem.end] == "--blah"


def test_spans_mark_names_values_and_the_bad_part() -> None:
    prompt = "fox --ar 16:9 --chaos 999 --tile"
    roles = [(prompt[s.start : s.end], s.role) for s in parse(prompt).spans]
    assert roles == [
        ("--ar", "name"),
        ("16:9", "value"),
        ("--chaos", "name"),
        ("999", "bad"),
        ("--tile", "name"),
    ]


def test_several_problems_are_all_found_in_order() -> None:
    found = problems("fox --chaos 999 --zz --ar 3:")
    assert [m.split()[0] for m in found] == ["--chaos", "--zz", "--ar"]


def test_dash_lookalikes_are_parameters_and_normalise_to_double_hyphen() -> None:
    typed = "fox —ar 16:9 –v 6.1 —-stylize 250 ‒c 5 −−tile"
    assert normalize(typed) == "fox --ar 16:9 --v 6.1 --stylize 250 --c 5 --tile"
    assert problems(typed) == []  # checked as what it will become
    assert [f.param.name for f in parse(typed).found if f.param] == [
        "ar",
        "v",
        "stylize",
        "chaos",
        "tile",
    ]


@pytest.mark.parametrize(
    "prose",
    ["a cat — a dog", "well—known fox", "fox – sunset", "a -x flag", "pre--post", "fox ---ar"],
)
def test_dashes_in_prose_are_left_alone(prose: str) -> None:
    assert normalize(prose) == prose
    assert parse(prose).found == ()


def test_prepare_fixes_dashes_and_reports_the_first_problem() -> None:
    assert prepare("fox —ar 16:9") == ("fox --ar 16:9", None)
    sent, problem = prepare("fox —ar 16:")
    assert sent == "fox --ar 16:"
    assert problem is not None and problem.startswith("--ar 16: is not a ratio")


def test_checking_off_keeps_the_prompt_exactly_as_typed() -> None:
    typed = "fox —ar 16: --chaos 900"
    assert prepare(typed, enabled=False) == (typed, None)
    assert check(typed, enabled=False) == []
    assert first_problem(typed, enabled=False) is None


def test_messages_never_carry_control_characters() -> None:
    (message,) = problems("fox --chaos \x1b[31m9\x07")
    assert "\x1b" not in message and "\x07" not in message


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("fox --sty", "fox --stylize"),
        ("fox --ar ", "fox --ar 16:9"),
        ("fox --ar 3", "fox --ar 3:2"),
        ("fox --ar", "fox --ar 16:9"),
        ("fox --v ", "fox --v 7"),
        ("fox --style r", "fox --style raw"),
        ("fox --q ", "fox --q 1"),
        ("fox --niji ", "fox --niji 6"),
        ("fox --motion h", "fox --motion high"),
        ("fox --", "fox --ar"),
        ("fox —ti", "fox —tile"),
        ("fox --CH", "fox --CHaos"),
    ],
)
def test_completion_offers_names_then_common_values(text: str, first: str) -> None:
    assert completions(text)[0] == first


def test_completion_lists_every_name_with_the_prefix() -> None:
    assert completions("fox --st") == [
        "fox --stylize",
        "fox --style",
        "fox --stop",
        "fox --stealth",
    ]


@pytest.mark.parametrize(
    "text", ["", "fox", "fox ", "fox --ar 16:9", "fox --ar 16:9 ", "fox --seed ", "fox --zz "]
)
def test_no_completion_where_nothing_is_being_typed(text: str) -> None:
    assert completions(text) == []


def test_every_offered_value_is_valid() -> None:
    for param in params.PARAMS:
        for value in param.common:
            prompt = f"fox --{param.name} {value}"
            assert problems(prompt) == [], prompt
        for choice in param.choices:
            assert problems(f"fox --{param.name} {choice}") == []


def test_every_name_is_unique() -> None:
    names = [n for p in params.PARAMS for n in p.names]
    assert len(names) == len(set(names))


def test_the_module_works_without_textual() -> None:
    code = "import sys, app.params; print(any(m.startswith('textual') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_job_path_refuses_a_bad_parameter_and_fixes_dashes() -> None:
    with pytest.raises(PromptError, match=r"^--chaos 101 is out of range"):
        check_prompt("fox —chaos 101")
    assert check_prompt("fox —ar 16:9 –v 7") == "fox --ar 16:9 --v 7"
    assert check_prompt("fox —ar 16:", parameters=False) == "fox —ar 16:"


def imagine(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "imagine", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_cli_imagine_exits_2_with_the_sentence_and_sends_nothing(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=100, token="tok-1")) as sim:
        env = {
            "IMAGINE_BASE_URL": sim.base_url,
            "IMAGINE_API_TOKEN": "tok-1",
            "IMAGINE_RATE_INTERVAL": "0",
            "IMAGINE_DATA_DIR": str(tmp_path),
        }
        bad = imagine("a fox --ar 16: --chaos 30", env=env)
        assert bad.returncode == 2
        assert bad.stdout == ""
        assert bad.stderr.strip() == (
            "imagine-tui: --ar 16: is not a ratio: "
            "it takes two whole numbers above 0 like 16:9 (width:height)."
        )
        assert sim.jobs == {}  # nothing reached the service
        good = imagine("a fox —ar 16:9", "--json", env=env)
        assert good.returncode == 0, good.stderr
        sent = sim.jobs[json.loads(good.stdout)["messageId"]]
        assert sent.prompt == "a fox --ar 16:9"


# -- properties ------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "--",
        "—",
        "–",
        "-",
        "‐",
        "−",
        " ",
        "  ",
        "\t",
        ":",
        ".",
        "{",
        "}",
        "16:9",
        "ar",
        "v",
        "chaos",
        "s",
        "no",
        "tile",
        "zz",
        "150",
        "6.1",
        "x",
        "\x1b",
        "é",
        "٣",
    ]
)
_PROMPTS = st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=24).map("".join))


@settings(max_examples=400, deadline=None)
@given(_PROMPTS)
def test_parse_never_raises_and_spans_stay_inside_in_order(prompt: str) -> None:
    parsed = parse(prompt)
    end = 0
    for span in parsed.spans:
        assert end <= span.start < span.end <= len(prompt)
        end = span.end
    for problem in parsed.problems:
        assert 0 <= problem.start < problem.end <= len(prompt)
        assert problem.message
    assert parsed.body_end <= len(prompt)


@settings(max_examples=400, deadline=None)
@given(_PROMPTS)
def test_normalisation_is_idempotent_and_keeps_the_words(prompt: str) -> None:
    once = normalize(prompt)
    assert normalize(once) == once
    assert len(once.split()) == len(prompt.split())
    # The same parameters are found before and after: the fix changes only the dashes.
    assert [f.typed for f in parse(once).found] == [f.typed for f in parse(prompt).found]
    assert len(parse(once).problems) == len(parse(prompt).problems)


@settings(max_examples=300, deadline=None)
@given(_PROMPTS)
def test_completions_extend_the_text(prompt: str) -> None:
    for option in completions(prompt):
        assert option.startswith(prompt) and len(option) > len(prompt)
