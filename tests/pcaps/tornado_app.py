#!/usr/bin/env python3
"""Tiny Tornado server used by record.sh to produce test captures.

  GET /_health  -> 200, "ok\\n" (fixed 3-byte body, Content-Length)
  GET /chunked  -> 200, body written and flushed in 3 pieces, so the
                   response uses Transfer-Encoding: chunked

Usage: python3 tornado_app.py [--address 127.0.0.1] --port 18081
Needs python3-tornado (Debian 12: Tornado 6.2).
"""

import argparse
import asyncio
import signal

import tornado.httpserver
import tornado.ioloop
import tornado.web


class Health(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write("ok\n")


class Chunked(tornado.web.RequestHandler):
    async def get(self):
        self.set_header("Content-Type", "text/plain")
        for i in range(1, 4):
            self.write("piece-%d\n" % i)
            await self.flush()
            await asyncio.sleep(0.02)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    app = tornado.web.Application([(r"/_health", Health), (r"/chunked", Chunked)])
    server = tornado.httpserver.HTTPServer(app)
    server.listen(a.port, address=a.address)
    loop = tornado.ioloop.IOLoop.current()

    def stop(*_):
        loop.add_callback_from_signal(loop.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop.start()


if __name__ == "__main__":
    main()
