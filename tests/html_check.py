"""A small HTML checker on the standard library's html.parser, for the accessibility tests: every
element with its open ancestors and its text, and the markup problems a browser would silently
repair (a <div> or <ul> inside a <p>, a link inside a link) that change what a screen reader
reads."""

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
VOID |= {"track", "wbr", "param"}
# Elements whose start tag closes an open <p> (HTML's "close a p element"): in a template they
# mean the <p> ends earlier than its author thought.
P_CLOSERS = {"address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset"}
P_CLOSERS |= {"figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6"}
P_CLOSERS |= {"header", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul"}
REFERRING = ("aria-describedby", "aria-labelledby", "aria-controls", "for")


class Element:
    def __init__(self, tag: str, attrs: list, ancestors: list["Element"]):
        self.tag, self.attrs, self.ancestors = tag, dict(attrs), ancestors
        self.text = ""  # all text inside, as the parser met it

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def inside(self, tag: str) -> bool:
        return any(ancestor.tag == tag for ancestor in self.ancestors)

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Page(HTMLParser):
    """A parsed page: `elements` in document order, `problems` found while parsing."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.problems: list[str] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        if tag in P_CLOSERS and any(e.tag == "p" for e in self._open):
            self.problems.append(f"<{tag}> inside an open <p> (line {line})")
        if tag == "a" and any(e.tag == "a" for e in self._open):
            self.problems.append(f"<a> inside <a> (line {line})")
        element = Element(tag, attrs, list(self._open))
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._open.pop()

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data):
        for element in self._open:
            element.text += data

    def find(self, tag: str, **attrs) -> list[Element]:
        """Elements named `tag` whose attributes equal `attrs` (aria_label= means aria-label)."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.get(name) == value for name, value in wanted.items())
        ]

    def by_id(self, id_: str) -> Element:
        (element,) = [e for e in self.elements if e.get("id") == id_]
        return element

    def title(self) -> str:
        return norm(self.find("title")[0].text)

    def headings(self) -> list[tuple[int, str]]:
        return [
            (int(e.tag[1]), norm(e.text))
            for e in self.elements
            if re.fullmatch(r"h[1-6]", e.tag) and not e.inside("svg")
        ]

    def duplicate_ids(self) -> list[str]:
        ids = [e.get("id") for e in self.elements if e.get("id")]
        return sorted({id_ for id_ in ids if ids.count(id_) > 1})

    def dangling_references(self) -> list[tuple[str, str, str]]:
        """(tag, attribute, id) of each reference (aria-describedby, for, ...) to a missing id."""
        ids = {e.get("id") for e in self.elements if e.get("id")}
        return [
            (e.tag, attr, ref)
            for e in self.elements
            for attr in REFERRING
            for ref in (e.get(attr) or "").split()
            if ref not in ids
        ]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()
