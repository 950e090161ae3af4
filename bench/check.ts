// Figures: `tandem check` (checkFile) on a 1,000-virtual-server configuration with
// 8 real servers each (TCP_CHECK), plus parse and canonical write on their own.
// Prints one JSON object, then a one-line summary. Figures, not a test.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFile, loadConfigFile, writeConfig } from '../src/config/index.ts';

const VS = 1000;
const RS = 8;

function generate(): string {
  const out: string[] = [
    'global_defs {\n  router_id bench\n}',
    'vrrp_instance PUBLIC {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}',
  ];
  for (let v = 0; v < VS; v++) {
    const rs: string[] = [];
    for (let r = 0; r < RS; r++) {
      rs.push(`  real_server 198.51.100.${10 + r} ${10000 + v} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }`);
    }
    out.push(`virtual_server 203.0.113.${1 + (v % 250)} ${1000 + v} {\n  delay_loop 6\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${rs.join('\n')}\n}`);
  }
  return out.join('\n') + '\n';
}

function time<T>(fn: () => T, runs = 5): { ms: number; value: T } {
  let best = Infinity;
  let value!: T; // assigned on the first run
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    value = fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms < best) best = ms;
  }
  return { ms: best, value };
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-check-'));
try {
  const file = join(dir, 'big.conf');
  writeFileSync(file, generate());
  const bytes = statSync(file).size;
  const check = time(() => checkFile(file));
  if (!check.value.ok) throw new Error(`generated file does not check: ${check.value.lines.slice(0, 3).join('; ')}`);
  const load = time(() => loadConfigFile(file));
  const config = load.value.config!;
  const write = time(() => writeConfig(config));
  const result = {
    bench: 'config-check',
    virtualServers: VS,
    realServersPerVs: RS,
    fileBytes: bytes,
    checkFileMs: Math.round(check.ms * 10) / 10,
    parseAndBuildMs: Math.round(load.ms * 10) / 10,
    writeConfigMs: Math.round(write.ms * 10) / 10,
    writtenBytes: Buffer.byteLength(write.value),
    rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    node: process.version,
  };
  console.log(JSON.stringify(result));
  console.log(`tandem check: ${VS} virtual servers x ${RS} real servers (${(bytes / 1024).toFixed(0)} KiB) in ${result.checkFileMs} ms; write ${result.writeConfigMs} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
