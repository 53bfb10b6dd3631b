"""Fixtures of the HTML export tests."""
import pytest

from html_fixtures import make_small_project


@pytest.fixture
def small_project(tmp_path):
    return make_small_project(tmp_path)
