#!/usr/bin/env python3
"""Load test of the emergency path under abuse (issue 15, item 4), against a running server.

While
  - IDLE keep-alive connections are held open (each made one request, then sits idle),
  - a sign-up burst arrives from many addresses (distinct X-Forwarded-For through a trusted proxy: each
    sign-up hashes a password, the most expensive request a stranger can make), and
  - a logged-in account floods the worker lane with reads (GET /api/get_status, wrk, run by the caller),
a watch posts readings (POST /api/devices/readings, 60 a request, 5 requests a second) and wearers press
SOS (POST /api/emergency_call/ with their watch's token) and answer "I'm OK" (POST /api/incidents/{id}/ok).
Prints the latency of each (p50/p95/p99/max, ms), the counts of every answer, and a JSON line.

Usage: abuse_load.py URL [--idle 2000] [--duration 20] [--wearers 40] [--signup-threads 16]
Standard library only (python3 from Debian).
"""
import argparse
import http.client
import json
import random
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timedelta, timezone


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


class Client:
    """One keep-alive HTTP connection with a cookie jar of one cookie and the CSRF token."""

    def __init__(self, host, port, forwarded_for=None):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookie = None
        self.csrf = None
        self.forwarded_for = forwarded_for

    def request(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        if self.forwarded_for:
            h["X-Forwarded-For"] = self.forwarded_for
        if headers:
            h.update(headers)
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                payload = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 1:
                    raise
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("vg_session="):
                self.cookie = v.split(";", 1)[0]
        return r.status, payload


def random_id(prefix):
    return prefix + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(10))


def address(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255 or 1)


def sign_up(host, port, i, user_id):
    c = Client(host, port, forwarded_for=address(100000 + i))
    body = {"id": user_id, "password": "load test password 1", "name": "Load %d" % i, "age": 78,
            "address": "Seoul", "phone_num": "010-1234-%04d" % (i % 10000),
            "guard_name": "Guardian", "guard_phone_num": "010-9876-%04d" % (i % 10000)}
    status, payload = c.request("POST", "/api/signup", body)
    if status != 201:
        raise SystemExit("sign-up of %s failed: %d %s" % (user_id, status, payload[:200]))
    status, payload = c.request("POST", "/api/login", {"id": user_id, "password": "load test password 1"})
    if status != 200:
        raise SystemExit("login of %s failed: %d %s" % (user_id, status, payload[:200]))
    c.csrf = json.loads(payload)["csrf_token"]
    status, payload = c.request("POST", "/api/devices", {"name": "Watch %d" % i})
    if status != 201:
        raise SystemExit("pairing for %s failed: %d %s" % (user_id, status, payload[:200]))
    return c, json.loads(payload)["device_token"]


def hold_idle(host, port, count, held, stop):
    """Opens `count` connections; each sends one GET /healthz, reads the answer, then stays idle."""
    socks = []
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(count):
        if stop.is_set():
            break
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                socks.append(s)
                held[0] += 1
            else:
                s.close()
        except OSError:
            pass
    stop.wait()
    # How many the server kept open all along (an idle keep-alive connection closed early reads EOF).
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += 0 if s.recv(1) == b"" else 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    held[1] = alive


def signup_burst(host, port, stop, counts, lock, offset):
    n = 0
    while not stop.is_set():
        n += 1
        c = Client(host, port, forwarded_for=address(offset + n))
        body = {"id": random_id("burst"), "password": "burst password 1", "name": "Burst", "age": 70,
                "address": "Seoul", "phone_num": "010-5555-0000"}
        try:
            status, _ = c.request("POST", "/api/signup", body)
        except OSError:
            status = "error"
        c.conn.close()
        with lock:
            counts[status] += 1


def watch_readings(host, port, token, stop, latencies, counts, lock):
    c = Client(host, port)
    seq = 0
    t0 = datetime.now(timezone.utc) - timedelta(minutes=30)
    while not stop.is_set():
        readings = []
        for _ in range(60):
            seq += 1
            at = t0 + timedelta(milliseconds=seq * 250)
            readings.append({"timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "seq": seq,
                             "heart_rate": 72 + seq % 5, "spo2": 97, "respiration_rate": 15,
                             "skin_temp": 33.4, "steps": 0})
        started = time.perf_counter()
        status, payload = c.request("POST", "/api/devices/readings", {"readings": readings},
                                    {"Authorization": "Bearer " + token})
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            counts[status] += 1
            if status != 200 and counts[status] == 1:
                print("readings answered %d: %s" % (status, payload[:200]), file=sys.stderr)
        time.sleep(max(0.0, 0.2 - elapsed / 1000))


def sos_round(host, port, wearers, stop, sos_lat, ok_lat, counts, lock, spread):
    for c, token in wearers:
        if stop.is_set():
            break
        started = time.perf_counter()
        status, payload = c.request("POST", "/api/emergency_call/", {}, {"Authorization": "Bearer " + token})
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            sos_lat.append(elapsed)
            counts["sos %s" % status] += 1
            if status != 201:
                print("SOS answered %d: %s" % (status, payload[:200]), file=sys.stderr)
        if status == 201:
            incident = json.loads(payload)["incident"]["id"]
            started = time.perf_counter()
            status, payload = c.request("POST", "/api/incidents/%s/ok" % incident, {})
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                ok_lat.append(elapsed)
                counts["ok %s" % status] += 1
                if status != 200:
                    print("I'm OK answered %d: %s" % (status, payload[:200]), file=sys.stderr)
        time.sleep(spread)


def summary(name, values):
    return {"name": name, "n": len(values), "p50_ms": round(percentile(values, 50), 2),
            "p95_ms": round(percentile(values, 95), 2), "p99_ms": round(percentile(values, 99), 2),
            "max_ms": round(max(values), 2) if values else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--wearers", type=int, default=40)
    ap.add_argument("--signup-threads", type=int, default=16)
    ap.add_argument("--ready-file", help="written when the load starts (for a flood started alongside)")
    ap.add_argument("--burst-only", action="store_true",
                    help="only the sign-up burst, printing its counts as JSON (run as a process of its own, so "
                         "its threads do not share the measuring clients' interpreter lock)")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    host, port = u.hostname, u.port

    if args.burst_only:
        stop, lock, signups = threading.Event(), threading.Lock(), Counter()
        threads = [threading.Thread(target=signup_burst, args=(host, port, stop, signups, lock, 1000 * (k + 1) * 1000))
                   for k in range(args.signup_threads)]
        for t in threads:
            t.start()
        time.sleep(args.duration)
        stop.set()
        for t in threads:
            t.join()
        print(json.dumps({str(k): v for k, v in signups.items()}))
        return

    print("setting up %d wearers (sign-up, login, a watch each)..." % args.wearers, file=sys.stderr)
    wearers = [sign_up(host, port, i, random_id("w%d_" % i)) for i in range(args.wearers + 1)]
    watch_token = wearers[0][1]
    sos_wearers = wearers[1:]

    stop = threading.Event()
    lock = threading.Lock()
    counts = Counter()
    signups = Counter()
    held = [0, 0]
    idle = threading.Thread(target=hold_idle, args=(host, port, args.idle, held, stop))
    idle.start()
    while held[0] < args.idle and idle.is_alive() and not stop.is_set():
        time.sleep(0.2)
        if held[0] >= args.idle:
            break
        if not idle.is_alive():
            break
        # connections are opened as fast as the server answers; carry on once most are up
        if held[0] >= args.idle * 0.99:
            break
    print("%d idle connections open" % held[0], file=sys.stderr)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("go\n")

    burst = subprocess.Popen([sys.executable, __file__, args.url, "--burst-only", "--duration", str(args.duration),
                              "--signup-threads", str(args.signup_threads)], stdout=subprocess.PIPE, text=True)
    threads = []
    ingest_lat, sos_lat, ok_lat = [], [], []
    threads.append(threading.Thread(target=watch_readings,
                                    args=(host, port, watch_token, stop, ingest_lat, counts, lock)))
    spread = max(0.05, (args.duration - 2) / max(1, len(sos_wearers)))
    threads.append(threading.Thread(target=sos_round,
                                    args=(host, port, sos_wearers, stop, sos_lat, ok_lat, counts, lock, spread)))
    started = time.time()
    for t in threads:
        t.start()
    time.sleep(args.duration)
    stop.set()
    for t in threads:
        t.join()
    idle.join()
    took = time.time() - started
    out, _ = burst.communicate(timeout=120)
    for k, v in json.loads(out.strip().splitlines()[-1]).items():
        signups[k] += v

    result = {
        "duration_s": round(took, 1),
        "idle_connections": {"opened": held[0], "still_open_at_end": held[1]},
        "signup_burst": {str(k): v for k, v in sorted(signups.items(), key=lambda kv: str(kv[0]))},
        "answers": {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
        "ingest": summary("POST /api/devices/readings (60 readings)", ingest_lat),
        "sos": summary("POST /api/emergency_call/ (device token)", sos_lat),
        "im_ok": summary("POST /api/incidents/{id}/ok (session)", ok_lat),
    }
    for key in ("ingest", "sos", "im_ok"):
        s = result[key]
        print("%-45s n=%4d  p50 %7.2f  p95 %7.2f  p99 %7.2f  max %7.2f ms" %
              (s["name"], s["n"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"] or float("nan")))
    print("sign-up burst answers: %s (%.0f/s)" % (dict(signups), sum(signups.values()) / took))
    print("idle connections: %d opened, %d still open at the end" % (held[0], held[1]))
    print("answers: %s" % dict(counts))
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
