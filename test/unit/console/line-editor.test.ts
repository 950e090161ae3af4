import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineEditor, type EditorEvent } from '../../../src/console/line-editor.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const linesOf = (ev: EditorEvent[]): string[] => ev.flatMap((e) => (e.kind === 'line' ? [e.text] : []));
const echoOf = (ev: EditorEvent[]): string => ev.map((e) => (e.kind === 'echo' ? e.data : '')).join('');

test('CR, LF and CR LF each end one line; LF CR too', () => {
  const ed = new LineEditor();
  assert.deepEqual(linesOf(ed.feed(b('a\rb\nc\r\nd\n\re\r\r'))), ['a', 'b', 'c', 'd', 'e', '']);
});

test('a CR LF split across two reads is still one Enter', () => {
  const ed = new LineEditor();
  assert.deepEqual(linesOf(ed.feed(b('show\r'))), ['show']);
  assert.deepEqual(linesOf(ed.feed(b('\nx\r'))), ['x']);
});

test('printable echo, backspace and DEL edit the line', () => {
  const ed = new LineEditor();
  const ev = ed.feed(b('shx\x7fow\x08w'));
  assert.equal(ed.line, 'show');
  assert.equal(echoOf(ev), 'shx\b \bow\b \bw');
  assert.equal(echoOf(ed.feed(b('\x7f\x7f\x7f\x7f\x7f'))), '\b \b'.repeat(4)); // nothing past the start
});

test('left/right arrows and insertion in the middle redraw the tail', () => {
  const ed = new LineEditor();
  ed.feed(b('shw'));
  const ev = ed.feed(b('\x1b[Do'));
  assert.equal(ed.line, 'show');
  assert.equal(echoOf(ev), '\bow\b');
  ed.feed(b('\x1b[C\x1b[3~')); // right, then delete under cursor (none left)
  assert.equal(ed.line, 'show');
  ed.feed(b('\x01\x1b[3~')); // home, delete 's'
  assert.equal(ed.line, 'how');
});

test('Ctrl-C cancels the line, Ctrl-U kills before the cursor, Ctrl-W a word', () => {
  const ed = new LineEditor();
  const ev = ed.feed(b('show vr\x03'));
  assert.deepEqual(ev.map((e) => e.kind), ['echo', 'interrupt']);
  assert.equal(ed.line, '');
  ed.feed(b('abc def\x17'));
  assert.equal(ed.line, 'abc ');
  ed.feed(b('\x15'));
  assert.equal(ed.line, '');
});

test('Ctrl-D logs out only on an empty line', () => {
  const ed = new LineEditor();
  assert.deepEqual(ed.feed(b('ab\x01\x04')).map((e) => e.kind), ['echo']);
  assert.equal(ed.line, 'b');
  ed.feed(b('\x05\x15'));
  assert.deepEqual(ed.feed(b('\x04')).map((e) => e.kind), ['eof']);
});

test('history: up and down walk previous lines and come back to the draft', () => {
  const ed = new LineEditor();
  ed.feed(b('one\rtwo\r'));
  ed.feed(b('dr'));
  ed.feed(b('\x1b[A'));
  assert.equal(ed.line, 'two');
  ed.feed(b('\x1bOA'));
  assert.equal(ed.line, 'one');
  assert.equal(echoOf(ed.feed(b('\x1b[A'))), '\x07'); // no older entry
  ed.feed(b('\x1b[B\x1b[B'));
  assert.equal(ed.line, 'dr');
});

test('line length is bounded: excess dropped with a single bell', () => {
  const ed = new LineEditor({ maxLength: 10 });
  const ev = ed.feed(Buffer.alloc(1_000_000, 0x61));
  assert.equal(ed.line.length, 10);
  assert.equal(echoOf(ev), 'a'.repeat(10) + '\x07');
  assert.deepEqual(linesOf(ed.feed(b('\r'))), ['a'.repeat(10)]);
  assert.ok(ed.dropped >= 999_990);
});

test('binary noise and unknown escape sequences are dropped, never thrown', () => {
  const ed = new LineEditor();
  const noise = Buffer.alloc(65536);
  let seed = 12345;
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    noise[i] = (seed >>> 16) & 0xff;
  }
  const ev = ed.feed(noise);
  for (const e of ev) if (e.kind === 'line') assert.match(e.text, /^[\x20-\x7e]*$/);
  ed.feed(b('\x03'));
  ed.feed(b('\x1b[99;99zok\x1bXq\x00\x80\xff'));
  assert.equal(ed.line, 'okq');
});

test('password mode: no echo and no history', () => {
  const ed = new LineEditor();
  ed.setPrompt('Password: ', true);
  const ev = ed.feed(b('secret\x7fT\r'));
  assert.equal(echoOf(ev), '\r\n');
  assert.deepEqual(linesOf(ev), ['secreT']);
  ed.setPrompt('> ');
  ed.feed(b('\x1b[A'));
  assert.equal(ed.line, '');
});

test('tab asks the completion callback and lists several candidates', () => {
  const ed = new LineEditor({
    complete: (line) => (line === 'sh' ? { line: 'show ', candidates: ['show'] } : { line: line + 'v', candidates: ['vrrp', 'version'] }),
  });
  ed.setPrompt('> ');
  ed.feed(b('sh\t'));
  assert.equal(ed.line, 'show ');
  const ev = ed.feed(b('\t'));
  assert.equal(ed.line, 'show v');
  assert.match(echoOf(ev), /vrrp {2}version\r\n\r> show v/);
});
