"""Geographic reference data shared by rules and simulated services.

- US states, DC and territories: USPS two-letter codes and their names.
- Named country lists usable in rule params (``restricted_countries``):
  ``sanctioned_countries`` is a small illustrative list of jurisdictions under
  comprehensive US sanctions programmes. It is NOT authoritative: a bank maintains
  this list from its compliance team's source and replaces it here.
"""

from __future__ import annotations

from typing import Any

US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "DC": "District of Columbia",
    "PR": "Puerto Rico",
    "GU": "Guam",
    "VI": "U.S. Virgin Islands",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}
US_STATE_CODES: list[str] = sorted(US_STATES)
_STATE_BY_NAME = {name.upper(): code for code, name in US_STATES.items()}
_STATE_BY_NAME.update({"WASHINGTON DC": "DC", "WASHINGTON D.C.": "DC", "D.C.": "DC", "VIRGIN ISLANDS": "VI"})

#: Named country lists, ISO 3166-1 alpha-2 codes (illustrative; see the module docstring).
COUNTRY_LISTS: dict[str, frozenset[str]] = {
    "sanctioned_countries": frozenset({"CU", "IR", "KP", "SY"}),
}

_COUNTRY_BY_NAME = {
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "USA": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "AMERICA": "US",
    "CUBA": "CU",
    "IRAN": "IR",
    "ISLAMIC REPUBLIC OF IRAN": "IR",
    "NORTH KOREA": "KP",
    "DPRK": "KP",
    "DEMOCRATIC PEOPLE'S REPUBLIC OF KOREA": "KP",
    "SYRIA": "SY",
    "SYRIAN ARAB REPUBLIC": "SY",
    "CANADA": "CA",
    "MEXICO": "MX",
    "UNITED KINGDOM": "GB",
    "UK": "GB",
    "GREAT BRITAIN": "GB",
}


def state_code(value: Any) -> str | None:
    """The USPS code for a state given as a code or a name (any case); None if unknown."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).upper()
    if text in US_STATES:
        return text
    return _STATE_BY_NAME.get(text)


def country_code(value: Any) -> str | None:
    """An ISO alpha-2 code for a country given as a code or a common name; None if unknown."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split()).upper()
    if len(text) == 2 and text.isalpha():
        return text
    return _COUNTRY_BY_NAME.get(text)
