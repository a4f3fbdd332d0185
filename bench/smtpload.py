#!/usr/bin/python3
"""bench/smtpload.py -- the SMTP load client of make bench.

usage: smtpload.py --port N --count M --sessions S --rcpts R --size BYTES
                   --addrs FILE --tag TAG --out FILE [--first I]

Sends COUNT messages of about BYTES bytes to 127.0.0.1:PORT over SESSIONS
concurrent sessions, one message per connection (EHLO, MAIL, RCPT..., DATA,
QUIT, one command at a time, as most clients do).  Message I goes to RCPTS
recipients taken in turn from FILE (one address a line): the addresses
I*RCPTS to I*RCPTS+RCPTS-1, counted round the list, so that every user
gets the same share and one message's recipients are all different.

Each message carries a header "X-Bench-Id: TAG-I"; mdwatch.py finds it in
the delivered file.  OUT gets one line per message:
    TAG-I T_DOT T_REPLY CODE [WHY]
T_DOT is CLOCK_MONOTONIC (seconds) just before the final "." was written,
T_REPLY when the reply to it came, CODE that reply's code, or 0 when the
session broke before, with WHY saying how.  The first line of OUT is
"start T" and the last "end T".  Exit 0 when every message got a 250,
else 1.
"""

import argparse
import asyncio
import sys
import time

SENDER = "load@client.bench.example"


def make_body(size):
    """Body lines of 72 characters, enough for SIZE bytes in all."""
    line = b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\r\n"
    n = max(1, (size - 400) // len(line))
    return line * n


async def reply(reader):
    """Read one SMTP reply; its code, or 0 at end of file."""
    while True:
        line = await reader.readline()
        if len(line) < 4:
            return 0
        if line[3:4] != b"-":
            return int(line[:3])


async def expect(reader, want, what):
    code = await reply(reader)
    if code != want:
        raise EOFError("%s answered %d" % (what, code))


async def one_message(args, i, rcpts, body, results):
    mid = "%s-%d" % (args.tag, i)
    code = 0
    t_dot = t_reply = 0.0
    why = ""
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        await expect(reader, 220, "greeting")
        writer.write(b"EHLO load.bench.example\r\n")
        await expect(reader, 250, "EHLO")
        writer.write(b"MAIL FROM:<" + SENDER.encode() + b">\r\n")
        await expect(reader, 250, "MAIL")
        for r in rcpts:
            writer.write(b"RCPT TO:<" + r.encode() + b">\r\n")
            await expect(reader, 250, "RCPT")
        writer.write(b"DATA\r\n")
        await expect(reader, 354, "DATA")
        head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench %s\r\n"
                "Message-ID: <%s@load.bench.example>\r\n"
                "Date: %s\r\nX-Bench-Id: %s\r\n\r\n"
                % (SENDER, rcpts[0], mid, mid,
                   time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                 time.gmtime()), mid)).encode()
        writer.write(head + body)
        t_dot = time.monotonic()
        writer.write(b".\r\n")
        code = await reply(reader)
        t_reply = time.monotonic()
        writer.write(b"QUIT\r\n")
        await reply(reader)
    except (OSError, EOFError, ValueError) as e:
        why = " " + (type(e).__name__ + ":" + str(e)).replace(" ", "_")
    finally:
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
    results.append("%s %.6f %.6f %d%s" % (mid, t_dot, t_reply, code, why))
    return code == 250


async def run(args):
    with open(args.addrs) as f:
        addrs = [a.strip() for a in f if a.strip()]
    body = make_body(args.size)
    results = []
    state = {"next": args.first, "fail": 0}
    end = args.first + args.count

    async def worker():
        while state["next"] < end:
            i = state["next"]
            state["next"] += 1
            k = i * args.rcpts
            rcpts = [addrs[(k + j) % len(addrs)] for j in range(args.rcpts)]
            if not await one_message(args, i, rcpts, body, results):
                state["fail"] += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(args.sessions)))
    t1 = time.monotonic()
    with open(args.out, "w") as f:
        f.write("start %.6f\n" % t0)
        f.write("\n".join(results))
        f.write("\nend %.6f\n" % t1)
    return state["fail"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--rcpts", type=int, default=1)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--addrs", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=int, default=0)
    args = p.parse_args()
    fail = asyncio.run(run(args))
    if fail:
        sys.stderr.write("smtpload: %d of %d messages not accepted\n"
                         % (fail, args.count))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
