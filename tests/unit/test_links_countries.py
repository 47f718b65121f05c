"""Takedown tools, country pathways and links, against reference/current-practice.md
(the digest): ACCCE first for a child in Australia, the support lines each country file
must carry, ``checked`` dates that record a real load (or null), and scripts/links.py (the
`make links` check) against a local HTTP server."""
from __future__ import annotations

import copy
import http.server
import re
import socket
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
from actions import guidance as G
import links as L  # scripts/links.py

COUNTRY_FILES = sorted(p.stem for p in (ROOT / "data/guidance/countries").glob("*.yml"))


def ids(items):
    return [i["id"] for i in items]


def step(country, step_id):
    return next(s for s in G.referral(country)["referral_pathway"] if s["id"] == step_id)


def lines_text(country):
    return " ".join(f"{l.get('name')} {l.get('number') or l.get('contact')} {l.get('for', '')} "
                    f"{l.get('url', '')}" for l in G.referral(country)["support_lines"])


# --------------------------------------------------------------------------- 1. takedown

def test_au_child_reports_to_accce_first():
    tools = ids(G.takedown_tools("AU", child=True))
    assert tools[0] == "accce"
    assert tools.index("accce") < tools.index("esafety")
    assert ids(G.referral("au")["takedown"])[0] == "accce"
    # the practical advice offers the first two tools: ACCCE is one, eSafety is not
    assert "esafety" not in tools[:2]


def test_au_police_step_puts_accce_before_esafety():
    police = step("AU", "police")
    assert police["url"] == "https://www.accce.gov.au/report"
    text = police["text"]
    assert "ACCCE first" in text
    assert text.index("ACCCE") < text.index("eSafety")
    assert "adults (18 and over)" in text


def test_esafety_says_a_child_goes_to_accce_first():
    esafety = next(t for t in G.takedown_tools("AU") if t["id"] == "esafety")
    assert "ACCCE first" in esafety["who_for"] and "18" in esafety["who_for"]


def test_adult_order_is_the_files_order():
    assert ids(G.takedown_tools("AU", child=False)) == [
        "take_it_down", "stopncii", "esafety", "accce"]


def test_validate_catches_a_child_order_with_esafety_before_accce():
    data = copy.deepcopy(G._bundle())
    data["countries"]["AU"]["takedown_tools"] = ["take_it_down", "esafety", "accce"]
    assert any("countries/AU.yml: takedown_tools" in p for p in G.problems(data))


def test_report_remove_stays_correct():
    rr = next(t for t in G.takedown_tools("GB") if t["id"] == "report_remove")
    assert rr["url"] == "https://www.childline.org.uk/remove"
    assert rr["more_info_url"] == "https://www.iwf.org.uk/our-technology/report-remove/"
    assert "may be asked to prove their age (optional since 2024)" in rr["how"]
    assert rr["max_age"] == 17 and rr["countries"] == ["GB"]


#: the addresses in the digest's "Takedown and reporting tools" table
DIGEST_URLS = {
    "take_it_down": "https://takeitdown.ncmec.org",
    "report_remove": "https://www.childline.org.uk/remove",
    "stopncii": "https://stopncii.org",
    "cybertipline": "https://report.cybertip.org",
    "ceop": "https://www.ceop.police.uk/Safety-Centre/",
    "esafety": "https://www.esafety.gov.au/report",
    "accce": "https://www.accce.gov.au/report",
    "hotline_ie": "https://hotline.ie",
}


def test_every_tool_has_the_digests_address():
    tools = G._file("takedown.yml")["tools"]
    assert {t["id"]: t["url"] for t in tools} == DIGEST_URLS
    stopncii = next(t for t in tools if t["id"] == "stopncii")
    assert stopncii["never_for_children"] and stopncii["min_age"] == 18


def test_ceop_reports_are_said_not_to_be_anonymous():
    ceop = next(t for t in G.takedown_tools("GB") if t["id"] == "ceop")
    assert "not anonymous" in ceop["how"]
    assert "not anonymous" in step("GB", "police")["text"]


# --------------------------------------------------------------------------- 2. countries

@pytest.mark.parametrize("code", COUNTRY_FILES)
def test_every_country_has_emergency_police_child_protection_and_a_support_line(code):
    ref = G.referral(code)
    assert ref["emergency"]
    steps = {s["id"]: s for s in ref["referral_pathway"]}
    assert steps["police"]["text"] and steps["police"]["source"]
    assert steps["child_protection"]["text"] and steps["child_protection"]["source"]
    assert ref["support_lines"] and all(l.get("number") or l.get("contact")
                                        for l in ref["support_lines"])


def test_validate_catches_a_country_without_police_or_support_lines():
    data = copy.deepcopy(G._bundle())
    data["countries"]["IE"]["referral_pathway"] = [
        s for s in data["countries"]["IE"]["referral_pathway"] if s["id"] != "police"]
    data["countries"]["IE"]["support_lines"] = []
    found = "\n".join(G.problems(data))
    assert "countries/IE.yml: no police step" in found
    assert "countries/IE.yml: no support_lines" in found


def test_gb_has_police_101_beside_999():
    assert G.referral("GB")["emergency"] == "999"
    assert "101" in {l["number"] for l in G.referral("GB")["support_lines"]}
    police = step("GB", "police")["text"]
    assert "101" in police and "999" in police


def test_gb_names_scotland_and_northern_ireland_childrens_services():
    text = step("GB", "child_protection")["text"]
    assert "Scotland: the council's social work services" in text
    assert "Northern Ireland: the local Health and Social Care Trust" in text


def test_us_has_the_fbi():
    assert "1-800-CALL-FBI" in lines_text("US") and "tips.fbi.gov" in lines_text("US")
    police = step("US", "police")
    assert "tips.fbi.gov" in police["text"] and "1-800-CALL-FBI" in police["text"]
    assert police["more_url"] == "https://tips.fbi.gov"
    assert police["url"] == "https://report.cybertip.org"  # NCMEC stays


def test_us_has_crisis_text_line():
    line = next(l for l in G.referral("US")["support_lines"] if l["name"] == "Crisis Text Line")
    assert line["number"] == "text HOME to 741741"


def test_au_has_crime_stoppers_and_police_assistance():
    numbers = {l["number"] for l in G.referral("AU")["support_lines"]}
    assert {"1800 333 000", "131 444"} <= numbers
    police = step("AU", "police")["text"]
    assert "1800 333 000" in police and "131 444" in police


def test_ie_has_childline_by_text():
    assert "50101" in {l["number"] for l in G.referral("IE")["support_lines"]}


def test_existing_numbers_are_kept():
    assert {"0800 1111", "116 123", "0808 800 5000"} <= {
        l["number"] for l in G.referral("GB")["support_lines"]}
    assert {"988", "1-800-843-5678"} <= {l["number"] for l in G.referral("US")["support_lines"]}
    assert {"1800 55 1800", "13 11 14"} <= {
        l["number"] for l in G.referral("AU")["support_lines"]}
    assert {"1800 66 66 66", "116 123"} <= {
        l["number"] for l in G.referral("IE")["support_lines"]}
    assert [G.referral(c)["emergency"] for c in ("GB", "US", "AU", "IE")] == [
        "999", "911", "000", "112 or 999"]


# --------------------------------------------------------------------------- 3. checked

def _entries_with_links(node):
    if isinstance(node, dict):
        if "url" in node or "number" in node:
            yield node
        for value in node.values():
            yield from _entries_with_links(value)
    elif isinstance(node, list):
        for value in node:
            yield from _entries_with_links(value)


MY_FILES = [G._file("takedown.yml")] + [G._countries()[c] for c in G._countries()]


def test_no_checked_date_is_the_day_the_data_was_written():
    """2026-11-25 was the day the data was written from the digest, not a load; the
    2026-11-30 on Report Remove was a reading of the digest, not a load either."""
    for data in MY_FILES:
        assert "checked" in data
        for entry in [data, *_entries_with_links(data)]:
            assert entry["checked"] not in ("2026-11-25", "2026-11-30"), entry


def test_every_link_says_where_its_fact_comes_from():
    for data in MY_FILES:
        for entry in _entries_with_links(data):
            assert "reference/" in entry["source"], entry
            assert "checked" in entry, entry


def test_sources_say_what_the_digest_verified():
    assert "verified in public references 2026-11-29" in " ".join(
        l["source"] for l in G.referral("IE")["support_lines"] if l["number"] == "50101")
    assert "verified in public references 2026-11-29" in step("AU", "police")["source"]
    assert "verified in public references 2026-11-29" in step("GB", "police")["source"]


def test_validation_accepts_null_and_real_dates_only():
    data = copy.deepcopy(G._bundle())
    tools = data["takedown"]["tools"]
    tools[0]["checked"] = None  # null: never loaded
    tools[1]["checked"] = date.today().isoformat()  # loaded today
    tools[2]["checked"] = (date.today() + timedelta(days=3)).isoformat()
    tools[3]["checked"] = "last week"
    del tools[4]["checked"]
    data["platforms"]["checked"] = None  # any file's top-level key may be null
    data["answers"]["checked"] = "2026-13-45"
    del data["countries"]["US"]["checked"]
    found = "\n".join(G.problems(data))
    assert f"{tools[0]['id']}: checked" not in found
    assert f"{tools[1]['id']}: checked" not in found
    assert f"{tools[2]['id']}: checked {tools[2]['checked']} is in the future" in found
    assert f"{tools[3]['id']}: checked 'last week' is neither null nor a date" in found
    assert f"{tools[4]['id']}: no checked key" in found
    assert "platforms.yml: (file): checked" not in found
    assert "answers.yml: (file): checked '2026-13-45' is neither null nor a date" in found
    assert "countries/US.yml: no checked key" in found


# --------------------------------------------------------------------------- 4. links.py

SAMPLE = """\
# a comment with https://comment.example/ (not a link to check)
checked: null  # the day every link loaded

tools:
  - id: first
    name: First tool
    url: https://one.example/a   # trailing comment
    more_info_url: https://one.example/more
    how: >-
      Folded text that names https://folded.example/page. and goes on.
    countries: [GB, "https://flow.example/x"]
    source: somewhere
    checked: null
  - name: Second
    id: second
    steps:
      - https://listed.example/item
    checked: 2026-11-01

support_lines:
  - name: No checked key
    url: "https://quoted.example/q"
"""


def test_scan_finds_links_with_entry_and_checked_line():
    found = L.scan(SAMPLE, "data/x.yml")
    got = [(l.entry, l.key, l.url, l.line + 1, l.checked_line and l.checked_line + 1)
           for l in found]
    assert got == [
        ("first", "url", "https://one.example/a", 7, 13),
        ("first", "more_info_url", "https://one.example/more", 8, 13),
        ("first", "how", "https://folded.example/page", 10, 13),
        ("first", "countries", "https://flow.example/x", 11, 13),
        ("second", "steps", "https://listed.example/item", 17, 18),
        ("No checked key", "url", "https://quoted.example/q", 22, None),
    ]
    assert {l.top_checked_line for l in found} == {1}
    assert found[1].where == "first (more_info_url)" and found[0].where == "first"


def _yaml_urls(node):
    if isinstance(node, dict):
        return [u for v in node.values() for u in _yaml_urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _yaml_urls(v)]
    return L._urls(node) if isinstance(node, str) else []


def test_scan_agrees_with_a_yaml_parser_on_every_data_file():
    import yaml

    data = ROOT / "data"
    files = L.yaml_files(data)
    assert any(p.name == "takedown.yml" for p in files) and len(files) > 10
    found = L.find_links(data)
    assert len(found) > 20
    for path in files:
        expected = sorted(_yaml_urls(yaml.safe_load(path.read_text(encoding="utf-8"))))
        shown = L.shown(path, data)
        assert sorted(l.url for l in found if l.file == shown) == expected, shown
    entries = {(l.file, l.entry) for l in found}
    assert ("data/guidance/takedown.yml", "accce") in entries
    assert ("data/guidance/countries/US.yml", "FBI") in entries
    assert all(l.checked_line is not None for l in found
               if l.file.startswith(("data/guidance/takedown", "data/guidance/countries")))


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, body: bool) -> None:
        code, headers = {
            "/ok": (200, {}),
            "/old": (301, {"Location": "/ok"}),
            "/missing": (404, {}),
            "/nohead": (405 if self.command == "HEAD" else 200, {}),
        }.get(self.path, (404, {}))
        self.server.agents.append(self.headers.get("User-Agent", ""))
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if body:
            self.wfile.write(b"ok")

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def do_GET(self):  # noqa: N802
        self._answer(True)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.agents = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _data(tmp_path, base, paths):
    folder = tmp_path / "data"
    (folder / "guidance").mkdir(parents=True)
    entries = "".join(f"""\
  - id: {name}
    url: {base}{path}
    source: a test
    checked: null  # keep this comment
""" for name, path in paths)
    (folder / "guidance" / "t.yml").write_text(
        "# test data\nchecked: null  # file\n\ntools:\n" + entries, encoding="utf-8")
    return folder


def test_check_url_statuses_redirects_and_get_fallback(server):
    httpd, base = server
    ok = L.check_url(base + "/ok", timeout=5)
    assert ok.ok and ok.status == 200 and not ok.redirected
    moved = L.check_url(base + "/old", timeout=5)
    assert moved.ok and moved.redirects == [301] and moved.final_url == base + "/ok"
    missing = L.check_url(base + "/missing", timeout=5)
    assert missing.reached and not missing.ok and missing.status == 404
    nohead = L.check_url(base + "/nohead", timeout=5)
    assert nohead.ok and nohead.method == "GET"
    assert httpd.agents and all(a.startswith("Mozilla/5.0") for a in httpd.agents)


def test_table_and_exit_code_1_when_some_fail(server, tmp_path, capsys):
    _, base = server
    data = _data(tmp_path, base, [("good", "/ok"), ("moved", "/old"), ("gone", "/missing")])
    assert L.main(["--data", str(data), "--timeout", "5"]) == 1
    out, err = capsys.readouterr()
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("data/")}
    assert set(rows) == {"good", "moved", "gone"}
    assert rows["good"].split()[:4] == ["data/guidance/t.yml", "good", base + "/ok", "200"]
    assert "301 > 200" in rows["moved"] and rows["moved"].rstrip().endswith(base + "/ok")
    assert "404" in rows["gone"]
    assert "2 of 3 links loaded; 1 did not" in out
    progress = [line for line in err.splitlines() if re.match(r"^\[\s*\d/3\] ", line)]
    assert len(progress) == 3  # one progress line per URL, on stderr


def test_exit_code_0_when_all_load(server, tmp_path, capsys):
    _, base = server
    data = _data(tmp_path, base, [("good", "/ok"), ("moved", "/old")])
    assert L.main(["--data", str(data)]) == 0
    assert "2 of 2 links loaded." in capsys.readouterr().out


def test_unreachable_network_says_so_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    port = _closed_port()
    data = _data(tmp_path, f"http://127.0.0.1:{port}", [("a", "/x"), ("b", "/y")])
    before = (data / "guidance" / "t.yml").read_text()
    assert L.main(["--data", str(data), "--timeout", "2", "--record"]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("The network seems unreachable from this machine")
    assert "nothing was checked" in out[0]
    assert out[1:] == ["--record: nothing recorded."]
    assert (data / "guidance" / "t.yml").read_text() == before


def test_record_writes_today_only_where_the_link_loaded(server, tmp_path, capsys):
    _, base = server
    data = _data(tmp_path, base, [("good", "/ok"), ("moved", "/old"), ("gone", "/missing")])
    (data / "guidance" / "lines.yml").write_text(
        f"checked: null\nsupport_lines:\n  - name: No key\n    url: {base}/ok\n",
        encoding="utf-8")
    assert L.main(["--data", str(data), "--record"]) == 1
    out = capsys.readouterr().out
    today = date.today().isoformat()
    text = (data / "guidance" / "t.yml").read_text().splitlines()
    checked = [line for line in text if "checked:" in line]
    assert checked == ["checked: null  # file",  # not every link of the file loaded
                       f"    checked: {today}  # keep this comment",
                       f"    checked: {today}  # keep this comment",
                       "    checked: null  # keep this comment"]
    assert text[0] == "# test data" and len(text) == 4 + 3 * 4
    other = (data / "guidance" / "lines.yml").read_text()
    assert other.startswith(f"checked: {today}\n")  # all its links loaded
    assert "to do by hand: data/guidance/lines.yml:4: No key: no checked: line" in out


def test_the_real_data_has_no_link_the_script_misses():
    """Every URL validate() knows about is one the script will load."""
    found = {l.url for l in L.find_links(ROOT / "data")}
    for data in MY_FILES:
        for entry in _entries_with_links(data):
            for key, value in entry.items():
                if str(key).endswith("url") and value:
                    assert value in found
