#!/usr/bin/env python3
"""A tiny RFC 3161 time-stamp authority for CI: HTTP (RFC 3161 §3.4) in front of `openssl ts
-reply`, which is the real TSA implementation. Usage: tsa.py DIR PORT, where DIR holds the
openssl configuration made by scripts/pades-check.sh. Test use only."""
import http.server
import os
import subprocess
import sys
import tempfile

DIR, PORT = sys.argv[1], int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415)
            return
        query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with tempfile.TemporaryDirectory() as tmp:
            q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", os.path.join(DIR, "tsa.cnf"), "-queryfile", q, "-out", r],
                capture_output=True,
            )
            if done.returncode != 0:
                sys.stderr.write(done.stderr.decode(errors="replace"))
                self.send_error(500)
                return
            with open(r, "rb") as f:
                reply = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
