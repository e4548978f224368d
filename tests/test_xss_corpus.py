"""No executable script from any payload of the XSS corpus, on every surface that shows it.

The corpus (../shared/eval/xss, see its SOURCE.md) is read in place at run time and never
copied into the repository. Every payload goes through:

(a) the article pipeline, ``render_markdown`` (HTML payloads fed as Markdown source too);
(b) the editor's live preview, POST /admin/articles/preview, as a logged-in writer;
(c) feedback comments, sent through the customer's real feedback POSTs and read back in the
    manager's contact page (the visit's journey shows the comments);
(d) contact messages, sent through the customer's real contact POST and read back in the
    manager's contact request page.

The oracle parses the HTML the way a browser does (html5lib) and reports anything that can
run script: script-capable elements, ``on*`` event handler attributes, ``srcdoc``, ``style``,
and URL attributes whose scheme (after entity decoding and WHATWG stripping) is anything but
http, https or mailto. Relative URLs are fine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb.content.render import ALLOWED_TAGS, render_markdown
from kb.extensions import db
from kb.insights.models import Feedback

from .conftest import csrf_token, log_in

# Elements that run script, load active content or change where the page's URLs or forms go.
SCRIPT_CAPABLE = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "style", "base", "form", "meta", "link", "template", "portal", "noembed", "xml",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "background", "poster", "data",
    "codebase", "cite", "longdesc", "lowsrc", "dynsrc", "ping", "manifest", "srcset",
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}
# WHATWG URL parsing: leading/trailing C0 controls and spaces are stripped, and ASCII tab
# and newline are removed anywhere ("java\tscript:" is "javascript:").
_C0_OR_SPACE = "".join(chr(n) for n in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Some payloads start like XML; they are parsed as HTML on purpose, as browsers do.
IGNORE_XML_WARNING = pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning")
pytestmark = IGNORE_XML_WARNING
# What html5lib wraps around a fragment.
DOCUMENT_TAGS = {"html", "head", "body"}


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in an attribute value, or None for a relative URL."""
    cleaned = _TAB_OR_NEWLINE.sub("", value.strip(_C0_OR_SPACE))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else None


def executable_markup(html: str | BeautifulSoup) -> list[str]:
    """Everything in ``html`` that could run script, as a browser parses it (empty if none)."""
    found = []
    parsed = html if isinstance(html, BeautifulSoup) else BeautifulSoup(html, "html5lib")
    for element in parsed.find_all(True):
        if element.name.lower() in SCRIPT_CAPABLE:
            found.append(f"<{element.name}>")
        for name, value in element.attrs.items():
            name = str(name).lower()
            values = value if isinstance(value, list) else [value]
            if name.startswith("on") or name in {"srcdoc", "style"}:
                found.append(f"<{element.name} {name}>")
            elif name in URL_ATTRIBUTES:
                urls = (
                    [part.strip().split(" ")[0] for part in " ".join(values).split(",")]
                    if name == "srcset"
                    else values
                )
                for url in urls:
                    scheme = url_scheme(url)
                    if scheme is not None and scheme not in SAFE_SCHEMES:
                        found.append(f"<{element.name} {name}={url!r}>")
    return found


def unsafe_rendering(html: str) -> list[str]:
    """``executable_markup`` plus any element outside the renderer's allow-list."""
    found = executable_markup(html)
    for element in BeautifulSoup(html, "html5lib").find_all(True):
        if element.name not in ALLOWED_TAGS | DOCUMENT_TAGS:
            found.append(f"not allow-listed: <{element.name}>")
    return found


@dataclass(frozen=True)
class Payload:
    text: str
    origin: str  # file:line, for the failure message
    role: str = "attack"


def load_corpus(eval_dir: Path) -> list[Payload]:
    """Every payload of the corpus: HTML payloads and Markdown attack strings."""
    xss = eval_dir / "xss"
    roles = {
        (row["file"], row["line"]): row
        for row in map(json.loads, read_lines(xss / "markdown_provenance.jsonl"))
    }
    payloads = []
    for name, markdown in (("payloads", False), ("markdown_payloads", True)):
        for number, line in enumerate(read_lines(xss / f"{name}.txt"), start=1):
            role = roles.get((f"{name}.txt", number), {}).get("role", "attack")
            payloads.append(Payload(line, f"{name}.txt:{number}", role if markdown else "attack"))
        for number, line in enumerate(read_lines(xss / f"{name}.jsonl"), start=1):
            role = roles.get((f"{name}.jsonl", number), {}).get("role", "attack")
            text = json.loads(line)["payload"]
            payloads.append(Payload(text, f"{name}.jsonl:{number}", role if markdown else "attack"))
    return payloads


def read_lines(path: Path) -> list[str]:
    """The file's lines split on "\\n" only: payloads hold other line-breaking characters."""
    text = path.read_text(encoding="utf-8")
    return text.removesuffix("\n").split("\n")


@pytest.fixture(scope="module")
def corpus(shared_eval) -> list[Payload]:
    payloads = load_corpus(shared_eval)
    assert len(payloads) > 1500, "the XSS corpus looks truncated"
    return payloads


def failures(checked: Iterable[tuple[Payload, list[str]]]) -> list[str]:
    return [f"{p.origin}: {p.text[:120]!r} -> {found}" for p, found in checked if found]


# --- the oracle itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href=" &#14;javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt&colon;alert(1)">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
        '<img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">',
        '<form><button formaction="javascript:alert(1)">x</button></form>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<img srcset="x.png 1x, javascript:alert(1) 2x">',
    ],
)
def test_the_oracle_sees_script_a_browser_would_run(html):
    assert executable_markup(html)


@pytest.mark.parametrize(
    "html",
    [
        '<p><a href="https://example.com/a?b=c">x</a> <a href="/javascript:link">y</a></p>',
        '<a href="mailto:a@example.com">m</a><a href="#top">t</a><a href="javascript">j</a>',
        '<img src="http://example.com/a.png" alt="x">',
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; onerror=alert(1) javascript:alert(1)</p>",
    ],
)
def test_the_oracle_passes_harmless_markup_and_escaped_text(html):
    assert executable_markup(html) == []


# --- (a) the article pipeline -----------------------------------------------------------


def test_no_corpus_payload_renders_to_executable_markup(corpus):
    checked = [(payload, unsafe_rendering(render_markdown(payload.text))) for payload in corpus]
    assert not failures(checked), "\n".join(failures(checked))


def test_the_corpus_is_live_without_the_sanitiser(corpus):
    """Most payloads do carry script as browsers parse them: the oracle has work to do."""
    live = [p for p in corpus if executable_markup(p.text)]
    assert len(live) > 0.6 * len(corpus), len(live)


# Links and images of the benign controls that the allow-list (DESIGN §4: links http, https,
# mailto; images http, https; relative URLs) keeps working. Controls with other schemes
# (ftp:, tel:, data:image) lose their URL by design but keep their text: checked below.
def expected_urls(source: str) -> list[tuple[str, str]]:
    """(tag, url) for each Markdown link or image in ``source`` that the policy allows."""
    found = []
    for bang, url in re.findall(r"(!?)\[[^\]]*\]\(([^)\s]+)\)", source):
        scheme = url_scheme(url)
        allowed = {"http", "https"} if bang else SAFE_SCHEMES
        if scheme is None or scheme in allowed:
            found.append(("img" if bang else "a", url))
    return found


def test_benign_controls_still_render_as_working_links_and_images(corpus):
    controls = [p for p in corpus if p.role != "attack" and p.role != "filler"]
    assert len(controls) >= 17, [p.role for p in controls]
    kept = 0
    for payload in controls:
        html = BeautifulSoup(render_markdown(payload.text), "html5lib")
        urls = [("a", a.get("href")) for a in html.find_all("a")]
        urls += [("img", img.get("src")) for img in html.find_all("img")]
        for expected in expected_urls(payload.text):
            assert expected in urls, f"{payload.origin}: {expected} missing from {urls}"
            kept += 1
        # Link text is never lost, even where the policy drops the URL.
        for text in re.findall(r"(?<!!)\[([^\]]+)\]\(", payload.text):
            assert text in html.get_text(), f"{payload.origin}: link text {text!r} lost"
    assert kept >= 20  # https, http, mailto, #anchor, relative ./ ../ / and /javascript:link


def test_data_and_non_web_schemes_are_dropped_by_policy():
    html = render_markdown(
        "![](data:image/gif;base64,R0lGODlhAQABAAAAACw=) [f](ftp://example.com) [t](tel:1)"
    )
    soup = BeautifulSoup(html, "html5lib")
    assert soup.find("img") is not None and not soup.find("img").get("src")
    assert [a.get("href") for a in soup.find_all("a")] == [None, None]
    assert soup.get_text().split() == ["f", "t"]


# --- (b) the editor preview -------------------------------------------------------------


def test_editor_preview_of_every_payload_is_free_of_script(app, client, staff, corpus):
    log_in(client, staff["writer"])
    token = csrf_token(client.get("/admin/articles/en/track-order"))
    checked = []
    for payload in corpus:
        response = client.post(
            "/admin/articles/preview", data={"body": payload.text, "csrf_token": token}
        )
        assert response.status_code == 200, (payload.origin, response.status_code)
        html = response.get_json()["html"]
        # The preview is the article pipeline; its output was checked above.
        if html != render_markdown(payload.text):
            checked.append((payload, unsafe_rendering(html)))
    assert not failures(checked), "\n".join(failures(checked))


# --- (c) feedback comments and (d) contact messages, as managers see them ----------------


def manager_view(client, reference: str) -> str:
    response = client.get(f"/admin/contacts/{reference}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def normalized(message: str) -> str:
    """A message as stored (stripped) and as an HTML parser reads it back (CR LF as LF)."""
    return message.strip().replace("\r\n", "\n").replace("\r", "\n")


def baseline_findings(client, reference: str) -> list[str]:
    """What the oracle reports on a contact page holding only harmless text (its own forms)."""
    return executable_markup(manager_view(client, reference))


def send_contact(client, lang: str, message: str) -> None:
    token = csrf_token(client.get(f"/{lang}/contact", query_string={"step": "form"}))
    data = {"name": "Sara", "email": "sara@example.com", "category": "orders"}
    response = client.post(
        f"/{lang}/contact", data={**data, "message": message, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code


def references(app) -> list[str]:
    from kb.contact.models import ContactRequest

    with app.app_context():
        return list(
            db.session.scalars(db.select(ContactRequest.reference).order_by(ContactRequest.id))
        )


def batches(corpus: list[Payload], limit: int) -> list[str]:
    """The payloads joined into texts of at most ``limit`` characters, one payload a line.

    Templates escape text character by character, so a text escapes safely exactly when
    each of its payloads does; the read-back check proves each payload is shown verbatim.
    A longer payload is cut to the limit (the form would refuse it whole).
    """
    texts, current = [], ""
    for payload in corpus:
        piece = payload.text[:limit]
        if current and len(current) + 1 + len(piece) > limit:
            texts.append(current)
            current = ""
        current = f"{current}\n{piece}" if current else piece
    return [*texts, current]


def test_feedback_comments_are_shown_to_managers_as_text(app, client, staff, corpus):
    from kb.insights.events import COMMENT_LIMIT

    # The customer says an article did not help and writes the payloads as comments.
    comments = batches(corpus, COMMENT_LIMIT)
    token = csrf_token(client.get("/en/articles/track-order"))
    for comment in comments:
        response = client.post(
            "/en/articles/track-order/feedback", data={"helpful": "no", "csrf_token": token}
        )
        assert response.status_code == 302
        response = client.post(
            "/en/articles/track-order/feedback/comment",
            data={"comment": comment, "csrf_token": token},
        )
        assert response.status_code == 302, response.status_code
    send_contact(client, "en", "The article did not answer my question.")
    with app.app_context():
        stored = db.session.scalar(db.select(db.func.count()).where(Feedback.comment != ""))
    assert stored == len(comments)

    # The manager reads the request; the visit's journey lists all the comments.
    manager = app.test_client()
    log_in(manager, staff["manager"])
    (reference,) = references(app)
    html = BeautifulSoup(manager_view(manager, reference), "html5lib")
    assert len(html.select(".journey-comment")) == len(comments)
    send_contact(app.test_client(), "en", "plain text")
    assert executable_markup(html) == baseline_findings(manager, references(app)[-1])


def test_contact_messages_are_shown_to_managers_as_text(app, client, staff, corpus):
    from kb.contact import FIELD_LIMITS

    lang = "ar"  # the Arabic form (the feedback test above uses the English pages)

    messages = batches(corpus, FIELD_LIMITS["message"])
    for message in messages:
        send_contact(client, lang, message)
    send_contact(client, lang, "plain text")
    *stored, plain = references(app)
    assert len(stored) == len(messages)

    manager = app.test_client()
    log_in(manager, staff["manager"])
    expected = baseline_findings(manager, plain)
    for message, reference in zip(messages, stored, strict=True):
        html = BeautifulSoup(manager_view(manager, reference), "html5lib")
        assert executable_markup(html) == expected, reference
        shown = html.select_one(".contact-message").get_text()
        assert shown == normalized(message), reference
    # The inbox lists the start of every message.
    inbox = BeautifulSoup(manager.get("/admin/contacts").get_data(as_text=True), "html5lib")
    assert len(inbox.select("tbody tr")) == len(stored) + 1
    assert executable_markup(inbox) == executable_markup(
        BeautifulSoup(manager.get("/admin/contacts?q=plain").get_data(as_text=True), "html5lib")
    )
