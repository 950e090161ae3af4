// Tracking, shared by vrrp_instance and vrrp_sync_group (keepalived.conf(5): track_interface,
// track_script, track_file, track_process; keepalived/vrrp/vrrp_parser.c, trackers/track_file.c).
// The keywords are written here once; each of the two tables instantiates them for its own type.
import type { Node } from '../ast.ts';
import type { TrackInterface, TrackRef, TrackScript } from '../model.ts';
import { ConfError, int, shown } from '../values.ts';
import { quote } from '../words.ts';
import type { Directive } from './engine.ts';
import { directivesOf, refused } from './entries.ts';
import { BFD } from './reasons.ts';

export function trackInterface<T extends { trackInterfaces: TrackInterface[] }>(): Directive<T> {
  return directivesOf<T>().list('track_interface', 'trackInterfaces', {
    example: 'track_interface {\n eth1\n eth2 weight -10\n}',
    atomic: true,
    item: (c) => {
      if (c.children !== null) throw new ConfError(c.pos, 'track_interface: no { } block expected');
      let weight = 0;
      if (c.args.length === 2 && c.args[0]!.text === 'weight') weight = int(c.args[1]!, 'track_interface weight', -254, 254);
      else if (c.args.length > 0) throw new ConfError(c.args[0]!.pos, `track_interface: expected 'NAME [weight N]', got '${shown(c.args[0]!.text)}'`);
      return { name: c.keyword.text, weight, pos: c.pos };
    },
    // weight 0 (the default) means a link down puts the instance in FAULT.
    write: (t) => [quote(t.name), ...(t.weight !== 0 ? ['weight', String(t.weight)] : [])],
  });
}

export function trackScript<T extends { trackScripts: TrackScript[] }>(): Directive<T> {
  return directivesOf<T>().list('track_script', 'trackScripts', {
    example: 'track_script {\n chk_a weight 10\n chk_b\n}',
    atomic: true,
    item: (c) => {
      if (c.children !== null) throw new ConfError(c.pos, 'track_script: no { } block expected');
      let weight: number | null = null;
      if (c.args.length === 2 && c.args[0]!.text === 'weight') weight = int(c.args[1]!, 'track_script weight', -254, 254);
      else if (c.args.length > 0) throw new ConfError(c.args[0]!.pos, `track_script: expected 'NAME [weight N]', got '${shown(c.args[0]!.text)}'`);
      return { name: c.keyword.text, weight, pos: c.pos };
    },
    // weight null uses the vrrp_script's own weight.
    write: (t) => [quote(t.name), ...(t.weight !== null ? ['weight', String(t.weight)] : [])],
  });
}

/**
 * `NAME [weight N [reverse|noreverse]]`, a line of track_file { } or track_process { }
 * (keepalived vrrp_alloc_track_file / alloc_track_process: weight -254..254; without a weight
 * the tracked block's own weight and reverse apply).
 */
function trackRef(kw: string): (c: Node) => TrackRef {
  return (c) => {
    if (c.children !== null) throw new ConfError(c.pos, `${kw}: no { } block expected`);
    let weight: number | null = null;
    let reverse: boolean | null = null;
    const [w, n, r, ...more] = c.args;
    if (w !== undefined) {
      if (w.text !== 'weight' || n === undefined || more.length > 0) throw new ConfError(w.pos, `${kw}: expected 'NAME [weight N [reverse|noreverse]]', got '${shown(w.text)}'`);
      weight = int(n, `${kw} weight`, -254, 254);
      if (r !== undefined) {
        if (r.text !== 'reverse' && r.text !== 'noreverse') throw new ConfError(r.pos, `${kw} weight: '${shown(r.text)}' is not reverse or noreverse`);
        reverse = r.text === 'reverse';
      }
    }
    return { name: c.keyword.text, weight, reverse, pos: c.pos };
  };
}

function writeTrackRef(t: TrackRef): string[] {
  if (t.weight === null) return [quote(t.name)];
  return [quote(t.name), 'weight', String(t.weight), ...(t.reverse === null ? [] : [t.reverse ? 'reverse' : 'noreverse'])];
}

/** track_file { NAME [weight N [reverse]] … }: files of track_file blocks (the number in each). */
export function trackFile<T extends { trackFiles: TrackRef[] }>(): Directive<T> {
  return directivesOf<T>().list('track_file', 'trackFiles', {
    example: 'track_file {\n tf_a weight 5 reverse\n tf_b\n}',
    atomic: true,
    item: trackRef('track_file'),
    write: writeTrackRef,
  });
}

/** track_process { NAME [weight N [reverse]] … }: vrrp_track_process blocks. */
export function trackProcess<T extends { trackProcesses: TrackRef[] }>(): Directive<T> {
  return directivesOf<T>().list('track_process', 'trackProcesses', {
    example: 'track_process {\n tp_a weight -10\n tp_b\n}',
    atomic: true,
    item: trackRef('track_process'),
    write: writeTrackRef,
  });
}

/** Tracking keepalived has and tandem refuses, in an instance or a sync group. */
export const REFUSED_TRACKING: readonly Directive<object>[] = [
  refused('track_bfd', BFD, { block: 0 }),
];
