"""Who may upload. Locally (no authentication configured) anyone; deployed with st.login
(an OIDC provider such as the city's Entra ID, in .streamlit/secrets.toml) only users on
the analysts list; in read-only mode (public screens) nobody, and the page is hidden."""

from __future__ import annotations

import getpass
import os

import streamlit as st


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # noqa: BLE001 - no secrets.toml is the normal local case
        return {}


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
        return True, ""
    if not getattr(st.user, "is_logged_in", False):
        return False, "Logga in för att ladda upp data."
    if str(st.user.get("email", "")).lower() not in analysts():
        return False, "Ditt konto finns inte på listan över analytiker som får ladda upp data."
    return True, ""
