/** `--policy-dir DIR`: tracing policies added over the API survive a restart.
 * Each policy is one file DIR/<name>.yaml (0600), written to a temporary file
 * and renamed, so a crash leaves the old file or the new one, never half. */
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { Code, ConnectError } from "@connectrpc/connect";
import type { PolicyService } from "../api/deps";
import type { Logger } from "../log/logger";

const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const TMP_PREFIX = ".tmp-";

export class PolicyStore {
  private constructor(readonly dir: string) {}

  /** Creates DIR 0700 when missing; refuses a link, a non-directory, or one
   * that others may write to (a planted policy would run as root). */
  static open(dir: string): PolicyStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new Error(`--policy-dir ${dir} is not a directory (or is a symbolic link)`);
    if (st.mode & 0o022) throw new Error(`--policy-dir ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod go-w it`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new Error(`--policy-dir ${dir} is owned by uid ${st.uid}, not by the agent's uid ${uid}`);
    for (const f of readdirSync(dir)) if (f.startsWith(TMP_PREFIX)) unlinkSync(join(dir, f)); // left by a crash
    return new PolicyStore(dir);
  }

  /** The stored policies' YAML, by file name. */
  entries(): { file: string; yaml: string }[] {
    return readdirSync(this.dir)
      .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith("."))
      .sort()
      .map((file) => ({ file, yaml: readFileSync(join(this.dir, file), "utf8") }));
  }

  save(name: string, yaml: string): void {
    const tmp = join(this.dir, `${TMP_PREFIX}${name}-${randomBytes(6).toString("hex")}`);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const data = Buffer.from(yaml);
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, this.path(name));
    this.syncDir();
  }

  remove(name: string): void {
    try {
      unlinkSync(this.path(name));
      this.syncDir();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }

  private path(name: string): string {
    if (!SAFE_NAME.test(name)) throw new Error(`policy name ${JSON.stringify(name.slice(0, 100))} cannot be a file name`);
    return join(this.dir, `${name}.yaml`);
  }

  private syncDir(): void {
    const fd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Each document of a policy YAML with its name, its text kept byte for byte
 * (a re-serialised document could change a 64-bit value). */
export function policyDocuments(yaml: string): { name: string; text: string }[] {
  const docs = parseAllDocuments(yaml);
  if (!Array.isArray(docs)) return [];
  const out: { name: string; text: string }[] = [];
  for (const doc of docs) {
    const name = doc.getIn(["metadata", "name"]);
    if (typeof name !== "string") continue;
    const text = docs.length === 1 ? yaml : yaml.slice(doc.range[0], doc.range[2]);
    out.push({ name, text: text.endsWith("\n") ? text : `${text}\n` });
  }
  return out;
}

/** The API's policy service, with every successful add written to the store
 * and every delete removing the file. An add that cannot be stored is undone. */
export function persistentPolicies(service: PolicyService, store: PolicyStore, log: Logger): PolicyService {
  return {
    async add(yaml) {
      await service.add(yaml);
      const docs = policyDocuments(yaml);
      try {
        for (const d of docs) store.save(d.name, d.text);
      } catch (e) {
        for (const d of docs) {
          await service.delete(d.name).catch(() => undefined);
          store.remove(d.name);
        }
        const why = e instanceof Error ? e.message : String(e);
        log.error("policy not added: cannot store it in --policy-dir", { dir: store.dir, error: why });
        throw new ConnectError(`policy not added: cannot store it in ${store.dir}: ${why}`, Code.Unavailable);
      }
    },
    async delete(yamlOrName) {
      await service.delete(yamlOrName);
      const docs = policyDocuments(yamlOrName);
      const names = docs.length > 0 ? docs.map((d) => d.name) : [yamlOrName.trim()];
      for (const n of names) {
        try {
          store.remove(n);
        } catch (e) {
          log.error("cannot remove a stored policy", { name: n.slice(0, 100), error: e instanceof Error ? e.message : String(e) });
        }
      }
    },
  };
}

/** Loads every stored policy; one that fails is logged and left in place. */
export async function loadStoredPolicies(store: PolicyStore, service: PolicyService, log: Logger): Promise<string[]> {
  const loaded: string[] = [];
  for (const { file, yaml } of store.entries()) {
    try {
      await service.add(yaml);
      loaded.push(file);
    } catch (e) {
      log.error("stored policy not loaded", { file: join(store.dir, file), error: (e instanceof Error ? e.message : String(e)).slice(0, 500) });
    }
  }
  return loaded;
}
