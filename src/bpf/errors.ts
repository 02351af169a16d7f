import { constants } from "node:os";

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name]),
);

function errnoName(negErrno: number): string {
  const n = Math.abs(negErrno);
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** A libbpf call failed; `log` holds what libbpf printed (verifier output on load failures). */
export class BpfError extends Error {
  constructor(
    readonly operation: string,
    readonly errno: number,
    readonly log = "",
  ) {
    super(`${operation}: ${errnoName(errno)}${log ? `\n${log.trimEnd()}` : ""}`);
    this.name = "BpfError";
  }
}
