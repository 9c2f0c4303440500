"""The SIMULATED sanctions and PEP screening: the watch list normalised once, plain names
processed by rapidfuzz alone, every score as the definition gives it."""

from __future__ import annotations

import unicodedata

import pytest
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from rules_engine.services.simulated import SimulatedPEPService, SimulatedSanctionsService, load_watchlist


def reference_normalise(name: str) -> str:
    """The definition: accents removed (NFKD), ø as o, then rapidfuzz's default processing."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return default_process(stripped.replace("ø", "o").replace("Ø", "O"))


def reference_best(name: str, candidates: list[str]) -> tuple[float, str]:
    """The best (first of equals) candidate for ``name`` and its score, 0..1."""
    scored = [
        (fuzz.token_sort_ratio(reference_normalise(name), reference_normalise(c)) / 100, c)
        for c in candidates
    ]
    return max(scored, key=lambda item: item[0])


def _variants(name: str) -> list[str]:
    words = name.split()
    return [
        name,
        name.upper(),
        " ".join(reversed(words)),
        name.replace("o", "ö").replace("a", "á"),
        name.replace("e", "é", 1) + ".",
        name[:-1],
        name[1:],
        f"Dr. {name}, Jr.",
        name.replace(" ", "-"),
    ]


def _watchlist_names() -> list[str]:
    watchlist = load_watchlist()
    names: list[str] = []
    for entry in watchlist["sanctions"] + watchlist["peps"]:
        names += [entry["name"], *(entry.get("aliases") or [])]
        names += [a["name"] for a in entry.get("associates") or []]
    return names


QUERIES = sorted({v for name in _watchlist_names() for v in _variants(name)}) + [
    "Ann Marie Smith",
    "Bob Jones",
    "---",
    "Ørjan Østerlund",
    "Zoë Ostrova",
]


def test_screening__ascii_applicant__no_character_by_character_work(monkeypatch):
    # Given the services, warmed once, and unicodedata's per-character call observed
    sanctions, peps = SimulatedSanctionsService(), SimulatedPEPService()
    payload = {"name": "Viktor Kestrell", "include_historical": True, "min_score": 0.5}
    sanctions.screen(payload)
    peps.screen({**payload, "include_associates": True})
    calls = []
    real = unicodedata.combining

    def combining(ch):
        calls.append(ch)
        return real(ch)

    monkeypatch.setattr(unicodedata, "combining", combining)
    # When a plain ASCII name is screened against both lists
    hits = sanctions.screen(payload)["matches"]
    peps.screen({**payload, "include_associates": True})
    # Then it matched, with no character looked at one by one in Python
    assert hits and hits[0]["name"] == "Viktor Kestrel"
    assert calls == []


@pytest.mark.parametrize("include_aliases", [True, False])
def test_sanctions_screen__watch_list_names_and_variants__scores_as_defined(include_aliases):
    # Given every watch-list name and alias with spelling, order, accent and case variants
    service = SimulatedSanctionsService()
    entries = load_watchlist()["sanctions"]
    differences = []
    for query in QUERIES:
        # When screened at a low threshold, so that near-hits are returned too
        answer = service.screen(
            {"name": query, "include_aliases": include_aliases, "include_historical": True, "min_score": 0.5}
        )
        got = {m["entry_id"]: (m["score"], m["matched_name"]) for m in answer["matches"]}
        # Then each entry's best score and matched name are the definition's
        expected = {}
        for entry in entries:
            names = [entry["name"], *(entry.get("aliases") or [])] if include_aliases else [entry["name"]]
            score, matched = reference_best(query, names)
            if score >= 0.5:
                expected[entry["id"]] = (round(score, 3), matched)
        if got != expected:
            differences.append((query, got, expected))
    assert differences == []


def test_pep_screen__watch_list_names_and_variants__scores_as_defined():
    # Given every PEP name, alias and associate with variants
    service = SimulatedPEPService()
    entries = load_watchlist()["peps"]
    differences = []
    for query in QUERIES:
        # When screened with associates at a low threshold
        answer = service.screen({"name": query, "include_associates": True, "min_score": 0.5})
        got = {m["entry_id"]: (m["score"], m["matched_name"], m["relationship"]) for m in answer["matches"]}
        # Then each entry's best score, matched name and relationship are the definition's
        expected = {}
        for entry in entries:
            names = [entry["name"], *(entry.get("aliases") or [])]
            relation = {n: "self" for n in names}
            for associate in entry.get("associates") or []:
                names.append(associate["name"])
                relation[associate["name"]] = f"{associate['relationship']} of {entry['name']}"
            score, matched = reference_best(query, names)
            if score >= 0.5:
                expected[entry["id"]] = (round(score, 3), matched, relation[matched])
        if got != expected:
            differences.append((query, got, expected))
    assert differences == []
