#!/usr/bin/env python3
"""Polls URL every 10 ms (each try given 0.25 s) until it answers 200, then prints the Unix
time of that answer and exits 0; exits 1 when START + TIMEOUT passes first. START is a
`date +%s.%N` taken before the container was started.

    wait_http.py URL START [TIMEOUT]
"""
import sys
import time
import urllib.request

url, t0 = sys.argv[1], float(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
deadline = t0 + timeout
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
while time.time() < deadline:
    try:
        with opener.open(url, timeout=0.25) as r:
            if r.status == 200:
                print(f"{time.time():.6f}")
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.01)
print(f"no 200 from {url} within {timeout} s", file=sys.stderr)
sys.exit(1)
