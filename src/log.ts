// Logging. Lines look like keepalived's so its operators recognise them
// ("(VI_PUB) Entering MASTER STATE"), prefixed with the time and level. The most recent lines
// are kept in a bounded ring for the console's `show log`.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  log(level: LogLevel, msg: string): void;
  recent(n: number): string[];
}

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

export function createLogger(level: LogLevel, opts: { ring?: number; write?: (line: string) => void } = {}): Logger {
  const ringSize = opts.ring ?? 500;
  const ring: string[] = [];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const log = (lvl: LogLevel, msg: string): void => {
    const line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}`;
    ring.push(line);
    if (ring.length > ringSize) ring.shift();
    if (ORDER[lvl] >= ORDER[level]) write(line);
  };
  return {
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
    log,
    recent: (n) => ring.slice(-n),
  };
}
