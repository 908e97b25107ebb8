"""A hostile server on loopback that refuses every request and echoes the caller's credentials.

It answers 403 in the shape the client expects (AWS query-protocol XML, Google's JSON error),
with the request's ``Authorization`` header, AWS's ``X-Amz-Security-Token`` and the request
body quoted in the error code and message, where a client library hands them on to the
caller. For Google it first serves the OAuth token endpoint (``POST /token``), so the client
holds a real access token to send (and have echoed). What it saw is kept in ``seen``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


class EchoServer:
    """``with EchoServer("aws" | "google", access_token=…) as echo: echo.url``"""

    def __init__(self, dialect: str, *, access_token: str = "") -> None:
        self.dialect = dialect
        self.access_token = access_token
        self.seen: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                heard = {"path": self.path, "authorization": self.headers.get("Authorization", ""),
                         "token": self.headers.get("X-Amz-Security-Token", ""), "body": body}
                server.seen.append(heard)
                if server.dialect == "google" and self.command == "POST" and self.path.startswith("/token"):
                    self._send(200, "application/json", json.dumps(
                        {"access_token": server.access_token, "expires_in": 3600, "token_type": "Bearer"}))
                    return
                echoed = f"Authorization: {heard['authorization']} X-Amz-Security-Token: {heard['token']} body: {body}"
                if server.dialect == "aws":
                    self._send(403, "text/xml", (
                        "<ErrorResponse><Error><Type>Sender</Type>"
                        f"<Code>{escape(heard['authorization'] or 'AccessDenied')}</Code>"
                        f"<Message>{escape(echoed)}</Message></Error><RequestId>echo</RequestId></ErrorResponse>"))
                else:
                    self._send(403, "application/json", json.dumps(
                        {"error": {"code": 403, "message": f"The caller does not have permission. {echoed}",
                                   "status": "PERMISSION_DENIED"}}))

            def _send(self, status: int, kind: str, text: str) -> None:
                payload = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="echo-server", daemon=True)

    def __enter__(self) -> "EchoServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
