"""botocore model files parsed once and kept pickled (model_cache.py): the same models, a fresh copy for every
caller, a changed file parsed again."""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import botocore.session
import pytest
from botocore.loaders import JSONFileLoader
from sandbox_localstack import model_cache
from sandbox_localstack.model_cache import ModelFiles
from sandbox_localstack.patches import is_wrapped


@pytest.fixture
def patched(monkeypatch, tmp_path):
    monkeypatch.setattr(JSONFileLoader, "_load_file", JSONFileLoader._load_file)
    original = JSONFileLoader._load_file
    files = model_cache.parse_each_model_file_once(tmp_path / "models")
    return original, files


def counting_parses(monkeypatch) -> list[str]:
    parsed: list[str] = []
    real = json.loads
    monkeypatch.setattr("botocore.loaders.json.loads", lambda text, **kw: parsed.append(text[:20]) or real(text, **kw))
    return parsed


def test_unpatched_botocore_parses_a_model_again_for_every_session(monkeypatch):
    parsed = counting_parses(monkeypatch)
    for _ in range(3):
        botocore.session.get_session().get_service_data("sqs")
    assert len(parsed) >= 3


def test_same_models_each_a_fresh_copy_parsed_once(patched, monkeypatch):
    original, files = patched
    reference = botocore.session.get_session().get_service_data("sqs")  # parsed by the patched loader (first time)
    parsed = counting_parses(monkeypatch)
    first = botocore.session.get_session().get_service_data("sqs")
    second = botocore.session.get_session().get_service_data("sqs")
    assert parsed == []
    assert first == second == reference and first is not second
    assert isinstance(first, OrderedDict) and isinstance(first["operations"], OrderedDict)
    assert list(first["operations"]) == list(reference["operations"])  # same order
    first["operations"].clear()  # a caller changing its copy changes nobody else's
    assert botocore.session.get_session().get_service_data("sqs")["operations"]


def test_next_start_reads_the_pickle_and_a_changed_file_is_parsed_again(tmp_path, monkeypatch):
    path = tmp_path / "service-2.json"
    path.write_text(json.dumps({"metadata": {"endpointPrefix": "one"}}))
    loader = JSONFileLoader()
    ModelFiles(tmp_path / "cache").load(str(path), lambda: loader._load_file(str(path), open))  # an earlier start
    parsed = counting_parses(monkeypatch)
    later = ModelFiles(tmp_path / "cache")
    assert later.load(str(path), lambda: loader._load_file(str(path), open)) == {"metadata": {"endpointPrefix": "one"}}
    assert parsed == []
    path.write_text(json.dumps({"metadata": {"endpointPrefix": "two!"}}))
    os.utime(path, ns=(1, 1))
    assert later.load(str(path), lambda: loader._load_file(str(path), open))["metadata"]["endpointPrefix"] == "two!"
    assert len(parsed) == 1


def test_missing_files_and_an_unwritable_folder_answer_as_botocore_does(tmp_path):
    loader = JSONFileLoader()
    files = ModelFiles(tmp_path / "file-not-folder")
    (tmp_path / "file-not-folder").write_text("")
    missing = str(tmp_path / "nothing.json")
    assert files.load(missing, lambda: loader._load_file(missing, open)) is None
    path = tmp_path / "m.json"
    path.write_text('{"a": [1, 2]}')
    assert files.load(str(path), lambda: loader._load_file(str(path), open)) == {"a": [1, 2]}


def test_installing_twice_wraps_once(patched, tmp_path):
    wrapped = JSONFileLoader._load_file
    model_cache.parse_each_model_file_once(tmp_path / "again")
    assert JSONFileLoader._load_file is wrapped and is_wrapped(wrapped)
