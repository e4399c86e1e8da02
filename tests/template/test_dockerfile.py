"""The rendered Dockerfile: hadolint-clean, multi-stage, non-root, port agreed."""

from pathlib import Path

from dockerfile_parse import DockerfileParser

from hooks.core.answers import read_answers
from tests.support.helpers import hadolint


def stages(service: Path) -> dict[str, list[tuple[str, str]]]:
    """Instructions per named stage, in order."""
    parser = DockerfileParser(path=str(service / "Dockerfile"))
    result: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for item in parser.structure:
        if item["instruction"] == "FROM":
            current = item["value"].split()[-1]
            result[current] = []
        if current:  # comments before the first FROM belong to no stage
            result[current].append((item["instruction"], item["value"]))
    return result


def answers(service: Path) -> dict:
    return read_answers(service)


def test_hadolint_passes_at_warning_threshold(service: Path) -> None:
    result = hadolint(service / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_is_no_syntax_line(service: Path) -> None:
    assert "# syntax=" not in (service / "Dockerfile").read_text()


def test_dev_and_runtime_targets_run_as_numeric_non_root_user(service: Path) -> None:
    found = stages(service)
    assert {"dev", "runtime"} <= set(found)
    for target in ("dev", "runtime"):
        users = [value for instruction, value in found[target] if instruction == "USER"]
        uid, _, gid = users[-1].partition(":")
        assert int(uid) >= 10000 and int(gid) >= 10000


def test_runtime_is_the_final_stage_and_has_no_compilers_or_dev_tools(service: Path) -> None:
    found = stages(service)
    assert list(found)[-1] == "runtime"
    runtime = " ".join(value for _, value in found["runtime"])
    assert "requirements-dev" not in runtime
    assert "apt-get" not in runtime and "gcc" not in runtime
    assert found["runtime"][0][1].startswith("base ")  # not built on the dev stages


def test_cmd_is_exec_form_and_port_is_exposed(service: Path) -> None:
    found = stages(service)
    port = str(answers(service)["service_port"])
    assert f"PORT={port}" in dict(found["base"])["ENV"].split()  # the image's one home for it
    for target in ("dev", "runtime"):
        values = dict(found[target])
        assert values["CMD"].startswith("["), f"{target} CMD must be exec form"
        assert values["EXPOSE"] == "${PORT}"


def test_base_image_is_the_chosen_python(service: Path) -> None:
    version = answers(service)["python_version"]
    parser = DockerfileParser(path=str(service / "Dockerfile"))
    assert parser.parent_images[0].startswith(f"python:{version}-slim-")


def test_dependencies_install_before_code_is_copied(service: Path) -> None:
    text = (service / "Dockerfile").read_text()
    assert text.index("requirements.lock") < text.index("COPY --chown=10001:10001 src/")
    assert "--require-hashes" in text
