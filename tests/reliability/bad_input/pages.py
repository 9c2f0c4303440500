"""Finding every page and form of the console: a bounded crawl from "/" through the
links each page shows, reading each form's fields (inputs, text areas, selects, submit
buttons, htmx `hx-post` actions) from the HTML a user's browser would get."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

#: paths the crawl never follows: Django's own admin, logging out, downloads
SKIPPED = re.compile(r"^/(admin/|logout/|static/|api/schema/)|\.(csv|jsonl)$|/results\.")
#: a path with its ids replaced, so one page of each kind is crawled
_ID = re.compile(r"/(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?=/|$)")


def page_kind(path: str) -> str:
    """The path with ids replaced and only the names of its query parameters kept."""
    bare, _, query = path.partition("?")
    names = sorted({part.split("=")[0] for part in query.split("&") if part})
    return _ID.sub("/<id>", bare) + (f"?{'&'.join(names)}" if names else "")


@dataclass
class Form:
    page: str
    action: str
    method: str
    multipart: bool
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values (several for select/checkbox)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type, "textarea" or "select"
    buttons: list[tuple[str, str]] = field(default_factory=list)  # submit buttons with a name: (name, value)
    htmx_actions: list[str] = field(default_factory=list)

    @property
    def kind(self) -> tuple:
        return (self.method, page_kind(self.action), tuple(sorted(self.fields)), tuple(self.buttons))

    def data(self) -> dict[str, object]:
        """What submitting the form as shown sends (first value of each field)."""
        data: dict[str, object] = {}
        for name, values in self.fields.items():
            kind = self.kinds.get(name)
            if kind == "file":
                continue
            if kind in ("checkbox", "radio") and not values:
                continue
            data[name] = values[0] if len(values) == 1 or kind != "checkbox" else values
        return data


class _PageParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        if tag == "form":
            action = urljoin(self.page, a.get("action") or self.page).split("#")[0]
            self._form = Form(
                page=self.page,
                action=action,
                method=(a.get("method") or "get").lower(),
                multipart="multipart" in a.get("enctype", ""),
            )
            if a.get("hx-post"):
                self._form.htmx_actions.append(urljoin(self.page, a["hx-post"]))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            form.kinds[name] = kind
            values = form.fields.setdefault(name, [])
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    values.append(a.get("value", "on"))
            elif kind in ("submit", "image", "button"):
                form.kinds.pop(name)
                form.fields.pop(name)
                form.buttons.append((name, a.get("value", "")))
            else:
                values.append(a.get("value", ""))
        elif tag == "button" and a.get("type", "submit") == "submit":
            if name:
                form.buttons.append((name, a.get("value", "")))
            if a.get("hx-post"):
                form.htmx_actions.append(urljoin(self.page, a["hx-post"]))
        elif tag == "textarea" and name:
            form.kinds[name] = "textarea"
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            form.kinds[name] = "select"
            form.fields.setdefault(name, [])
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                form.fields[self._select].insert(0, value)

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] = ["".join(self._text).removeprefix("\n")]
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            if not self._form.fields[self._select] and self._select_first is not None:
                self._form.fields[self._select].append(self._select_first)
            self._select = None


def parse_page(path: str, html: str) -> tuple[list[str], list[Form]]:
    parser = _PageParser(f"http://testserver{path}")
    parser.feed(html)
    links = []
    for link in parser.links:
        parts = urlsplit(link)
        if parts.netloc in ("", "testserver") and parts.path.startswith("/"):
            links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    for form in parser.forms:
        form.action = urlsplit(form.action).path + (
            f"?{urlsplit(form.action).query}" if urlsplit(form.action).query else ""
        )
        form.htmx_actions = [urlsplit(url).path for url in form.htmx_actions]
    return links, parser.forms


def crawl(client, start: list[str], *, max_pages: int = 80) -> tuple[dict[str, int], list[Form]]:
    """Every page reachable from ``start`` (one per kind of path, at most ``max_pages``):
    {path: status} and one form of each kind found on them."""
    seen_kinds: set[str] = set()
    statuses: dict[str, int] = {}
    forms: dict[tuple, Form] = {}
    queue = list(start)
    while queue and len(statuses) < max_pages:
        path = queue.pop(0)
        bare = path.split("?")[0]
        if SKIPPED.search(bare) or page_kind(path) in seen_kinds:
            continue
        seen_kinds.add(page_kind(path))
        response = client.get(path)
        statuses[path] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        links, page_forms = parse_page(path, response.content.decode("utf-8"))
        for form in page_forms:
            if not SKIPPED.search(form.action.split("?")[0]):
                forms.setdefault(form.kind, form)
        queue.extend(link for link in links if page_kind(link) not in seen_kinds)
    return statuses, list(forms.values())
