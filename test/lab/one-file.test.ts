// One keepalived.conf for both boards (keepalived's configuration language, src/config/language.ts)
// and a console that keeps the file its user wrote (src/config/source-edit.ts), against real
// daemons in the lab:
//  - the same file, with `@a`/`@b` lines, `$` parameters and a multi-line definition, runs board
//    a (config id from --config-id) as MASTER and board b (config id from its state directory)
//    as BACKUP, and b takes over when a stops;
//  - a console commit on board a rewrites only its own lines: comments, an include, `$`
//    definitions and board b's lines stay byte for byte; a change to a line both boards read is
//    refused naming FILE:LINE, and nothing is saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLab, LAB_ADDR } from './lab.ts';
import { ctlSession } from './control-session.ts';
import { waitHolder } from './vrrp-helpers.ts';

const STARTED = /Entering (BACKUP|MASTER|FAULT) STATE/;

/** Both instances from one multi-line definition, per-board values from @ lines. */
const PAIR = `! One file for both boards of the pair: tandem run --config-id a | b
@a $PRIO=150
@b $PRIO=100

global_defs {
@a  router_id lb-a
@b  router_id lb-b
    vrrp_garp_master_delay 5
}

vrrp_sync_group G_LB {
    group {
        VI_PUB
        VI_PRIV
    }
}

$INSTANCE= \\
vrrp_instance VI_\${NAME} { \\
    interface \${DEV} \\
    virtual_router_id \${VRID} \\
    priority $PRIO \\
    advert_int 0.5 \\
    version 3 \\
    virtual_ipaddress { \\
        \${VIP}/24 \\
    } \\
}

$NAME=PUB
$DEV=eth0
$VRID=51
$VIP=${LAB_ADDR.publicVip}
$INSTANCE

$NAME=PRIV
$DEV=eth1
$VRID=52
$VIP=${LAB_ADDR.privateVip}
$INSTANCE
`;

test('one file with @a/@b lines runs both boards: a from --config-id, b from its state directory', { timeout: 120_000 }, async (t) => {
  const lab = await withLab(t, { name: 'one-file-pair', realServers: 0 });
  const a = await lab.startBoard('a', PAIR, { waitForLog: STARTED, args: ['--config-id', 'a'] });
  const b = await lab.startBoard('b', PAIR, { waitForLog: STARTED, files: { 'state/config-id': 'b\n' } });
  await waitHolder(lab, 'a', 20_000);
  assert.match((await a.ctl(['show', 'status'])).stdout, /^config-id +a \(--config-id\)$/m);
  const sb = (await b.ctl(['show', 'status'])).stdout;
  assert.match(sb, /^config-id +b \(state directory\)$/m);
  assert.match(sb, /^node +lb-b\b/m, "b runs its own @b router_id");
  assert.match(sb, /^vrrp +VI_PUB BACKUP prio 100$/m);
  assert.match((await a.ctl(['show', 'status'])).stdout, /^vrrp +VI_PUB MASTER prio 150$/m);
  // The pair works as a pair: b takes both VIPs when a stops.
  await lab.stopBoard('a');
  await waitHolder(lab, 'b', 20_000);
});

const COMMON = `! Shared by both boards: the commit on one board leaves it alone.
vrrp_script chk_true {
    script /bin/true
    interval 1
}
`;

const OWN = `! lb pair: one file for both boards
@a $GARP=5
@b $GARP=4

global_defs {
@a  router_id lb-a          # also the MQTT node name
@b  router_id lb-b
    vrrp_garp_master_delay $GARP
}

include common.conf

vrrp_instance VI_PUB {
    interface eth0
    virtual_router_id 51
@a  priority 150            ! the higher wins
@b  priority 100
    advert_int 0.5
    version 3
    track_script {
        chk_true
    }
    virtual_ipaddress {
        ${LAB_ADDR.publicVip}/24
    }
}
`;

test("a console commit on board a keeps comments, the include, $ definitions and b's lines byte for byte", { timeout: 120_000 }, async (t) => {
  const lab = await withLab(t, { name: 'one-file-commit', realServers: 0 });
  const a = await lab.startBoard('a', OWN, { waitForLog: STARTED, args: ['--config-id', 'a'], files: { 'common.conf': COMMON } });
  await lab.waitFor(() => existsSync(a.controlSocket), { what: 'the control socket' });
  const replies = await ctlSession(a.controlSocket, [
    'configure',
    'set vrrp_instance VI_PUB priority 160',
    'set vrrp_instance VI_PUB preempt_delay 1',
    'show diff',
    'commit',
  ]);
  for (const r of replies) assert.ok(r.ok, r.output);
  assert.match(replies[3]!.output, /\n-@a {2}priority 150 {12}! the higher wins\n\+@a {2}priority 160 {12}! the higher wins\n/);
  const expected = OWN.replace('@a  priority 150            ! the higher wins', '@a  priority 160            ! the higher wins')
    .replace(`        ${LAB_ADDR.publicVip}/24\n    }\n}\n`, `        ${LAB_ADDR.publicVip}/24\n    }\n    @a preempt_delay 1\n}\n`);
  assert.equal(await readFile(a.configPath, 'utf8'), expected);
  assert.equal(await readFile(join(a.dir, 'common.conf'), 'utf8'), COMMON, 'the included file is untouched');
  assert.equal(await readFile(a.configPath + '.prev', 'utf8'), OWN, 'the previous file is kept');
  // Applied: the running daemon has the new priority, and shows the file as saved.
  await lab.waitFor(async () => /^vrrp +VI_PUB \S+ prio 160$/m.test((await a.ctl(['show', 'status'])).stdout), { what: 'priority 160 applied' });
  assert.equal((await a.ctl(['show', 'running-config'])).stdout, expected);

  // A line both boards read is refused with its FILE:LINE; nothing is saved.
  const refused = await ctlSession(a.controlSocket, ['configure', 'set vrrp_instance VI_PUB advert_int 1', 'commit']);
  assert.equal(refused[2]!.ok, false);
  assert.equal(refused[2]!.output, `% commit refused (the candidate is kept): ${a.configPath}:18 (advert_int) is read by every board (it has no '@ID' prefix): edit it by hand\n`);
  assert.equal(await readFile(a.configPath, 'utf8'), expected);
});
