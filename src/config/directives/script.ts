// vrrp_script NAME { … } (keepalived.conf(5) "VRRP script(s)"; keepalived/vrrp/vrrp_parser.c).
import type { VrrpScript } from '../model.ts';
import { mark } from '../positions.ts';
import { arg, int, oneOf, shown } from '../values.ts';
import type { Block } from './engine.ts';
import { directivesOf } from './entries.ts';
import { integer, SECONDS } from './kinds.ts';

const E = directivesOf<VrrpScript>();

const positive = (what: string) => (v: number) => (v > 0 ? [] : [{ severity: 'error' as const, message: `${what} must be greater than 0` }]);

export const SCRIPT: Block<VrrpScript> = {
  name: 'vrrp_script',
  where: (s) => `vrrp_script ${shown(s.name)}`,
  entries: [
    E.command('script', 'script', 'script "/usr/bin/pgrep -x \'nginx master\'"', { required: true }),
    E.scalar('interval', 'intervalMs', SECONDS, 1000, { example: 'interval 2', check: positive('interval') }),
    // keepalived: timeout defaults to the interval.
    E.scalar('timeout', 'timeoutMs', SECONDS, 1000, { example: 'timeout 1.5', inherit: (s) => s.intervalMs, check: positive('timeout') }),
    E.custom({
      names: ['weight'], args: [1, 2], shape: 'none', defaults: { weight: 0, weightReverse: false },
      example: 'weight -20 reverse',
      read(s, n) {
        s.weight = int(arg(n, 0), 'weight', -254, 254);
        if (n.args[1] !== undefined) { oneOf(n.args[1], 'weight', ['reverse']); s.weightReverse = true; }
        mark(s, 'weight', n.pos);
      },
      write(s, out) {
        // weight 0 (the default): a failing script puts the instance in FAULT.
        if (s.weight !== 0 || s.weightReverse) out.line('weight', String(s.weight), ...(s.weightReverse ? ['reverse'] : []));
      },
    }),
    E.scalar('rise', 'rise', integer(1, 1000000), 1, { example: 'rise 2' }),
    E.scalar('fall', 'fall', integer(1, 1000000), 1, { example: 'fall 3' }),
    E.userGroup('user', 'user', 'group', 'user www www'),
    E.flag('init_fail', 'initFail', { example: 'init_fail' }),
  ],
};
