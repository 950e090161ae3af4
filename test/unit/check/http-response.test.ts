import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest, decodeChunked, parseHead, statusAccepted } from '../../../src/check/http-response.ts';
import { expectedReply, replyMatches } from '../../../src/check/udp.ts';

test('request line, Connection: close and Host per http_protocol', () => {
  assert.equal(buildRequest('/h', '1.0', 'a.example'), 'GET /h HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: a.example\r\n\r\n');
  assert.match(buildRequest('/', '1.0C', 'h'), /^GET \/ HTTP\/1\.0\r\n.*Connection: close\r\n/s);
  assert.match(buildRequest('/', '1.1', 'h'), /^GET \/ HTTP\/1\.1\r\n.*Connection: close\r\n/s);
});

test('parseHead: status, headers, body offset; garbage early; incomplete; oversize', () => {
  const r = parseHead(Buffer.from('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: b\r\n\r\nxyz'));
  assert.equal(r.kind, 'head');
  if (r.kind !== 'head') return;
  assert.equal(r.head.status, 204);
  assert.equal(r.head.headers.get('content-length'), '0');
  assert.equal(r.head.bodyStart, 54);
  assert.equal(parseHead(Buffer.from('HTT')).kind, 'incomplete');
  const g = parseHead(Buffer.from('SSH-2.0-OpenSSH\r\n'));
  assert.equal(g.kind, 'error');
  assert.equal(parseHead(Buffer.from('HTTP/1.1 abc\r\n\r\n')).kind, 'error');
  assert.equal(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nnocolon\r\n\r\n')).kind, 'error');
  assert.equal(parseHead(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.alloc(20_000, 0x41)])).kind, 'error');
});

test('status ranges default to 200-299', () => {
  assert.equal(statusAccepted(200, []), true);
  assert.equal(statusAccepted(299, []), true);
  assert.equal(statusAccepted(301, []), false);
  assert.equal(statusAccepted(301, [[300, 302]]), true);
  assert.equal(statusAccepted(200, [[300, 302], [404, 404]]), false);
  assert.equal(statusAccepted(404, [[300, 302], [404, 404]]), true);
});

test('chunked bodies', () => {
  const d = decodeChunked(Buffer.from('5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n'));
  assert.deepEqual(d, { kind: 'done', body: Buffer.from('hello world') });
  assert.equal(decodeChunked(Buffer.from('5\r\nhel')).kind, 'incomplete');
  assert.equal(decodeChunked(Buffer.from('zz\r\n')).kind, 'error');
});

test('UDP require_reply: hex, any reply, prefix match', () => {
  assert.equal(expectedReply(null), null);
  assert.deepEqual(expectedReply(''), Buffer.alloc(0));
  assert.deepEqual(expectedReply('de ad BE EF'), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  assert.deepEqual(expectedReply('pong'), Buffer.from('pong'));
  assert.equal(replyMatches(Buffer.from([0xde, 0xad]), Buffer.from([0xde, 0xad, 0xbe])), true);
  assert.equal(replyMatches(Buffer.from([0xde, 0xae]), Buffer.from([0xde, 0xad])), false);
});

test('buildRequest refuses a path or host holding CR, LF, another control or a blank: nothing can reach the wire', () => {
  for (const [path, host] of [['/x\r\nHost: evil.example', 'h'], ['/x', 'h\r\nX-Evil: 1'], ['/x\n', 'h'], ['/x y', 'h'], ['/x', 'h\u0000'], ['/x\u007f', 'h'], ['/x\ty', 'h']] as const) {
    assert.throws(() => buildRequest(path, '1.1', host), /refusing to send an HTTP request/, JSON.stringify([path, host]));
  }
  assert.equal(buildRequest('/a%20b?x=1', '1.1', '[2001:db8::1]:8080').split('\r\n')[0], 'GET /a%20b?x=1 HTTP/1.1');
});
