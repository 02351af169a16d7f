export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | bigint | null | undefined | readonly string[]>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogSink {
  write(line: string): void;
}

function serialize(value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** One JSON object per line: {"time","level","msg",...fields}. */
export function createLogger(sink: LogSink, minLevel: LogLevel = "info", base: LogFields = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[minLevel]) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    sink.write(`${JSON.stringify(record, (_k, v) => serialize(v))}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(sink, minLevel, { ...base, ...fields }),
  };
}

export function stderrSink(): LogSink {
  return { write: (line) => void process.stderr.write(line) };
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}
