"""Who may upload. Locally (no authentication configured) anyone; deployed with st.login
(an OIDC provider such as the city's Entra ID, in .streamlit/secrets.toml) only users on
the analysts list (a list without st.login lets nobody in); in read-only mode (public
screens) nobody, and the page is hidden."""

from __future__ import annotations

import getpass
import os
import time

import streamlit as st


SECRETS_RECHECK_SECONDS = 5.0
_secrets_seen: list = [-1e9, {}]  # (when, what): without a secrets.toml, Streamlit looks for one on every access


def _secrets() -> dict:
    """st.secrets as a dict, looked up at most every few seconds: every page run asks, and
    without a secrets.toml each lookup searched the disk again (a cost under load)."""
    now = time.monotonic()
    if now - _secrets_seen[0] < SECRETS_RECHECK_SECONDS:
        return _secrets_seen[1]
    try:
        found = dict(st.secrets)
    except Exception:  # noqa: BLE001 - no secrets.toml is the normal local case
        found = {}
    _secrets_seen[:] = [now, found]
    return found


def read_only() -> bool:
    env = os.environ.get("AMNSTATS_READ_ONLY", "").lower() in ("1", "true", "ja", "yes")
    return env or bool(_secrets().get("amnstats", {}).get("read_only", False))


def auth_configured() -> bool:
    return "auth" in _secrets()


def analysts() -> set[str]:
    return {a.lower() for a in _secrets().get("amnstats", {}).get("analysts", [])}


def current_user() -> str:
    """The uploader's name for the import history."""
    if auth_configured() and getattr(st.user, "is_logged_in", False):
        return str(st.user.get("email") or st.user.get("name") or "inloggad användare")
    try:
        return f"{getpass.getuser()} (lokalt)"
    except Exception:  # noqa: BLE001
        return "lokal användare"


def may_upload() -> tuple[bool, str]:
    """(allowed, Swedish reason when not)."""
    if read_only():
        return False, "amnstats körs i läsläge: uppladdning är avstängd."
    if not auth_configured():
        if analysts():  # a list nobody can be checked against: refuse rather than let everyone in
            return False, ("Uppladdning är avstängd: listan över analytiker kräver inloggning, men inloggning "
                           "([auth] i secrets.toml) är inte inställd. Kontakta den som driftar amnstats.")
        return True, ""
    if not getattr(st.user, "is_logged_in", False):
        return False, "Logga in för att ladda upp data."
    if str(st.user.get("email", "")).lower() not in analysts():
        return False, "Ditt konto finns inte på listan över analytiker som får ladda upp data."
    return True, ""
