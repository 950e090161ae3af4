// The tracked objects that instances and sync groups name in track_file { } and
// track_process { }: track_file NAME { … } (vrrp_track_file is keepalived's older name for the
// same block; keepalived/trackers/track_file.c) and vrrp_track_process NAME { … }
// (keepalived.conf(5) "VRRP track processes"; keepalived/vrrp/vrrp_parser.c vrrp_tprocess_*).
import type { TrackFile, TrackProcess } from '../model.ts';
import { mark } from '../positions.ts';
import { ConfError, arg, int, oneOf, seconds, shown } from '../values.ts';
import { quote } from '../words.ts';
import type { Block } from './engine.ts';
import { directivesOf } from './entries.ts';
import { integer, SECONDS } from './kinds.ts';

const F = directivesOf<TrackFile>();

export const TRACK_FILE: Block<TrackFile> = {
  name: 'track_file',
  where: (f) => `track_file ${shown(f.name)}`,
  entries: [
    F.scalar('file', 'file', { read: (t) => t.text, write: (s) => quote(s) }, '', {
      example: 'file /run/tandem/prio', always: true,
      check: (v) => (v.startsWith('/') ? [] : [{ severity: 'error', message: `track_file file '${shown(v)}' is not an absolute path` }]),
    }),
    // keepalived: weight defaults to 1 (the file's number is the weight itself); -254..254.
    F.custom({
      names: ['weight'], args: [1, 2], shape: 'none', defaults: { weight: 1, weightReverse: false },
      example: 'weight -2 reverse',
      read(f, n) {
        f.weight = int(arg(n, 0), 'weight', -254, 254);
        if (n.args[1] !== undefined) { oneOf(n.args[1], 'weight', ['reverse']); f.weightReverse = true; }
        mark(f, 'weight', n.pos);
      },
      write(f, out) {
        if (f.weight !== 1 || f.weightReverse) out.line('weight', String(f.weight), ...(f.weightReverse ? ['reverse'] : []));
      },
    }),
    // init_file [VALUE] [overwrite]: VALUE (default 0) written at start when the file is missing, or always with overwrite.
    F.custom({
      names: ['init_file'], args: [0, 2], shape: 'none', defaults: { initFile: null },
      example: 'init_file 5 overwrite',
      read(f, n) {
        let value = 0;
        let overwrite = false;
        for (const a of n.args) {
          if (a.text === 'overwrite') overwrite = true;
          else value = int(a, 'init_file', -254, 254);
        }
        f.initFile = { value, overwrite };
        mark(f, 'initFile', n.pos);
      },
      write(f, out) {
        const i = f.initFile;
        if (i) out.line('init_file', String(i.value), ...(i.overwrite ? ['overwrite'] : []));
      },
    }),
  ],
};

const P = directivesOf<TrackProcess>();

const delay = (v: number): Array<{ severity: 'error'; message: string }> =>
  (v < 0 || v > 3_600_000 ? [{ severity: 'error', message: 'delays are 0-3600 s' }] : []);

export const TRACK_PROCESS: Block<TrackProcess> = {
  name: 'vrrp_track_process',
  where: (p) => `vrrp_track_process ${shown(p.name)}`,
  entries: [
    // process NAME [PARAM…]: with parameters, argv of /proc/PID/cmdline is matched (keepalived
    // sets full_command and param_match exact then).
    P.custom({
      // Empty until given: a block without it is refused by its closer (top.ts).
      names: ['process'], args: [1, 1000], shape: 'none', defaults: { process: [] },
      example: 'process haproxy -f /etc/haproxy.cfg',
      read(p, n) {
        p.process = n.args.map((a) => a.text);
        if (p.process[0] === '') throw new ConfError(n.pos, 'process: the name is empty');
        if (p.process.length > 1) {
          if (p.paramMatch === 'none') p.paramMatch = 'exact';
          p.fullCommand = true;
        }
        mark(p, 'process', n.pos);
      },
      write(p, out) { if (p.process.length > 0) out.line('process', ...p.process.map((w) => quote(w))); },
    }),
    P.custom({
      names: ['param_match'], args: [0, 1], shape: 'none', defaults: { paramMatch: 'none' },
      example: 'param_match initial',
      read(p, n) {
        p.paramMatch = n.args[0] === undefined ? 'exact' : oneOf(n.args[0], 'param_match', ['initial', 'partial']);
        p.fullCommand = true;
        mark(p, 'paramMatch', n.pos);
      },
      write(p, out) {
        // Given parameters imply exact; written only when it says more.
        if (p.paramMatch === 'none' || (p.paramMatch === 'exact' && p.process.length > 1)) return;
        out.line(...(p.paramMatch === 'exact' ? ['param_match'] : ['param_match', p.paramMatch]));
      },
    }),
    P.custom({
      names: ['weight'], args: [1, 2], shape: 'none', defaults: { weight: 0, weightReverse: false },
      example: 'weight 10 reverse',
      read(p, n) {
        p.weight = int(arg(n, 0), 'weight', -254, 254);
        if (n.args[1] !== undefined) { oneOf(n.args[1], 'weight', ['reverse']); p.weightReverse = true; }
        mark(p, 'weight', n.pos);
      },
      write(p, out) {
        if (p.weight !== 0 || p.weightReverse) out.line('weight', String(p.weight), ...(p.weightReverse ? ['reverse'] : []));
      },
    }),
    P.scalar('quorum', 'quorum', integer(1, 65535), 1, { example: 'quorum 2' }),
    // quorum_max 0: up only while no such process runs (keepalived sets quorum 0 then).
    P.scalar('quorum_max', 'quorumMax', integer(0, 65535), null, {
      example: 'quorum_max 3',
      check: (v, p) => (v !== null && v !== 0 && v < p.quorum ? [{ severity: 'error', message: `quorum_max ${v} is less than quorum ${p.quorum}` }] : []),
    }),
    P.scalar('fork_delay', 'forkDelayMs', SECONDS, 0, { example: 'fork_delay 0.5', check: delay }),
    P.scalar('terminate_delay', 'terminateDelayMs', SECONDS, 0, { example: 'terminate_delay 2', check: delay }),
    // delay: both at once; written back as the two.
    P.custom({
      names: ['delay'], args: [1, 1], shape: 'none', defaults: { forkDelayMs: 0, terminateDelayMs: 0 },
      example: 'delay 1.5',
      read(p, n) {
        p.forkDelayMs = p.terminateDelayMs = seconds(n.args[0]!, 'delay');
        mark(p, 'forkDelayMs', n.pos);
        mark(p, 'terminateDelayMs', n.pos);
      },
      write() { /* fork_delay and terminate_delay write it */ },
    }),
    P.flag('full_command', 'fullCommand', { example: 'full_command' }),
  ],
};
