#!/usr/bin/env node
// The demo's embedded MQTT broker (aedes), so `npm run demo` needs no broker installed.
// argv: ADDRESS PORT [UNIX-SOCKET]. Run by scripts/demo.ts inside the lab's client namespace;
// the unix socket (in the lab's temp dir) lets the fleet page's viewer in the host's namespace
// reach the broker without opening anything on the host's network.
// aedes speaks MQTT 3.1.1: the boards' reporter asks for MQTT 5, is refused with "unacceptable
// protocol version" and falls back to 3.1.1, as it would with any older broker.
import { Aedes } from 'aedes';
import { createServer } from 'node:net';

const [address = '127.0.0.1', port = '1883', socketPath] = process.argv.slice(2);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
const local = socketPath ? createServer(broker.handle) : null;
if (local) local.listen(socketPath, () => console.log(`demo broker listening on ${socketPath}`));
server.listen(Number(port), address, () => console.log(`demo broker listening on ${address}:${port}`));
const stop = () => { local?.close(); server.close(() => broker.close(() => process.exit(0))); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
