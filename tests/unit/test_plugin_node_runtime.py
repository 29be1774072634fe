"""Node.js runtimes of the local executor: the SDK per declared runtime, NODE_PATH, finding `node`, and the
messages when it is missing or too old."""

import os
from pathlib import Path

import pytest
from sandbox_localstack import node_runtime
from sandbox_localstack.launch import node_launch


@pytest.mark.parametrize(
    ("runtime", "generation"),
    [("nodejs12.x", "sdk-v2"), ("nodejs14.x", "sdk-v2"), ("nodejs16.x", "sdk-v2"), ("nodejs18.x", "sdk-v3"),
     ("nodejs20.x", "sdk-v3"), ("nodejs22.x", "sdk-v3")],
)
def test_each_runtime_gets_the_sdk_aws_bundles_in_it(runtime, generation):
    assert node_runtime.sdk_modules(runtime, Path("/sdk")) == Path(f"/sdk/{generation}/node_modules")


def test_node_path_is_the_sdk_then_the_task_root():
    assert node_runtime.node_path("nodejs20.x", "/code", Path("/sdk")) == "/sdk/sdk-v3/node_modules:/code"


def test_sdk_home_can_be_moved_for_images():
    assert node_runtime.sdk_home({node_runtime.SDK_HOME_VARIABLE: "/opt/node"}) == Path("/opt/node")
    assert node_runtime.sdk_home({}) == node_runtime.NODE_DIR


def test_launch_runs_the_sandbox_runtime_on_the_found_node():
    launch = node_launch("src/app.handler", "nodejs14.x", "/code", "/usr/bin/node", Path("/sdk"))

    assert launch.argv == ("/usr/bin/node", str(node_runtime.RUNTIME_SCRIPT), "src/app.handler")
    assert launch.bin_dir == "/usr/bin"
    assert launch.variables["NODE_PATH"] == "/sdk/sdk-v2/node_modules:/code"
    assert node_runtime.RUNTIME_SCRIPT.is_file()


def test_node_is_found_on_the_path_it_is_given(tmp_path):
    assert node_runtime.find_node({"PATH": str(tmp_path)}) is None
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho v20.11.1\n")
    fake.chmod(0o755)
    assert node_runtime.find_node({"PATH": str(tmp_path)}) == str(fake)
    assert node_runtime.node_version(str(fake)) == (20, 11, 1)


def test_configured_node_wins_and_must_be_executable(tmp_path):
    assert node_runtime.find_node({node_runtime.NODE_VARIABLE: str(tmp_path / "absent"), "PATH": os.defpath}) is None


def test_missing_node_names_what_to_install():
    message = node_runtime.problem("nodejs20.x", None, None)
    assert "nodejs20.x" in message and "none was found" in message
    assert "Node.js 18.19 or newer" in message and "apt-get install nodejs" in message
    assert node_runtime.NODE_VARIABLE in message


def test_old_or_silent_node_is_a_problem_too():
    assert "v16.20.2, too old" in node_runtime.problem("nodejs16.x", "/usr/bin/node", (16, 20, 2))
    assert "did not answer" in node_runtime.problem("nodejs16.x", "/usr/bin/node", None)
    assert node_runtime.problem("nodejs16.x", "/usr/bin/node", (18, 19, 0)) is None


def test_version_note_says_what_runs_a_declared_runtime(tmp_path):
    (tmp_path / "sdk-v2" / "node_modules").mkdir(parents=True)

    note = node_runtime.version_note("nodejs14.x", (20, 19, 2), tmp_path)
    assert note == ("nodejs14.x runs on Node.js v20.19.2 with aws-sdk v2 on NODE_PATH "
                    "(declared Node.js 14; the installed one runs it)")
    assert "run `make install`" in node_runtime.version_note("nodejs20.x", (20, 19, 2), tmp_path)


def test_a_configured_node_reaches_localstack_started_by_make_up(monkeypatch, tmp_path):
    from sandbox.config import Settings
    from sandbox.services import localstack_env

    monkeypatch.setenv(node_runtime.NODE_VARIABLE, "/opt/node22/bin/node")
    assert localstack_env(Settings(home=tmp_path))[node_runtime.NODE_VARIABLE] == "/opt/node22/bin/node"
