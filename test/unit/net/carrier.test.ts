// CarrierReader: one kept descriptor per interface, re-read from offset 0. A temporary directory
// stands in for /sys/class/net (a regular file re-read at 0 shows its new content, as a sysfs
// attribute does); the kernel's own answers (EINVAL while down, ENODEV once removed) are the
// lab's (link state and VMAC tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarrierReader } from '../../../src/net/carrier.ts';

test('carrier: 1 is up, anything else or no such interface is down; the same descriptor sees changes; a missing interface is looked for again', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tandem-carrier-'));
  const r = new CarrierReader(root);
  t.after(async () => { r.close(); await rm(root, { recursive: true, force: true }); });
  await mkdir(join(root, 'eth0'));
  await writeFile(join(root, 'eth0', 'carrier'), '1\n');
  assert.equal(await r.up('eth0'), true);
  await writeFile(join(root, 'eth0', 'carrier'), '0\n');
  assert.equal(await r.up('eth0'), false, 'changed content, same descriptor');
  await writeFile(join(root, 'eth0', 'carrier'), '1\n');
  const both = await Promise.all([r.up('eth0'), r.up('eth0')]);
  assert.deepEqual(both, [true, true], 'two questions in flight at once');
  assert.equal(await r.up('eth1'), false, 'no such interface');
  await mkdir(join(root, 'eth1'));
  await writeFile(join(root, 'eth1', 'carrier'), '1\n');
  assert.equal(await r.up('eth1'), true, 'it appeared: opened now');
  assert.equal(await r.up('../eth0'), false, 'never a path');
  r.close();
  assert.equal(await r.up('eth0'), false, 'closed');
});
