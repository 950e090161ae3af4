// The top level of a configuration file: keepalived's blocks and tandem's own, in the order
// the canonical writer puts them.
import type { Node } from '../ast.ts';
import type {
  Config, GlobalDefs, MetricsSettings, MqttSettings, NotifyProgramSettings, SerialConsoleSettings, SyncGroup, TrackFile, TrackProcess, VirtualServer,
  VrrpInstance, VrrpScript,
} from '../model.ts';
import { fieldPos, mark } from '../positions.ts';
import { ConfError, arg, shown } from '../values.ts';
import { quote } from '../words.ts';
import { blockIndex, create, refusalIndex, type Block } from './engine.ts';
import { directivesOf, refused } from './entries.ts';
import * as R from './reasons.ts';
import { GLOBAL } from './global.ts';
import { INSTANCE, virtualIp, writeVirtualIp } from './instance.ts';
import { routeLine, ruleLine, writeRoute, writeRule } from './routes.ts';
import { SCRIPT } from './script.ts';
import { SYNC_GROUP } from './sync-group.ts';
import { METRICS, MQTT, NOTIFY_PROGRAMS, SERIAL_CONSOLE } from './tandem.ts';
import { TRACK_FILE, TRACK_PROCESS } from './trackers.ts';
import { addressPort, VIRTUAL_SERVER } from './virtual-server.ts';

function name(n: Node, what: string): string {
  if (n.args.length !== 1) throw new ConfError(n.pos, `${what} needs exactly one name (got ${n.args.length} arguments)`);
  return n.args[0]!.text;
}

const E = directivesOf<Config>();

export const TOP: Block<Config> = {
  name: '',
  where: () => 'the top level',
  entries: [
    // Several global_defs blocks add up to one, as in keepalived.
    E.sub<GlobalDefs>({
      names: ['global_defs'], args: [0, 0], arity: 0, block: GLOBAL, example: 'global_defs {\n router_id lb-a\n}',
      defaults: {},
      open: (c, n) => {
        if (fieldPos(c, 'global') === undefined) c.global.pos = n.pos;
        mark(c, 'global', n.pos);
        return c.global;
      },
      close: () => { /* already in place */ },
      children: (c) => [c.global],
      head: () => ['global_defs'],
      omitEmpty: true,
    }),
    E.sub<VrrpScript>({
      names: ['vrrp_script'], args: [0, 1], arity: 1, block: SCRIPT, example: 'vrrp_script chk {\n script /bin/true\n}',
      defaults: { scripts: [] },
      open: (_c, n) => create(SCRIPT, { name: name(n, 'vrrp_script'), script: { argv: [], pos: n.pos }, pos: n.pos }),
      close: (c, s, n, ctx, refusedHere) => {
        // Kept (without a program) when refused lines may have held it, so track_script still resolves.
        if (fieldPos(s, 'script') === undefined && !refusedHere) {
          ctx.diags.push({ severity: 'error', message: `vrrp_script ${shown(s.name)} needs 'script'`, pos: n.pos });
          return;
        }
        c.scripts.push(s);
      },
      children: (c) => c.scripts,
      head: (s) => ['vrrp_script', quote(s.name)],
    }),
    // track_file NAME (keepalived 2.1's name; vrrp_track_file the older one, still read).
    E.sub<TrackFile>({
      names: ['track_file', 'vrrp_track_file'], args: [0, 1], arity: 1, block: TRACK_FILE,
      example: 'track_file tf {\n file /run/tandem/prio\n}',
      defaults: { trackFiles: [] },
      open: (_c, n) => create(TRACK_FILE, { name: name(n, n.keyword.text), pos: n.pos }),
      close: (c, f, n, ctx, refusedHere) => {
        if (fieldPos(f, 'file') === undefined && !refusedHere) {
          ctx.diags.push({ severity: 'error', message: `track_file ${shown(f.name)} needs 'file'`, pos: n.pos });
          return;
        }
        c.trackFiles.push(f);
      },
      children: (c) => c.trackFiles,
      head: (f) => ['track_file', quote(f.name)],
    }),
    E.sub<TrackProcess>({
      names: ['vrrp_track_process'], args: [0, 1], arity: 1, block: TRACK_PROCESS,
      example: 'vrrp_track_process tp {\n process nginx\n}',
      defaults: { trackProcesses: [] },
      open: (_c, n) => create(TRACK_PROCESS, { name: name(n, 'vrrp_track_process'), pos: n.pos }),
      close: (c, p, n, ctx, refusedHere) => {
        if (p.process.length === 0 && !refusedHere) {
          ctx.diags.push({ severity: 'error', message: `vrrp_track_process ${shown(p.name)} needs 'process'`, pos: n.pos });
          return;
        }
        c.trackProcesses.push(p);
      },
      children: (c) => c.trackProcesses,
      head: (p) => ['vrrp_track_process', quote(p.name)],
    }),
    E.sub<SyncGroup>({
      names: ['vrrp_sync_group'], args: [0, 1], arity: 1, block: SYNC_GROUP, example: 'vrrp_sync_group G {\n group {\n VI_1\n }\n}',
      defaults: { syncGroups: [] },
      open: (_c, n) => create(SYNC_GROUP, { name: name(n, 'vrrp_sync_group'), pos: n.pos }),
      close: (c, g, n, ctx, refusedHere) => {
        if (g.group.length === 0 && !refusedHere) ctx.diags.push({ severity: 'error', message: `vrrp_sync_group ${shown(g.name)} needs a group { } of vrrp_instance names`, pos: n.pos });
        c.syncGroups.push(g);
      },
      children: (c) => c.syncGroups,
      head: (g) => ['vrrp_sync_group', quote(g.name)],
    }),
    E.sub<VrrpInstance>({
      names: ['vrrp_instance'], args: [0, 1], arity: 1, block: INSTANCE,
      example: 'vrrp_instance VI_2 {\n interface eth1\n virtual_router_id 52\n}',
      defaults: { instances: [] },
      open: (_c, n) => create(INSTANCE, { name: name(n, 'vrrp_instance'), pos: n.pos }),
      close: (c, i, n, ctx, refusedHere) => {
        let ok = true;
        for (const [field, kw] of [['interface', 'interface'], ['virtualRouterId', 'virtual_router_id']] as const) {
          if (fieldPos(i, field) !== undefined) continue;
          ok = false;
          // A refused line may have held it (keepalived `@host` conditionals): the refusal says enough.
          if (!refusedHere) ctx.diags.push({ severity: 'error', message: `vrrp_instance ${shown(i.name)} needs '${kw}'`, pos: n.pos });
        }
        if (ok) c.instances.push(i);
      },
      children: (c) => c.instances,
      head: (i) => ['vrrp_instance', quote(i.name)],
    }),
    E.sub<VirtualServer>({
      names: ['virtual_server'], args: [1, 2], arity: 2, block: VIRTUAL_SERVER,
      example: 'virtual_server 192.0.2.100 443 {\n lb_algo rr\n}',
      defaults: { virtualServers: [] },
      open: (_c, n) => {
        const first = arg(n, 0);
        if (first.text === 'fwmark') throw new ConfError(first.pos, 'virtual_server fwmark is not supported: tandem balances ADDRESS PORT services only');
        if (first.text === 'group') throw new ConfError(first.pos, 'virtual_server group is not supported (virtual_server_group): write one virtual_server per address and port');
        const { address, port } = addressPort(n, 'virtual_server', null);
        const v = create(VIRTUAL_SERVER, { name: `${address} ${port}`, address, port, pos: n.pos });
        if (n.args[1]) mark(v, 'port', n.args[1].pos);
        return v;
      },
      close: (c, v) => { c.virtualServers.push(v); },
      children: (c) => c.virtualServers,
      head: (v) => ['virtual_server', v.address, String(v.port)],
    }),
    E.sub<MqttSettings>({
      names: ['mqtt'], args: [0, 0], arity: 0, block: MQTT, example: 'mqtt {\n url mqtt://192.0.2.5\n}',
      defaults: { mqtt: null },
      open: (c, n) => {
        if (c.mqtt !== null) throw new ConfError(n.pos, `mqtt block given twice (first at line ${c.mqtt.pos.line})`);
        return create(MQTT, { pos: n.pos });
      },
      close: (c, m, n) => {
        if (m.url === '') throw new ConfError(n.pos, 'mqtt needs url');
        c.mqtt = m;
      },
      children: (c) => (c.mqtt ? [c.mqtt] : []),
      head: () => ['mqtt'],
    }),
    E.sub<SerialConsoleSettings>({
      names: ['serial_console'], args: [0, 0], arity: 0, block: SERIAL_CONSOLE, example: 'serial_console {\n baud 57600\n}',
      defaults: { serialConsole: null },
      open: (c, n) => {
        if (c.serialConsole !== null) throw new ConfError(n.pos, `serial_console block given twice (first at line ${c.serialConsole.pos.line})`);
        return create(SERIAL_CONSOLE, { pos: n.pos });
      },
      close: (c, s) => { c.serialConsole = s; },
      children: (c) => (c.serialConsole ? [c.serialConsole] : []),
      head: () => ['serial_console'],
    }),
    // Prometheus text on /metrics (src/report/metrics-server.ts): off unless this block is given.
    E.sub<MetricsSettings>({
      names: ['metrics'], args: [0, 0], arity: 0, block: METRICS, example: 'metrics {\n listen 127.0.0.1:9650\n}',
      defaults: { metrics: null },
      open: (c, n) => {
        if (c.metrics !== null) throw new ConfError(n.pos, `metrics block given twice (first at line ${c.metrics.pos.line})`);
        return create(METRICS, { pos: n.pos });
      },
      close: (c, m, n) => {
        if (m.listen.length === 0) throw new ConfError(n.pos, 'metrics needs at least one listen ADDRESS:PORT');
        c.metrics = m;
      },
      children: (c) => (c.metrics ? [c.metrics] : []),
      head: () => ['metrics'],
    }),
    E.sub<NotifyProgramSettings>({
      names: ['notify_programs'], args: [0, 0], arity: 0, block: NOTIFY_PROGRAMS, example: 'notify_programs {\n timeout 30\n}',
      defaults: { notifyPrograms: null },
      open: (c, n) => {
        if (c.notifyPrograms !== null) throw new ConfError(n.pos, `notify_programs block given twice (first at line ${c.notifyPrograms.pos.line})`);
        return create(NOTIFY_PROGRAMS, { pos: n.pos });
      },
      close: (c, s) => { c.notifyPrograms = s; },
      children: (c) => (c.notifyPrograms ? [c.notifyPrograms] : []),
      head: () => ['notify_programs'],
    }),
    refused('virtual_server_group', R.VS_GROUPS, { block: 1 }),
    // Set at start on either board whatever its state, removed at stop (keepalived vrrp_daemon.c).
    E.list('static_ipaddress', 'staticIps', {
      example: 'static_ipaddress {\n 192.0.2.10/24 dev eth0\n}', atomic: true, item: virtualIp, write: writeVirtualIp,
    }),
    E.list('static_routes', 'staticRoutes', {
      example: 'static_routes {\n 198.51.100.0/24 via 192.0.2.254 dev eth0\n}', atomic: true, item: routeLine, write: writeRoute,
    }),
    E.list('static_rules', 'staticRules', {
      example: 'static_rules {\n from 192.0.2.0/24 table 100 preference 100\n}', atomic: true, item: ruleLine, write: writeRule,
    }),
    refused('bfd_instance', R.BFD, { block: 1 }),
    refused('track_group', R.TRACK_GROUP, { block: 1 }),
    refused('garp_group', R.GARP_GROUP, { block: 0 }),
    refused(['linkbeat_interfaces', 'interface_up_down_delays'], R.LINKS, { block: 0 }),
    refused('linkbeat_use_polling', R.LINKS),
    refused('SSL', R.SSL_CLIENT, { block: 0 }),
    refused(['net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets'], R.NAMESPACE),
    refused(['use_pid_dir', 'instance', 'child_wait_time'], R.PROCESSES),
  ],
};

const ERASED = TOP as unknown as Block<object>;

/** Every refused keyword's reason, whichever block it is met in. */
export const REFUSALS: ReadonlyMap<string, string> = refusalIndex(ERASED);

/** Block keyword → parent block keyword ('' = top level) → how many words name it. */
export const BLOCKS: ReadonlyMap<string, ReadonlyMap<string, number>> = blockIndex(ERASED);
