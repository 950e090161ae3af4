// A bound on the size of MQTT packets we receive, whatever the protocol version.
//
// MQTT 5 lets a client say how large a packet it accepts (CONNECT property Maximum Packet
// Size, §3.1.2.11.4): the broker then does not send bigger ones (it drops them, §3.1.2.11.4).
// MQTT 3.1.1 has no such property, and mqtt.js checks the size only once a packet is whole
// (handlers/index.js, and only for MQTT 5): mqtt-packet keeps every byte of a 32 MB PUBLISH in
// memory until then. So this guard reads the fixed header of each packet as the bytes arrive
// (§2.2: one byte of type and flags, then the Remaining Length in 1 to 4 bytes of 7 bits) and
// ends the connection as soon as one announces more than the bound, before its body comes.
import type { MqttClient } from 'mqtt';

export interface PacketGuard {
  /** Feeds received bytes; returns the announced size of a packet over the bound, or null. */
  feed(chunk: Uint8Array): number | null;
}

/** Tracks packet boundaries in a received byte stream. */
export function packetSizeGuard(maxPacketBytes: number): PacketGuard {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let left = 0;
  return {
    feed(chunk) {
      let i = 0;
      while (i < chunk.length) {
        if (state === 'type') {
          i++;
          state = 'length';
          length = 0;
          multiplier = 1;
          lengthBytes = 0;
        } else if (state === 'length') {
          const b = chunk[i++]!;
          length += (b & 0x7f) * multiplier;
          multiplier *= 128;
          lengthBytes++;
          if (b & 0x80) {
            // §1.5.5: at most four bytes; a fifth is a malformed packet, treat it as too large.
            if (lengthBytes >= 4) return Number.MAX_SAFE_INTEGER;
            continue;
          }
          const total = 1 + lengthBytes + length;
          if (total > maxPacketBytes) return total;
          left = length;
          state = left === 0 ? 'type' : 'body';
        } else {
          const n = Math.min(left, chunk.length - i);
          i += n;
          left -= n;
          if (left === 0) state = 'type';
        }
      }
      return null;
    },
  };
}

/**
 * Guards every connection `client` makes (mqtt.js builds a new stream for each reconnect):
 * the first stream now, later ones as soon as they exist. On a packet over the bound the
 * stream is destroyed with an EMSGSIZE error (which mqtt.js reports as 'error') and
 * `onOversize` is told its size.
 */
export function guardClient(client: MqttClient, maxPacketBytes: number, onOversize: (bytes: number) => void): void {
  const guarded = new WeakSet<object>();
  const attach = (): void => {
    const stream = client.stream;
    if (!stream || guarded.has(stream)) return;
    guarded.add(stream);
    const guard = packetSizeGuard(maxPacketBytes);
    stream.on('data', (chunk: Uint8Array) => {
      const over = guard.feed(chunk);
      if (over === null) return;
      onOversize(over);
      const err = Object.assign(new Error(`MQTT packet of ${over} bytes exceeds the limit of ${maxPacketBytes}`), { code: 'EMSGSIZE' });
      stream.destroy(err);
    });
  };
  attach();
  // mqtt.js emits 'reconnect' just before it creates the next stream (client.js _reconnect),
  // and no byte can arrive on it before the current job ends: attach right after.
  client.on('reconnect', () => queueMicrotask(attach));
}
