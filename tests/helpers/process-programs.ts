/* Small multi-threaded C programs the process tests run (Bun cannot exec from a
 * thread or exit its main thread first). Compiled once per content into /tmp. */
import { spawnSync } from "bun";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SOURCES = {
  /* A thread is created and joined (a thread exit, not a process exit); then
   * the process waits for stdin to close and exits with argv[1]. */
  "thread-exit": `
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void *run(void *a) { return a; }
int main(int argc, char **argv) {
  pthread_t t;
  char c;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  printf("joined\\n");
  fflush(stdout);
  while (read(0, &c, 1) > 0) {}
  return argc > 1 ? atoi(argv[1]) : 0;
}`,
  /* The main thread exits first; the other thread later ends the process
   * with exit(argv[1]): the last thread to go is not the leader. */
  "leader-exit": `
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static int code;
static void *run(void *a) { usleep(200000); exit(code); return a; }
int main(int argc, char **argv) {
  pthread_t t;
  code = argc > 1 ? atoi(argv[1]) : 0;
  pthread_create(&t, NULL, run, NULL);
  pthread_exit(NULL);
}`,
  /* Execs argv[2..] from the main thread ("leader") or from a second thread
   * ("thread") while another thread is alive: the kernel kills the others. */
  "mt-exec": `
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char **args;
static void *idle(void *a) { for (;;) pause(); return a; }
static void *execer(void *a) { execv(args[0], args); perror("execv"); _exit(127); return a; }
int main(int argc, char **argv) {
  pthread_t t1, t2;
  if (argc < 3) return 2;
  args = argv + 2;
  pthread_create(&t1, NULL, idle, NULL);
  if (strcmp(argv[1], "thread") == 0) {
    pthread_create(&t2, NULL, execer, NULL);
    for (;;) pause();
  }
  usleep(50000);
  execv(args[0], args);
  perror("execv");
  return 127;
}`,
} as const;

export type ProgramName = keyof typeof SOURCES;

/** Path of the compiled program (compiles on first use). */
export function program(name: ProgramName): string {
  const src = SOURCES[name];
  const hash = createHash("sha256").update(src).digest("hex").slice(0, 12);
  const dir = `/tmp/fgs-test-programs`;
  const out = join(dir, `${name}-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const cFile = `${out}.c`;
  writeFileSync(cFile, src);
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = spawnSync(["cc", "-O2", "-pthread", "-o", tmp, cFile], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc ${name} failed:\n${cc.stderr.toString()}`);
  renameSync(tmp, out);
  return out;
}
