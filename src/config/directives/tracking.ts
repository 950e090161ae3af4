// Tracking, shared by vrrp_instance and vrrp_sync_group (keepalived.conf(5): track_interface,
// track_script; keepalived/vrrp/vrrp_parser.c). The keywords are written here once; each of
// the two tables instantiates them for its own type.
import type { TrackInterface, TrackScript } from '../model.ts';
import { ConfError, int, shown } from '../values.ts';
import { quote } from '../words.ts';
import type { Directive } from './engine.ts';
import { directivesOf, refused } from './entries.ts';
import { BFD, TRACK_FILE, TRACK_PROCESS } from './reasons.ts';

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

/** Tracking keepalived has and tandem refuses, in an instance or a sync group. */
export const REFUSED_TRACKING: readonly Directive<object>[] = [
  refused('track_bfd', BFD, { block: 0 }),
  refused('track_file', TRACK_FILE, { block: 0 }),
  refused('track_process', TRACK_PROCESS, { block: 0 }),
];
