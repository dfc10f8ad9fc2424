"""Who may upload: anyone locally, listed analysts when deployed with st.login, nobody in read-only mode."""

from __future__ import annotations

import pytest

from amnstats.ui import access
from apptest_helpers import run_page


class FakeUser(dict):
    def __init__(self, logged_in: bool, email: str = ""):
        super().__init__(email=email)
        self.is_logged_in = logged_in


@pytest.fixture
def deployed(monkeypatch):
    secrets = {"auth": {"client_id": "x"}, "amnstats": {"analysts": ["Anna.Analytiker@stockholm.se"]}}
    monkeypatch.setattr(access, "_secrets", lambda: secrets)
    return monkeypatch


def test_local_use_allows_upload(monkeypatch):
    monkeypatch.setattr(access, "_secrets", lambda: {})
    monkeypatch.delenv("AMNSTATS_READ_ONLY", raising=False)
    assert access.may_upload() == (True, "")


def test_deployed_requires_login(deployed):
    deployed.setattr(access.st, "user", FakeUser(False))
    allowed, reason = access.may_upload()
    assert not allowed and reason == "Logga in för att ladda upp data."


def test_deployed_allows_only_listed_analysts(deployed):
    deployed.setattr(access.st, "user", FakeUser(True, "anna.analytiker@stockholm.se"))
    assert access.may_upload() == (True, "")
    assert access.current_user() == "anna.analytiker@stockholm.se"
    deployed.setattr(access.st, "user", FakeUser(True, "bertil@stockholm.se"))
    allowed, reason = access.may_upload()
    assert not allowed and "listan över analytiker" in reason


def test_read_only_mode_hides_the_upload_page(monkeypatch):
    monkeypatch.setenv("AMNSTATS_READ_ONLY", "1")
    assert access.may_upload()[0] is False
    at = run_page()
    assert not at.exception
    # the page is not in the navigation at all
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/ladda-upp.py")


def test_read_only_mode_refuses_uploads_even_if_the_page_is_reached(monkeypatch):
    monkeypatch.setenv("AMNSTATS_READ_ONLY", "true")
    monkeypatch.setattr(access, "_secrets", lambda: {})
    assert access.may_upload() == (False, "amnstats körs i läsläge: uppladdning är avstängd.")


def test_an_analysts_list_without_login_lets_nobody_upload(monkeypatch):
    # e.g. sign-in moved to a proxy and [auth] removed: the list must not silently stop applying
    monkeypatch.setattr(access, "_secrets", lambda: {"amnstats": {"analysts": ["anna.analytiker@stockholm.se"]}})
    monkeypatch.delenv("AMNSTATS_READ_ONLY", raising=False)
    allowed, reason = access.may_upload()
    assert not allowed and "kräver inloggning" in reason and "[auth]" in reason
