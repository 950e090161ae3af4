// `tandem fleet --http` for the page tests, the bench and the demo. It runs in this (the host's)
// namespace, like the person who would open the page: it reaches the lab's broker over the
// broker's unix socket (mosquitto.ts) and serves the page on 127.0.0.1 at a port the kernel
// picks. Stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_BUNDLE } from './lab.ts';

export interface FleetViewer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  proc: ChildProcess;
  /** What it wrote to stderr. */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startFleetViewer(mqttUrl: string, opts: { bundle?: string; http?: string; args?: string[] } = {}): Promise<FleetViewer> {
  const proc = spawn(process.execPath, [opts.bundle ?? DEFAULT_BUNDLE, 'fleet', '--mqtt', mqttUrl, '--http', opts.http ?? '0', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => (err += s));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('close', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tandem fleet --http printed no address in 10 s: ${out} ${err}`)), 10_000);
    proc.stdout!.on('data', (s: string) => {
      out += s;
      const m = /dashboard at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`tandem fleet exited ${String(code)}: ${err}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { url, proc, stderr: () => err, stop };
}
