/** Secrets of the API: the console token (a 0600 file, exchanged once for a
 * session cookie), the browser sessions, and the bearer token for remote callers. */
import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export const SESSION_COOKIE = "fgs_session";

export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** Writes the token to a fresh 0600 file; an existing file is replaced only
 * when it is a regular file (never followed through a link). */
export function writeTokenFile(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  checkTokenDir(dirname(path));
  try {
    const st = lstatSync(path);
    if (!st.isFile()) throw new Error(`${path} exists and is not a regular file; refusing to replace it`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Removes a token file written by writeTokenFile, unless another writer has
 * replaced it since (then it holds another token and is theirs). */
export function removeTokenFile(path: string, token: string): void {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    let text: string;
    try {
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
    if (sameSecret(text.split("\n")[0] ?? "", token)) unlinkSync(path);
  } catch {
    // Already gone, or not ours to remove: nothing to clean up.
  }
}

/** The token's directory must not let another user swap files in it: owned
 * by us or root, and not writable by group or others unless sticky (/tmp). */
function checkTokenDir(dir: string): void {
  const st = lstatSync(dir);
  const me = process.geteuid?.() ?? 0;
  const sticky = (st.mode & 0o1000) !== 0;
  if (st.isSymbolicLink() || !st.isDirectory() || (st.uid !== me && st.uid !== 0) || ((st.mode & 0o022) !== 0 && !sticky)) {
    throw new Error(`console token directory ${dir} is not safe (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): it must belong to root or uid ${me} and not be writable by others`);
  }
}

/** A bearer token file: its first line, which must be at least 16 characters. */
export function readTokenFile(path: string): string {
  const token = readFileSync(path, "utf8").split("\n")[0]?.trim() ?? "";
  if (token.length < 16) throw new Error(`--api-token-file ${path}: the token must be at least 16 characters`);
  return token;
}

/** Browser sessions: random ids in memory, oldest forgotten beyond `limit`. */
export class Sessions {
  private readonly ids = new Set<string>();
  constructor(private readonly limit: number) {}

  create(): string {
    const id = randomToken();
    if (this.ids.size >= this.limit) {
      const oldest = this.ids.values().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
    this.ids.add(id);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    for (const known of this.ids) if (sameSecret(id, known)) return true;
    return false;
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}
