import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kallsyms } from "../../src/kernel/kallsyms";

const dir = mkdtempSync(join(tmpdir(), "fgs-kallsyms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a symbol that appears later (a module loaded) is found once the table is old enough to reload", () => {
  const path = join(dir, "kallsyms");
  writeFileSync(path, "ffffffff81000000 T do_sys_open\nffffffff81000010 t local_fn\nffffffff81000020 D some_data\n");
  let now = 1_000_000;
  const k = new Kallsyms(path, () => now);
  expect([k.has("do_sys_open"), k.has("local_fn"), k.has("some_data")]).toEqual([true, true, false]);
  appendFileSync(path, "ffffffffc0000000 t mod_fn\t[mymod]\n");
  now += 100;
  expect(k.has("mod_fn")).toBe(false); // read 100 ms ago: a miss does not reread
  now += 5000;
  expect(k.has("mod_fn")).toBe(true);
});
