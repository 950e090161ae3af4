// The LED driver against a temp directory standing in for /sys/class/leds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedDriver } from '../../../src/board/leds.ts';
import type { StatusLeds } from '../../../src/board/profile.ts';

async function sysfs(): Promise<{ dir: string; led: (n: string) => string; read: (n: string, f: string) => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-leds-'));
  const led = (n: string) => join(dir, n);
  const read = async (n: string, f: string) => (await readFile(join(dir, n, f), 'utf8')).trim();
  return { dir, led, read };
}

test('one LED: MASTER on at max_brightness, BACKUP slow blink, FAULT fast blink, INIT off', async () => {
  const s = await sysfs();
  try {
    await mkdir(s.led('red:sys'));
    await writeFile(join(s.led('red:sys'), 'max_brightness'), '255\n');
    const leds: StatusLeds = {
      MASTER: { led: s.led('red:sys'), mode: 'on' },
      BACKUP: { led: s.led('red:sys'), mode: 'blink-slow' },
      FAULT: { led: s.led('red:sys'), mode: 'blink-fast' },
      INIT: { led: s.led('red:sys'), mode: 'off' },
    };
    const d = createLedDriver({ statusLeds: leds });
    assert.equal(d.current, null);
    await d.show('MASTER');
    assert.equal(await s.read('red:sys', 'trigger'), 'none');
    assert.equal(await s.read('red:sys', 'brightness'), '255');
    await d.show('BACKUP');
    assert.equal(await s.read('red:sys', 'trigger'), 'timer');
    assert.equal(await s.read('red:sys', 'delay_on'), '1000');
    assert.equal(await s.read('red:sys', 'delay_off'), '1000');
    await d.show('FAULT');
    assert.equal(await s.read('red:sys', 'delay_on'), '100');
    await d.show('INIT');
    assert.equal(await s.read('red:sys', 'trigger'), 'none');
    assert.equal(await s.read('red:sys', 'brightness'), '0');
    assert.equal(d.current, 'INIT');
    assert.equal(d.errors, 0);
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});

test('separate LEDs: only the state\'s LED is lit, the others are switched off', async () => {
  const s = await sysfs();
  try {
    for (const n of ['green', 'amber', 'red']) await mkdir(s.led(n));
    const d = createLedDriver({ statusLeds: {
      MASTER: { led: s.led('green'), mode: 'on' },
      BACKUP: { led: s.led('amber'), mode: 'on' },
      FAULT: { led: s.led('red'), mode: 'blink-fast' },
    } });
    await d.show('MASTER');
    assert.equal(await s.read('green', 'brightness'), '1'); // no max_brightness file: 1
    assert.equal(await s.read('amber', 'brightness'), '0');
    assert.equal(await s.read('red', 'brightness'), '0');
    await d.show('FAULT');
    assert.equal(await s.read('green', 'brightness'), '0');
    assert.equal(await s.read('red', 'trigger'), 'timer');
    // INIT without an INIT entry: everything off.
    await d.show('INIT');
    assert.equal(await s.read('red', 'trigger'), 'none');
    for (const n of ['green', 'amber', 'red']) assert.equal(await s.read(n, 'brightness'), '0');
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});

test('rapid changes end in the last state (writes are serialised)', async () => {
  const s = await sysfs();
  try {
    for (const n of ['a', 'b']) await mkdir(s.led(n));
    const d = createLedDriver({ statusLeds: { MASTER: { led: s.led('a'), mode: 'on' }, BACKUP: { led: s.led('b'), mode: 'on' }, FAULT: { led: s.led('b'), mode: 'blink-fast' } } });
    const all = [d.show('MASTER'), d.show('BACKUP'), d.show('MASTER'), d.show('BACKUP')];
    await Promise.all(all);
    assert.equal(await s.read('a', 'brightness'), '0');
    assert.equal(await s.read('b', 'brightness'), '1');
    assert.equal(await s.read('b', 'trigger'), 'none');
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});

test('a missing or unwritable LED is counted, not thrown', async () => {
  const s = await sysfs();
  try {
    const d = createLedDriver({ statusLeds: { MASTER: { led: s.led('gone'), mode: 'on' }, BACKUP: { led: s.led('gone'), mode: 'off' }, FAULT: { led: s.led('gone'), mode: 'blink-slow' } } });
    await d.show('MASTER');
    assert.ok(d.errors >= 1);
    assert.match(d.lastError ?? '', /gone/);
    // The driver keeps working after a failure.
    await mkdir(s.led('gone'));
    const before = d.errors;
    await d.show('MASTER');
    assert.equal(d.errors, before);
    assert.equal(await s.read('gone', 'brightness'), '1');
  } finally {
    await rm(s.dir, { recursive: true, force: true });
  }
});

test('a board without LEDs gets a no-op driver', async () => {
  const d = createLedDriver({ statusLeds: null });
  await d.show('MASTER');
  await d.show('FAULT');
  assert.equal(d.current, 'FAULT');
  assert.equal(d.errors, 0);
});
