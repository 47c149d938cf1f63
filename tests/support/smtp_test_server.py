#!/usr/bin/python3
"""A real SMTP server for the e-mail tests (tests/e2e/email_e2e_test.cpp), on Debian's python3-aiosmtpd.

Listens on 127.0.0.1 (a free port unless --port), then writes the port and a newline to --ready-file
(atomically), as vg::testing::ServerProcess expects. With --cert/--key it offers STARTTLS and requires
it before anything else (require_starttls) and AUTH (PLAIN, LOGIN) only inside TLS; with --user and
--password every message needs a successful login first. Without --cert it offers no STARTTLS at all
(the "server without STARTTLS" case): AUTH is then offered in clear, so a client that sends credentials
anyway is caught.

What it saw goes to --dir:
  mail-<n>.json  one per accepted message: envelope, whether the session was in TLS and authenticated,
                 and the message parsed by Python's email package (decoded Subject, To, text body).
  auth.jsonl     one line per AUTH attempt: login, whether it succeeded, whether it came inside TLS.
Test use only: it trusts its directory and never relays anything.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False)
    os.replace(tmp, path)


def append_line(path, value):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(value, ensure_ascii=False) + "\n")


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        self.count += 1
        write_json(
            os.path.join(self.directory, "mail-%d.json" % self.count),
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "authenticated": bool(session.authenticated),
                "subject": str(message["subject"]),
                "to": str(message["to"]),
                "from": str(message["from"]),
                "message_id": str(message["message-id"]),
                "raw_subject": envelope.content.decode("ascii", "replace").split("\r\nSubject: ", 1)[-1].split("\r\n", 1)[0],
                "body": body.get_content() if body is not None else "",
            },
        )
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    auth_log = os.path.join(args.dir, "auth.jsonl")

    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode("utf-8", "replace") == args.user
            and auth_data.password.decode("utf-8", "replace") == args.password
        )
        login = auth_data.login.decode("utf-8", "replace") if isinstance(auth_data, LoginPassword) else ""
        append_line(auth_log, {"mechanism": mechanism, "login": login, "success": ok, "tls": session.ssl is not None})
        return AuthResult(success=ok, handled=False)

    recorder = Recorder(args.dir)

    def factory():
        return SMTP(
            recorder,
            hostname="localhost",
            tls_context=tls_context,
            require_starttls=tls_context is not None,
            # With TLS: AUTH only after STARTTLS. Without: AUTH is offered in clear, so that a client that
            # would send its password anyway shows up in auth.jsonl.
            auth_require_tls=tls_context is not None,
            auth_required=bool(args.user),
            authenticator=authenticator if args.user else None,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=args.port))
    port = server.sockets[0].getsockname()[1]
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.ready_file)
    print("smtp test server on 127.0.0.1:%d (starttls=%s, auth=%s)" % (port, tls_context is not None, bool(args.user)),
          flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
