/** Bun settings the agent runs with that only the environment at start can
 * set, so the agent re-executes itself once with them (same pid, arguments
 * and descriptors).
 *
 * BUN_GC_TIMER_DISABLE: Bun's idle GC timer wakes an idle agent ~16 times a
 * second (about 1.6 ms/s of CPU on the test VMs) to collect a heap that the
 * agent's own collection policy (collections.ts) already looks after; with it
 * off, an idle agent used 0.07–0.10% of a core instead of 0.27–0.30%. JSC's own
 * allocation-paced collections are unaffected. */
export const RUNTIME_ENV: Readonly<Record<string, string>> = { BUN_GC_TIMER_DISABLE: "1" };

/** Re-executes this process with RUNTIME_ENV unless every variable of it is
 * already set (a value the operator set is kept); returns only when it
 * does not (already done, or execve failed: the agent then runs as it is). */
export function reexecWithRuntimeEnv(): void {
  if (Object.keys(RUNTIME_ENV).every((k) => process.env[k] !== undefined)) return;
  const execve = process.execve?.bind(process);
  if (execve === undefined) return;
  // A compiled executable's argv[1] is its embedded entry point, not an argument.
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = [process.execPath, ...process.argv.slice(compiled ? 2 : 1)];
  const env: Record<string, string> = { ...RUNTIME_ENV };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  try {
    execve(process.execPath, args, env);
  } catch {
    // Not fatal: only the idle wake-ups stay.
  }
}
