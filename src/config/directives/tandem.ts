// tandem's own blocks, in keepalived.conf syntax (DESIGN.md "Configuration"): mqtt { … },
// serial_console { … } and notify_programs { … }.
import type { MqttSettings, NotifyProgramSettings, SerialConsoleSettings } from '../model.ts';
import { DEFAULT_NOTIFY_TIMEOUT_MS } from '../../util/notify.ts';
import { shown } from '../values.ts';
import type { Block } from './engine.ts';
import { directivesOf } from './entries.ts';
import { BOOL, integer, numbered, SECONDS, WORD } from './kinds.ts';

const M = directivesOf<MqttSettings>();

export const MQTT: Block<MqttSettings> = {
  name: 'mqtt',
  where: () => 'mqtt',
  entries: [
    M.scalar('url', 'url', WORD, '', {
      example: 'url mqtts://broker.example.com:8883', always: true,
      check: (u) => {
        const scheme = /^([a-z]+):\/\/[^/\s]+/.exec(u);
        return scheme && ['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme[1]!) ? []
          : [{ severity: 'error', message: `mqtt url '${shown(u)}' must be mqtt://, mqtts://, ws:// or wss:// followed by a host` }];
      },
    }),
    M.scalar('prefix', 'prefix', WORD, 'tandem', {
      example: 'prefix fleet',
      check: (p) => (p === '' || /[#+]/.test(p) ? [{ severity: 'error', message: `mqtt prefix '${shown(p)}' must be non-empty and hold no MQTT wildcards`, field: null }] : []),
    }),
    // null: global_defs router_id, else the host name.
    M.scalar('node', 'node', WORD, null, {
      example: 'node lb-a',
      check: (n) => (n !== null && (n === '' || /[#+/]/.test(n)) ? [{ severity: 'error', message: `mqtt node '${shown(n)}' must be non-empty and hold no '/', '+' or '#'`, field: null }] : []),
    }),
    M.scalar('username', 'username', WORD, null, { example: 'username tandem' }),
    M.scalar('password_file', 'passwordFile', WORD, null, { example: 'password_file /etc/tandem/mqtt.pass' }),
    M.scalar('ca_file', 'caFile', WORD, null, { example: 'ca_file /etc/tandem/ca.pem' }),
    M.scalar('cert_file', 'certFile', WORD, null, { example: 'cert_file /etc/tandem/cert.pem' }),
    M.scalar('key_file', 'keyFile', WORD, null, { example: 'key_file /etc/tandem/key.pem' }),
    M.scalar('keepalive', 'keepaliveS', integer(0, 65535), 30, { example: 'keepalive 15' }),
    M.scalar('health_interval', 'healthIntervalMs', SECONDS, 10000, {
      example: 'health_interval 5',
      check: (v) => (v > 0 ? [] : [{ severity: 'error', message: 'health_interval must be greater than 0' }]),
    }),
    // 5, falling back to 4 (3.1.1) when the broker refuses 5.
    M.scalar('protocol_version', 'protocolVersion', numbered<4 | 5>({ '4': 4, '5': 5 }), 5, { example: 'protocol_version 4' }),
    M.scalar('offline_queue', 'offlineQueue', integer(0, 10000000), 1000, { example: 'offline_queue 200' }),
    M.scalar('enabled', 'enabled', BOOL, true, { example: 'enabled false' }),
  ],
};

const S = directivesOf<SerialConsoleSettings>();

export const SERIAL_CONSOLE: Block<SerialConsoleSettings> = {
  name: 'serial_console',
  where: () => 'serial_console',
  entries: [
    // null: the board profile's console device.
    S.scalar('device', 'device', WORD, null, { example: 'device /dev/ttyS1' }),
    S.scalar('baud', 'baud', integer(50, 4000000), 115200, { example: 'baud 57600' }),
    S.scalar('idle_timeout', 'idleTimeoutMs', SECONDS, 15 * 60 * 1000, { example: 'idle_timeout 300' }),
    S.scalar('enabled', 'enabled', BOOL, true, { example: 'enabled false' }),
  ],
};

const N = directivesOf<NotifyProgramSettings>();

/**
 * How long a notify program (notify_master…, notify, notify_up/down, quorum_up/down,
 * notify_master_rx_lower_pri) may run before tandem kills it. keepalived waits for them without
 * a bound; tandem bounds them so a hung program cannot pile up processes on a small board.
 */
export const NOTIFY_PROGRAMS: Block<NotifyProgramSettings> = {
  name: 'notify_programs',
  where: () => 'notify_programs',
  entries: [
    N.scalar('timeout', 'timeoutMs', SECONDS, DEFAULT_NOTIFY_TIMEOUT_MS, {
      example: 'timeout 30',
      check: (v) => (v > 0 ? [] : [{ severity: 'error', message: 'notify_programs timeout must be greater than 0' }]),
    }),
  ],
};
