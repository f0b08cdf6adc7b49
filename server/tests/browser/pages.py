"""Issue 20: the release pages in real Chromium (Debian chromium + chromedriver, driven by
python3-selenium), run by server/tests/browser.rs against a real distd whose public URL is a
TLS proxy started here (self-signed certificate, python ssl).

For each emulated client it asserts the first artifact, its primary action and the words that
explain the others, and saves a screenshot to $DIST_SHOTS/<client>.png. Then: the OTA manifest
parses (plistlib) and its URLs download the IPA's bytes while the grant is valid and are refused
after it expired; the QR code, rendered by chromium, decodes with zbarimg to the page's URL.
Exit status 0 when every check passed; a failed check raises with what was seen.
"""

import hashlib
import json
import os
import plistlib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HTTP_PORT = int(os.environ["DIST_HTTP_PORT"])
HTTPS_PORT = int(os.environ["DIST_HTTPS_PORT"])
TOKEN = os.environ["DIST_TOKEN"]
IPA_SHA256 = os.environ["DIST_IPA_SHA256"]
GRANT_TTL = int(os.environ["DIST_GRANT_TTL"])
SHOTS = os.environ["DIST_SHOTS"]
BASE = f"https://127.0.0.1:{HTTPS_PORT}"
CHANNEL = f"{BASE}/apps/acme/channels/beta"

UA = {
    "iphone-safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "android-chrome": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "windows-edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "ubuntu-firefox": "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "fedora-firefox": "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "in-app-gmail": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 GSA/310.0 Gmail/6.0",
}


def check(cond, what, seen=""):
    if not cond:
        raise AssertionError(f"{what}\n--- seen ---\n{str(seen)[:4000]}")
    print(f"ok: {what}")


def tls_proxy(certdir):
    """Terminates TLS on HTTPS_PORT and pipes each connection to distd's plain port."""
    key, cert = os.path.join(certdir, "key.pem"), os.path.join(certdir, "cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.create_server(("127.0.0.1", HTTPS_PORT))

    def pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(conn):
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", HTTP_PORT))
        threading.Thread(target=pipe, args=(tls, up), daemon=True).start()
        pipe(up, tls)

    def accept():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def fetch(url):
    """(status, body) of a GET with no cookie and no header, as a phone's installer sends."""
    try:
        with urllib.request.urlopen(url, context=INSECURE, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("DIST_CHROMIUM", "/usr/bin/chromium")
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-extensions", "--ignore-certificate-errors", "--window-size=430,1400",
              "--disable-dev-shm-usage"]:
        opts.add_argument(a)
    service = Service(executable_path=os.environ.get("DIST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=opts)


def as_client(d, name, touch_points=0, mobile=False):
    d.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": UA.get(name, UA["mac"])})
    d.execute_cdp_cmd("Emulation.setTouchEmulationEnabled",
                      {"enabled": touch_points > 0, "maxTouchPoints": max(touch_points, 1)})


def first_section(d):
    return d.find_element(By.CSS_SELECTOR, "section.artifact.first")


def primary_action(section):
    """The text of the first action of an artifact section: its one primary action."""
    first = section.find_elements(By.CSS_SELECTOR, "ul.actions > li:first-child")
    return first[0].text if first else ""


def page_text(d):
    return d.find_element(By.TAG_NAME, "main").text


def shoot(d, name):
    path = os.path.join(SHOTS, f"{name}.png")
    d.save_screenshot(path)
    print(f"screenshot: {path}")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    certdir = tempfile.mkdtemp()
    tls_proxy(certdir)
    d = browser()
    try:
        run(d)
    finally:
        d.quit()


def run(d):
    # The tester's link: the token becomes a page session and leaves the address.
    as_client(d, "iphone-safari")
    d.get(f"{CHANNEL}?token={TOKEN}")
    check(d.current_url == CHANNEL, "the token left the address bar", d.current_url)
    check(TOKEN not in d.page_source, "the token is nowhere in the page")

    # iPhone Safari: over https the OTA install is first, one primary action.
    first = first_section(d)
    check("Tiny-OTA.ipa" in first.text, "iPhone: the over-the-air IPA first", first.text)
    links = first.find_elements(By.CSS_SELECTOR, "ul.actions li:first-child a")
    check(links and links[0].text == "Install on this device", "iPhone: Install is the primary action", first.text)
    itms = links[0].get_attribute("href")
    check(itms.startswith("itms-services://?action=download-manifest&url="), "iPhone: an itms-services link", itms)
    text = page_text(d)
    check("Open in TestFlight" in text, "iPhone: the TestFlight link is offered", text)
    check("tapping it installs nothing" in text, "iPhone: the artifact-only IPA says why it is not first", text)
    check("For Android; this page is open on an iPhone" in text, "iPhone: the APK says it is for Android", text)
    check("Is my device in this build?" in text, "iPhone: the UDID check of the ad hoc profile", text)
    shoot(d, "iphone-safari")
    page_loaded = time.time()

    # The OTA manifest and its URLs, fetched as the phone's installer does (no cookie).
    manifest_url = urllib.parse.unquote(itms.split("url=", 1)[1])
    check(manifest_url.startswith(f"{BASE}/i/") and "grant=" in manifest_url, "the manifest URL carries a grant", manifest_url)
    status, body = fetch(manifest_url)
    check(status == 200, "the manifest downloads with its grant", body)
    plist = plistlib.loads(body)
    assets = {a["kind"]: a["url"] for a in plist["items"][0]["assets"]}
    check(plist["items"][0]["metadata"]["bundle-identifier"] == "com.dist.tiny", "the manifest names the bundle", plist)
    pkg = assets["software-package"]
    check(pkg.startswith(f"{BASE}/i/") and "grant=" in pkg, "the IPA URL is https with a grant", pkg)
    status, ipa = fetch(pkg)
    check(status == 200 and hashlib.sha256(ipa).hexdigest() == IPA_SHA256, "the IPA URL downloads the IPA's bytes", status)
    if "display-image" in assets:
        status, _ = fetch(assets["display-image"])
        check(status == 200, "the icon URL answers", status)

    # The QR code, as chromium draws it, decodes to the page's URL.
    svg = d.find_element(By.CSS_SELECTOR, "div.qr svg")
    qr_png = os.path.join(SHOTS, "qr.png")
    d.execute_script("arguments[0].style.width='320px'; arguments[0].style.height='320px';", svg)
    with open(qr_png, "wb") as f:
        f.write(svg.screenshot_as_png)
    out = subprocess.run(["zbarimg", "--raw", "-q", qr_png], capture_output=True, text=True)
    check(out.stdout.strip() == CHANNEL, "the QR code decodes to the page URL", out.stdout + out.stderr)

    # iPad in desktop mode: a Mac User-Agent on a touch screen; the page's script asks again
    # with ?device=ipad and the iPad's build comes first.
    as_client(d, "mac", touch_points=5)
    d.get(CHANNEL)
    try:
        WebDriverWait(d, 15).until(
            lambda drv: "device=ipad" in drv.current_url
            and drv.execute_script("return document.readyState") == "complete")
    except Exception:
        pass
    check("device=ipad" in d.current_url, "iPad desktop mode: the script added ?device=ipad", d.current_url)
    check("open on an iPad" in page_text(d), "iPad desktop mode: named an iPad", page_text(d))
    check("Tiny-OTA.ipa" in first_section(d).text, "iPad desktop mode: the OTA IPA first", first_section(d).text)
    shoot(d, "ipad-desktop-mode")

    # macOS Safari: the universal app first, downloaded; the arm64-only one says how to tell
    # Apple silicon from Intel.
    as_client(d, "mac")
    d.get(CHANNEL)
    check("device=ipad" not in d.current_url, "Mac: no iPad refinement without touch", d.current_url)
    first = first_section(d)
    check("Tiny-mac.zip" in first.text, "Mac: the universal app (zip) first", first.text)
    check(primary_action(first).startswith("Download app (zip) for Apple silicon and Intel"),
          "Mac: its download is the primary action", first.text)
    check("Tiny-mac-arm64.tar.xz" in page_text(d), "Mac: the arm64 app is listed too", page_text(d))
    check("About This Mac" in page_text(d), "Mac: how to tell Apple silicon from Intel", page_text(d))
    shoot(d, "macos-safari")

    # Android Chrome: the APK first, with the unknown-sources note; the IPAs elsewhere.
    as_client(d, "android-chrome", touch_points=5)
    d.get(CHANNEL)
    first = first_section(d)
    check("acme.apk" in first.text and "Download and install APK" in first.text, "Android: the APK first, install is primary", first.text)
    check("unknown apps" in first.text, "Android: the unknown-sources note", first.text)
    check("For iPhone and iPad; this page is open on an Android device" in page_text(d), "Android: the IPAs say why not", page_text(d))
    shoot(d, "android-chrome")

    # Ubuntu Firefox: the .deb (amd64) first, its apt command the primary action; the rpm and
    # the AppImage listed below.
    as_client(d, "ubuntu-firefox")
    d.get(CHANNEL)
    first = first_section(d)
    check("hello-dist_1.2.3-4_amd64.deb" in first.text, "Ubuntu: the deb first", first.text)
    check(primary_action(first).startswith("Install with apt (Debian, Ubuntu)"), "Ubuntu: apt install is the primary action", first.text)
    check("sudo apt install ./" in first.text, "Ubuntu: a copyable install command", first.text)
    text = page_text(d)
    check("hello-1.0-1.x86_64.rpm" in text and "Hello-x86_64.AppImage" in text, "Ubuntu: the rpm and the AppImage are listed", text)
    shoot(d, "ubuntu-firefox")

    # Fedora Firefox: the rpm first, dnf the primary action.
    as_client(d, "fedora-firefox")
    d.get(CHANNEL)
    first = first_section(d)
    check("hello-1.0-1.x86_64.rpm" in first.text, "Fedora: the rpm first", first.text)
    check(primary_action(first).startswith("Install with dnf (Fedora, RHEL)"), "Fedora: dnf install is the primary action", first.text)
    shoot(d, "fedora-firefox")

    # Windows Edge: the MSI first, its download the primary action, with what SmartScreen says
    # of a certificate Windows does not trust; the MSIX listed too; the APK says what it is for.
    as_client(d, "windows-edge")
    d.get(CHANNEL)
    text = page_text(d)
    check("open on a Windows PC, x86_64" in text, "Windows: the device is named", text)
    first = first_section(d)
    check("DistHello.msi" in first.text, "Windows: the MSI first", first.text)
    check(primary_action(first).startswith("Download the installer (.msi)"), "Windows: the MSI download is the primary action", first.text)
    check("SmartScreen warns" in first.text, "Windows: what an untrusted signature means", first.text)
    check("DistHello.msix" in text, "Windows: the MSIX is listed", text)
    check("For Android; this page is open on a Windows PC" in text, "Windows: the APK says it is for Android", text)
    shoot(d, "windows-edge")

    # An in-app browser (Gmail on an iPhone): told to open the system browser.
    as_client(d, "in-app-gmail")
    d.get(CHANNEL)
    warn = d.find_elements(By.ID, "in-app")
    check(warn and "Gmail's built-in browser" in warn[0].text, "in-app: told to open the system browser", page_text(d))
    shoot(d, "in-app-gmail")

    # After the grant's lifetime the same manifest and IPA URLs are refused.
    wait = page_loaded + GRANT_TTL + 2 - time.time()
    if wait > 0:
        print(f"waiting {wait:.0f} s for the grants to expire")
        time.sleep(wait)
    status, body = fetch(manifest_url)
    check(status in (401, 403), "the manifest URL is refused after its grant expired", (status, body))
    status, body = fetch(pkg)
    check(status in (401, 403), "the IPA URL is refused after its grant expired", (status, body[:300]))
    print("all browser checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
