// Real keepalived (2.2.7, /usr/sbin/keepalived) as one of the lab's boards, so tandem can be
// tested against the reference implementation ("Mixed pairs with real keepalived as the
// other board"). It takes the same keepalived.conf text a tandem board takes.
//
//   const k = await startKeepalived(lab, 'b', pairConfig({ … }), { waitForLog: /Entering BACKUP STATE/ });
//   await k.crash();   // SIGKILL the VRRP child: no priority-0 advert, VIPs left behind
//   await k.stop();    // SIGTERM: keepalived sends priority 0 and removes its VIPs
//
// keepalived runs in the foreground (-n) as a parent plus a VRRP child process. Each board gets
// its own pid files in its own directory, because keepalived refuses to start when the default
// /run/keepalived.pid names a live process. -R (--dont-respawn) makes the parent exit when the
// VRRP child dies instead of restarting it, so a SIGKILLed child is a crash that stays crashed.
// The processes are started with lab.spawn and therefore stopped by PID at lab.destroy().
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { runCommand } from './command.ts';
import { type Board, type BoardHandle, type Lab, type LabProcess, type ExitStatus, waitFor } from './lab.ts';
import { waitHolder, waitHolder6 } from './vrrp-helpers.ts';

export const KEEPALIVED = process.env.TANDEM_KEEPALIVED ?? '/usr/sbin/keepalived';

export interface StartKeepalivedOptions {
  /** Resolve once keepalived logged a line matching this (e.g. /\(VI_PUB\) Entering BACKUP STATE/). */
  waitForLog?: RegExp;
  /** Timeout for waitForLog; default 15 s. */
  timeoutMs?: number;
  /** Files written beside the configuration (name relative to the board's dir → content), mode 0755. */
  files?: Record<string, string>;
}

export interface KeepalivedHandle {
  board: Board;
  /** The parent keepalived process (its output holds the VRRP child's log lines too). */
  proc: LabProcess;
  dir: string;
  configPath: string;
  pidFile: string;
  vrrpPidFile: string;
  waitForLog(re: RegExp, timeoutMs?: number, opts?: { from?: number }): Promise<string>;
  /** PID of the VRRP child, from its pid file (waits for the file to appear). */
  vrrpPid(): Promise<number>;
  /** SIGTERM: a MASTER sends priority 0 and removes its VIPs; resolves when the parent exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** SIGKILL the VRRP child, then the parent: nothing cleaned up, no priority-0 advert. */
  crash(): Promise<ExitStatus>;
}

/**
 * keepalived refuses to run scripts as root unless told to (script security); tandem does not
 * care about these directives' absence, so only keepalived's copy of a configuration gets them.
 */
export function keepalivedConfig(configText: string): string {
  const extra = '    enable_script_security\n    script_user root\n';
  if (/^\s*global_defs\s*\{/m.test(configText)) return configText.replace(/^(\s*global_defs\s*\{[^\n]*\n)/m, `$1${extra}`);
  return `global_defs {\n${extra}}\n${configText}`;
}

/** Checks a configuration with `keepalived -t` (needs the interfaces, so run in the board's namespace). */
export async function checkKeepalivedConfig(lab: Lab, board: Board, configPath: string): Promise<void> {
  const r = await lab.exec(board, [KEEPALIVED, '-t', '-f', configPath], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`keepalived -t rejected ${configPath} (exit ${String(r.code)}):\n${r.stderr}${r.stdout}`);
}

const starts = new Map<string, number>();

export async function startKeepalived(lab: Lab, board: Board, configText: string, opts: StartKeepalivedOptions = {}): Promise<KeepalivedHandle> {
  if (!existsSync(KEEPALIVED)) throw new Error(`keepalived not found at ${KEEPALIVED}`);
  const dir = join(lab.tmpDir, `keepalived-${board}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const configPath = join(dir, 'keepalived.conf');
  // Fresh pid files per start: after a crash the old ones name processes that may linger as
  // zombies (reparented to a PID 1 that does not reap), and keepalived then says "daemon is
  // already running".
  const run = (starts.get(dir) ?? 0) + 1;
  starts.set(dir, run);
  const pidFile = join(dir, `keepalived-${run}.pid`);
  const vrrpPidFile = join(dir, `vrrp-${run}.pid`);
  await writeFile(configPath, keepalivedConfig(configText));
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    const p = resolve(dir, name);
    if (!p.startsWith(dir + '/')) throw new Error(`file ${name} would land outside the board's directory`);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content, { mode: 0o755 });
  }
  await checkKeepalivedConfig(lab, board, configPath);
  const proc = lab.spawn(board, [
    KEEPALIVED, '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '--vrrp', '--dont-respawn',
    '-f', configPath, '-p', pidFile, '-r', vrrpPidFile,
  ], { cwd: dir, label: `keepalived-${board}` });
  const vrrpPid = async (): Promise<number> => {
    let pid = 0;
    await waitFor(async () => {
      const n = Number((await readFile(vrrpPidFile, 'utf8')).trim());
      if (!Number.isInteger(n) || n <= 0) return false;
      pid = n;
      return true;
    }, { timeoutMs: 10_000, what: `keepalived VRRP pid file ${vrrpPidFile}` });
    return pid;
  };
  const handle: KeepalivedHandle = {
    board, proc, dir, configPath, pidFile, vrrpPidFile,
    waitForLog: (re, timeoutMs, o) => proc.waitForLog(re, timeoutMs, o),
    vrrpPid,
    stop: (graceMs = 10_000) => proc.stop('SIGTERM', graceMs),
    crash: async () => {
      if (!proc.running) return proc.exited;
      const pid = await vrrpPid().catch(() => 0);
      // The child is ours (its pid file is in our dir and it runs in our namespace); check it is
      // keepalived before signalling, in case the pid was reused.
      if (pid > 0 && (await isKeepalived(pid))) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      return proc.stop('SIGKILL');
    },
  };
  if (opts.waitForLog) await proc.waitForLog(opts.waitForLog, opts.timeoutMs ?? 15_000);
  return handle;
}

async function isKeepalived(pid: number): Promise<boolean> {
  try {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    return comm === 'keepalived';
  } catch {
    return false;
  }
}

/** A tandem board has started (its first transition). */
export const TANDEM_UP = /Entering (BACKUP|MASTER|FAULT) STATE/;
/** keepalived has started VI_PUB (its first transition). */
export const KEEPALIVED_UP = /\(VI_PUB\) Entering (BACKUP|MASTER) STATE/;
/** keepalived has started VI_PUB6 (the IPv6 pair of vrrp-configs.ts pairConfig6). */
export const KEEPALIVED_UP6 = /\(VI_PUB6\) Entering (BACKUP|MASTER) STATE/;

export interface MixedPairOptions {
  tandem: { board: Board; config: string };
  keepalived: { board: Board; config: string };
  /** Which of the two must become MASTER (the one with the higher priority). */
  master: 'tandem' | 'keepalived';
  /** 6: the IPv6 pair (pairConfig6): VI_PUB6 and the IPv6 VIPs are what is waited for. */
  family?: 4 | 6;
}

/**
 * A mixed pair: tandem on one board, keepalived on the other. The one meant to be BACKUP starts
 * first, then the master, which preempts it; resolves once the master holds both VIPs alone and
 * has logged VI_PUB's MASTER transition.
 */
export async function startMixedPair(lab: Lab, o: MixedPairOptions): Promise<{ tandem: BoardHandle; ka: KeepalivedHandle }> {
  const startTandem = (): Promise<BoardHandle> => lab.startBoard(o.tandem.board, o.tandem.config, { waitForLog: TANDEM_UP });
  const six = o.family === 6;
  const startKa = (): Promise<KeepalivedHandle> => startKeepalived(lab, o.keepalived.board, o.keepalived.config, { waitForLog: six ? KEEPALIVED_UP6 : KEEPALIVED_UP });
  let tandem: BoardHandle;
  let ka: KeepalivedHandle;
  if (o.master === 'tandem') {
    ka = await startKa();
    tandem = await startTandem();
  } else {
    tandem = await startTandem();
    ka = await startKa();
  }
  const holder = o.master === 'tandem' ? o.tandem.board : o.keepalived.board;
  await (six ? waitHolder6(lab, holder) : waitHolder(lab, holder));
  await (o.master === 'tandem' ? tandem : ka).waitForLog(six ? /\(VI_PUB6\) Entering MASTER STATE/ : /\(VI_PUB\) Entering MASTER STATE/);
  return { tandem, ka };
}

/** keepalived's version line (for reports). */
export async function keepalivedVersion(): Promise<string> {
  const r = await runCommand(KEEPALIVED, ['--version']);
  return (r.stderr + r.stdout).split('\n')[0]?.trim() ?? 'unknown';
}
