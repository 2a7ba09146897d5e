#!/usr/bin/env node
// node_server.js - a plain Node.js `http` server used by record.sh.
//
//   any GET/HEAD -> 200, "hello\n" (6 bytes, Content-Length), text/plain
//
// Keep-alive settings (Node's defaults otherwise):
//   server.keepAliveTimeout     = --keepalive-ms (default 1000): Node sends
//                                 "Keep-Alive: timeout=1" and closes a
//                                 connection idle that long
//   server.headersTimeout       = keepAliveTimeout + 4000
//   server.requestTimeout       = keepAliveTimeout + 9000
//   server.maxRequestsPerSocket = --max-requests (default 3, 0 = no limit;
//                                 needs Node >= 16.10, ignored otherwise)
//
// Bounded: exits after --max-time seconds (default 30) or on SIGTERM/SIGINT.
// Prints "listening on HOST:PORT ..." on stdout when ready; logs connections
// and requests on stderr with times relative to the start.
//
// Usage: node node_server.js --port 18091 [--address 127.0.0.1]
//          [--keepalive-ms 1000] [--max-requests 3] [--max-time 30]
'use strict';

const http = require('http');

const t0 = process.hrtime.bigint();
function log(msg) {
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(`node_server ${t.toFixed(3).padStart(8)} ${msg}\n`);
}

function parseArgs(argv) {
  const o = { address: '127.0.0.1', port: 0, keepaliveMs: 1000, maxRequests: 3, maxTime: 30 };
  const names = {
    '--address': 'address', '--port': 'port', '--keepalive-ms': 'keepaliveMs',
    '--max-requests': 'maxRequests', '--max-time': 'maxTime',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = names[argv[i]];
    if (!k || i + 1 >= argv.length) {
      process.stderr.write(`usage: node node_server.js --port P [--address A] [--keepalive-ms MS] ` +
                           `[--max-requests N] [--max-time S]\n`);
      process.exit(2);
    }
    o[k] = k === 'address' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!(o.port > 0 && o.port < 65536) || !(o.maxTime > 0 && o.maxTime <= 600) ||
      !(o.keepaliveMs > 0) || !(o.maxRequests >= 0)) {
    process.stderr.write('node_server: bad arguments\n');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const body = Buffer.from('hello\n');
let nconn = 0;

const server = http.createServer((req, res) => {
  const s = req.socket;
  s.kwRequests = (s.kwRequests || 0) + 1;
  log(`conn ${s.kwId} request ${s.kwRequests}: ${req.method} ${req.url} HTTP/${req.httpVersion}`);
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', body.length);
  res.on('finish', () => log(`conn ${s.kwId} response ${s.kwRequests} sent ` +
                             `(keep-alive: ${res.shouldKeepAlive})`));
  res.end(req.method === 'HEAD' ? undefined : body);
});

server.keepAliveTimeout = opts.keepaliveMs;
server.headersTimeout = opts.keepaliveMs + 4000;
server.requestTimeout = opts.keepaliveMs + 9000;
const haveMax = 'maxRequestsPerSocket' in server;
if (haveMax && opts.maxRequests > 0) server.maxRequestsPerSocket = opts.maxRequests;

server.on('connection', (s) => {
  s.kwId = ++nconn;
  const peer = `${s.remoteAddress}:${s.remotePort}`;
  log(`conn ${s.kwId} (${peer}) accepted`);
  s.on('end', () => log(`conn ${s.kwId} client FIN`));
  s.on('close', (hadError) => log(`conn ${s.kwId} closed${hadError ? ' (error)' : ''}`));
});

function stop(why) {
  log(`stopping: ${why}`);
  server.close();
  if (server.closeAllConnections) server.closeAllConnections();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
setTimeout(() => stop(`--max-time ${opts.maxTime}s`), opts.maxTime * 1000);

server.listen(opts.port, opts.address, () => {
  const msg = `listening on ${opts.address}:${opts.port} node ${process.version} ` +
              `keepAliveTimeout=${server.keepAliveTimeout} headersTimeout=${server.headersTimeout} ` +
              `maxRequestsPerSocket=${haveMax ? server.maxRequestsPerSocket : 'unsupported'}`;
  process.stdout.write(msg + '\n');
  log(msg);
});
