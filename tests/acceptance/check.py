"""Issue 23, the acceptance checks that tests/acceptance/run.sh calls between the README's
quick-start commands. Each subcommand reads what those commands wrote (dist.json, publish.json,
downloaded files) or drives the running distd the way a person would (chromium through
selenium, the admin console through its forms), and exits 1 with what it saw when a check
fails. Nothing here publishes, promotes or downloads in the README's place.

  check.py job LIST DIR VERSION BUILD        write DIR/dist.json and DIR/out/ from the fixture list
  check.py publish LIST PUBLISH.JSON [PREV]  the publish JSON field by field, then the release API
  check.py platforms                         /api/v1/platforms lists every target, the toy too
  check.py pages URL SHOTS                   the channel page as each device class, screenshots
  check.py console REL1 REL2                 sign in, findings, diff, promote, roll back, audit

Environment: DIST_SERVER, DIST_TOKEN (an admin token), DIST_CORPUS (for corpus/ sources).
"""

import hashlib
import html
import http.cookiejar
import json
import os
import re
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

SERVER = os.environ.get("DIST_SERVER", "").rstrip("/")
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def check(cond, what, seen=""):
    if not cond:
        raise AssertionError(f"{what}\n--- seen ---\n{str(seen)[:4000]}")
    print(f"ok: {what}")


# --- The fixture list ---------------------------------------------------------------------

def fixtures(path):
    """The fixture list's rows: dicts of its columns, with None for '-'."""
    cols = ["source", "platform", "kind", "arch", "install", "identity", "signature"]
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != len(cols):
                raise SystemExit(f"{path}:{n}: {len(parts)} columns, want {len(cols)}: {line}")
            row = {c: (None if v == "-" else v.replace("\\x20", " ")) for c, v in zip(cols, parts)}
            rows.append(row)
    return rows


def source_file(src):
    """The local path of a fixtures/ or corpus/ source; a missing file is an error."""
    if src.startswith("corpus/"):
        corpus = os.environ.get("DIST_CORPUS")
        if not corpus:
            raise SystemExit(f"{src}: DIST_CORPUS is not set (the real corpus, ../shared/fixtures/real)")
        p = os.path.join(corpus, src[len("corpus/"):])
    else:
        p = os.path.join(ROOT, src)
    if not os.path.isfile(p):
        raise SystemExit(f"{src}: missing ({p})")
    return p


def out_name(row):
    src = row["source"]
    if src.startswith("toy:"):
        return "acme.toy"
    return os.path.basename(src)


def cmd_job(list_path, job, version, build):
    """dist.json and out/ as a CI job would have them after its build."""
    os.makedirs(os.path.join(job, "out"), exist_ok=True)
    arts = []
    for row in fixtures(list_path):
        src = row["source"]
        if src.startswith("link:"):
            arts.append({"platform": row["platform"], "link": src[len("link:"):]})
            continue
        dest = os.path.join(job, "out", out_name(row))
        if src.startswith("toy:"):
            with open(dest, "w", encoding="utf-8") as f:
                f.write(f"DIST-TOY 1\nidentity: {src[4:]}\nversion: {version}\nbuild: {build}\n")
        else:
            shutil.copyfile(source_file(src), dest)
        a = {"path": f"out/{out_name(row)}", "platform": row["platform"]}
        if row["arch"]:
            a["arch"] = row["arch"]
        if row["install"]:
            a["install"] = row["install"]
        arts.append(a)
    manifest = {
        "schema_version": 2,
        "app": "acme",
        "app_name": "Acme",
        "version": version,
        "build": build,
        "channel": "beta",
        "source": {"commit": f"c0ffee{build}", "branch": "main",
                   "ci_url": f"https://ci.example.com/acme/builds/{build}"},
        "artifacts": arts,
    }
    with open(os.path.join(job, "dist.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    print(f"wrote {job}/dist.json: {len(arts)} artifacts")


# --- HTTP ---------------------------------------------------------------------------------

def api(path, token=None, data=None, method=None):
    req = urllib.request.Request(f"{SERVER}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token or os.environ['DIST_TOKEN']}")
    req.add_header("Accept", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def status_of(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# --- 1. The publish JSON --------------------------------------------------------------------

def cmd_publish(list_path, publish_path, prev_path=None):
    rows = fixtures(list_path)
    with open(publish_path, encoding="utf-8") as f:
        pub = json.load(f)
    prev = None
    if prev_path:
        with open(prev_path, encoding="utf-8") as f:
            prev = json.load(f)
    check(pub.get("schema_version") == 1 and pub.get("app") == "acme" and "error" not in pub,
          "publish: schema_version 1, app acme, no error", pub)
    rel = pub["release"]
    check(re.fullmatch(r"rel_[0-9a-f]{20}", rel["id"]) is not None, "publish: a release id", rel)
    check(rel["status"] == "published" and rel["created"] is True, "publish: created and published", rel)
    check(rel["url"] == f"{SERVER}/apps/acme/releases/{rel['id']}", "publish: release.url is the release page", rel)
    arts = pub["artifacts"]
    check(len(arts) == len(rows), f"publish: {len(rows)} artifacts, one per fixture line", [a["file_name"] for a in arts])
    version_files = 0
    for row, a in zip(rows, arts):
        name = f"{row['platform']} {row['kind']}"
        check(a["platform"] == row["platform"] and a["kind"] == row["kind"], f"{name}: platform and kind", a)
        check(re.fullmatch(r"art_[0-9a-f]{20}", a["id"] or "") is not None, f"{name}: an artifact id", a)
        check(a["install_url"] == f"{SERVER}/i/{a['id']}", f"{name}: install_url is its install page", a)
        findings = {f["code"] for f in a["findings"]}
        check(all(f["severity"] in ("info", "warning") for f in a["findings"]),
              f"{name}: no error finding", a["findings"])
        if row["source"].startswith("link:"):
            check(a["file_name"] is None and a["sha256"] is None and a["size"] is None
                  and a["download_url"] is None and a["uploaded"] is False,
                  f"{name}: a link has no file, digest, size or download", a)
            continue
        path = source_file(row["source"]) if not row["source"].startswith("toy:") else None
        check(a["file_name"] == out_name(row), f"{name}: file_name {out_name(row)}", a)
        if path:
            data = open(path, "rb").read()
            check(a["sha256"] == hashlib.sha256(data).hexdigest() and a["size"] == len(data),
                  f"{name}: sha256 and size of {row['source']}", a)
        check(a["download_url"] == f"{SERVER}/api/v1/artifacts/{a['id']}/download",
              f"{name}: download_url is the API's download", a)
        # The first publish uploads every file; the second only the file that changed.
        if prev is None:
            check(a["uploaded"] is True, f"{name}: uploaded", a)
        else:
            before = {p["sha256"] for p in prev["artifacts"]}
            check(a["uploaded"] is (a["sha256"] not in before),
                  f"{name}: uploaded only if the server lacked the bytes", a)
        if "release.version_mismatch" in findings:
            version_files += 1
    # Every fixture declares a version other than the release's but the toy, which is written
    # with the release's version and build.
    check(version_files == len([r for r in rows if not r["source"].startswith(("link:", "toy:"))]),
          "publish: release.version_mismatch warns for each file of another version", version_files)
    ch = pub["channel"]
    check(ch["name"] == "beta" and ch["release_id"] == rel["id"], "publish: beta points at the release", ch)
    check(ch["previous_release_id"] == (prev["release"]["id"] if prev else None),
          "publish: previous_release_id is the release beta pointed at before", ch)
    check(ch["share_url"] == f"{SERVER}/apps/acme/channels/beta", "publish: share_url is the channel page", ch)

    # What the publish JSON does not carry (identity, signature, arch, install mode) the
    # release API says for the same artifacts.
    full = api(f"/api/v1/releases/{rel['id']}")
    by_id = {a["id"]: a for a in full["artifacts"]}
    for row, a in zip(rows, arts):
        name = f"{row['platform']} {row['kind']}"
        s = by_id[a["id"]]
        ins = s.get("inspection") or {}
        check(ins.get("identity") == row["identity"], f"{name}: identity {row['identity']}", ins.get("identity"))
        check((ins.get("signature") or {}).get("state") == row["signature"],
              f"{name}: signature state {row['signature']}", ins.get("signature"))
        check(s["arch"] == row["arch"], f"{name}: arch {row['arch']}", s["arch"])
        if row["install"]:
            check(s["install_mode"] == row["install"], f"{name}: install mode {row['install']}", s)
        if row["source"].startswith("link:"):
            check(s["link"] == row["source"][5:], f"{name}: the link", s)
    # Each URL answers: the release page and install pages to an admin's bearer, downloads too.
    auth = {"Authorization": f"Bearer {os.environ['DIST_TOKEN']}"}
    for url in [rel["url"], ch["share_url"]] + [a["install_url"] for a in arts] + \
            [a["download_url"] for a in arts if a["download_url"]]:
        check(status_of(url, auth) == 200, f"200 from {url}")
    print(json.dumps({"release": rel["id"], "artifacts": len(arts)}))


def cmd_platforms():
    body = api("/api/v1/platforms")
    ids = {p["id"]: p for p in body["platforms"]}
    for want in ["android", "ios", "linux", "macos", "windows", "toy"]:
        check(want in ids, f"/api/v1/platforms lists {want}", sorted(ids))
    check(ids["toy"]["display_name"] == "Toy" and "toy" in ids["toy"]["preferred_kinds"],
          "the toy target's name and kinds", ids["toy"])


# --- 2. The channel page in chromium --------------------------------------------------------

# (name, user agent, touch points): the device classes the page tells apart.
CLIENTS = {
    "iphone": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 5),
    "ipad-desktop-mode": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 5),
    "android": ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 5),
    "mac": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 0),
    "windows": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", 0),
    "ubuntu": ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 0),
    "in-app-gmail": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 GSA/310.0 Gmail/6.0", 5),
}

# What each device is offered first: its primary link's words (None: the primary action is
# not a link), the file, and words that section must hold.
EXPECT = {
    "iphone": ("Open in TestFlight", None, "TestFlight invite link"),
    "ipad-desktop-mode": ("Open in TestFlight", None, "TestFlight invite link"),
    "android": ("Download and install APK", "signed-v1v2v3.apk", "Android application package"),
    # The universal app's disk image, listed before the app zip: both install on any Mac.
    "mac": ("Download disk image for Apple silicon and Intel", "unsigned-zlib.dmg",
            "drag Unsigned.app to the Applications folder"),
    # An MSIX signed by an untrusted certificate installs only once that is trusted: the MSI.
    "windows": ("Download the installer (.msi)", "hello-signed.msi", "msiexec /i"),
    # A deb's primary action is the command to copy (curl with a grant, then apt install).
    "ubuntu": (None, "signed-debsig.deb", "sudo apt install ./'signed-debsig.deb'"),
    "in-app-gmail": ("Open in TestFlight", None, "TestFlight invite link"),
}


def cmd_pages(url, shots):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    os.makedirs(shots, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("DIST_CHROMIUM", "/usr/bin/chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-extensions", "--window-size=430,1400", "--disable-dev-shm-usage"]:
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(os.environ.get("DIST_CHROMEDRIVER", "/usr/bin/chromedriver")),
                         options=opts)
    plain = url.split("?", 1)[0]
    try:
        first_visit = True
        for name, (ua, touch) in CLIENTS.items():
            d.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": ua})
            d.execute_cdp_cmd("Emulation.setTouchEmulationEnabled",
                              {"enabled": touch > 0, "maxTouchPoints": max(touch, 1)})
            # The tester's link once: its token becomes the page session and leaves the address.
            d.get(url if first_visit else plain)
            if first_visit:
                check(d.current_url == plain, "the download link's token left the address bar", d.current_url)
                first_visit = False
            if name == "ipad-desktop-mode":
                # A Mac User-Agent on a touch screen: the page's script asks again as an iPad.
                try:
                    WebDriverWait(d, 15).until(lambda drv: "device=ipad" in drv.current_url and
                                               drv.execute_script("return document.readyState") == "complete")
                except Exception:
                    pass
                check("device=ipad" in d.current_url, "iPad desktop mode: the page asked again as an iPad", d.current_url)
            main = d.find_element(By.TAG_NAME, "main").text
            first = d.find_element(By.CSS_SELECTOR, "section.artifact.first")
            links = first.find_elements(By.CSS_SELECTOR, "ul.actions li:first-child a")
            primary = links[0].text if links else ""
            path = os.path.join(shots, f"{name}.png")
            d.save_screenshot(path)
            print(f"{name}: first {first.text.splitlines()[:2]!r}, primary action {primary!r}; screenshot {path}")
            words, file_name, text = EXPECT[name]
            if words:
                check(primary == words, f"{name}: the primary action is {words!r}", first.text)
            if file_name:
                check(file_name in first.text, f"{name}: {file_name} first", first.text)
            check(text in first.text, f"{name}: the first section says {text!r}", first.text)
            if name == "in-app-gmail":
                warn = d.find_elements(By.ID, "in-app")
                check(warn and "Gmail" in warn[0].text, "in-app: told to open the system browser", main)
            # The toy target is a platform like any other on the page.
            check("acme.toy" in main, f"{name}: the toy target's file is on the page", main)
    finally:
        d.quit()


# --- 3. The admin console -------------------------------------------------------------------

class Console:
    """A browser's view of /admin: cookies kept, forms posted with their CSRF token."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.csrf = None

    def request(self, path, fields=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(f"{SERVER}{path}", data=data)
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def get(self, path):
        status, _, body = self.request(path)
        check(status == 200, f"console: GET {path}", (status, body))
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        if found:
            self.csrf = found.group(1)
        return body

    def post(self, path, fields):
        status, headers, body = self.request(path, [("csrf", self.csrf)] + fields)
        check(status == 303, f"console: POST {path} answers 303", (status, body))
        return headers["Location"]


def text_of(page):
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def cmd_console(rel1, rel2):
    c = Console()
    c.get("/admin/signin")
    where = c.post("/admin/signin", [("token", os.environ["DIST_TOKEN"])])
    check(where == "/admin", "console: signed in", where)
    home = text_of(c.get("/admin"))
    check("acme" in home and "toy" in home.lower(), "console: the apps page lists acme and its platforms, the toy too", home)

    # Build 1 goes to stable first, the channel a team ships from.
    first = text_of(c.get(f"/admin/apps/acme/promote?release={rel1}&channel=stable"))
    check("checks pass" in first, "console: build 1 may go to stable", first)
    c.post("/admin/apps/acme/channels/stable/promote", [("release", rel1)])
    check(api("/api/v1/apps/acme/channels/stable")["release_id"] == rel1, "stable points at build 1")

    # The new release's page: every artifact's inspection, its findings, the diff.
    page = c.get(f"/admin/releases/{rel2}")
    words = text_of(page)
    for want in ["com.dist.tiny", "org.dist.fixture", "hello-dist", "Dist.Hello", "com.example.toy",
                 "ios.signature.untrusted", "linux.deb.signature_unknown_key", "windows.signature.untrusted",
                 "release.version_mismatch"]:
        check(want in words, f"console: release page shows {want}", words)
    # Its diff against stable's release: only the toy file changed, its version and build.
    diff = re.sub(r"\s+", " ", words[words.find("Changes against"):words.find("Artifacts (")])
    check(f"stable now 1.0.0 (1) {rel1}" in diff and "toy: version 1.0.0 -> 1.0.1" in diff
          and "toy: build 1 -> 2" in diff, "console: the diff against stable names the toy's new version", diff)

    # Review the promotion of rel2 to stable (where rel1 is): current release, policy, diff.
    review = text_of(c.get(f"/admin/apps/acme/promote?release={rel2}&channel=stable"))
    check(rel1 in review, "console: the promote review names stable's current release", review)
    check("1.0.0 (1)" in review and "1.0.1 (2)" in review, "console: the diff names both versions", review)
    check("checks pass" in review, "console: the policy result", review)
    check("hello-signed.msi: the file declares version 1.2.3 (?), the release is 1.0.1 (2)" in review,
          "console: the review lists the release's findings, a file's other version too", review)
    where = c.post("/admin/apps/acme/channels/stable/promote", [("release", rel2)])
    check(where.startswith("/admin/apps/acme/channels/stable"), "console: promoted", where)
    check(api("/api/v1/apps/acme/channels/stable")["release_id"] == rel2, "stable points at build 2")

    # Roll back through the confirmation, which names where stable goes.
    confirm = c.get("/admin/apps/acme/channels/stable/rollback")
    to = re.search(r'name="to" value="([^"]+)"', confirm)
    check(to and to.group(1) == rel1, "console: the roll-back confirmation goes to build 1", text_of(confirm))
    where = c.post("/admin/apps/acme/channels/stable/rollback", [("to", rel1)])
    check("rolled-back" in where, "console: rolled back", where)
    check(api("/api/v1/apps/acme/channels/stable")["release_id"] == rel1, "stable points at build 1 again")

    # The audit log shows both moves by the console's token, and its chain verifies.
    audit = text_of(c.get("/admin/audit"))
    for action in ["channel.promote", "channel.rollback", "release.publish", "admin.signin"]:
        check(action in audit, f"console: the audit log shows {action}", audit)
    check("Chain verifies" in audit, "console: the audit chain verifies", audit)
    events = api("/api/v1/audit?limit=1000")["events"]
    moves = [(e["action"], e["details"].get("from"), e["details"].get("to"), e["actor"].split(":", 1)[-1])
             for e in events if e["action"].startswith("channel.") and e["subject"] == "stable"]
    want = [("channel.promote", None, rel1, "initial-admin"), ("channel.promote", rel1, rel2, "initial-admin"),
            ("channel.rollback", rel2, rel1, "initial-admin")]
    check(moves[-3:] == want, "the API's audit log: stable's two promotions and the roll-back, by the console's token", moves)
    check(api("/api/v1/audit/verify").get("ok") is True, "the API's chain verification", "")
    c.post("/admin/signout", [])


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"job": cmd_job, "publish": cmd_publish, "platforms": cmd_platforms, "pages": cmd_pages,
     "console": cmd_console}[cmd](*args)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
