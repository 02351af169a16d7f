/** Documented limits of a TracingPolicy, enforced at AddTracingPolicy.
 * The kernel-side tables (bpf/generic/config.h) are sized from the same numbers;
 * tests/unit/policy-validate.test.ts checks each one. */
export const LIMITS = {
  policyNameLength: 253,
  /* current language: hook message, tags, arg labels (upstream's CRD bounds) */
  messageLength: 256,
  tagLength: 128,
  tagsPerHook: 16,
  labelLength: 128,
  urlLength: 2048,
  callLength: 128,
  tracepointNameLength: 64,
  hooksPerPolicy: 32,
  /* policies loaded at once, agent-wide */
  policies: 64,
  /* hooks of every loaded policy together: each costs ~17 fds and ~1.3 MB of
     kernel memory (measured: 32 syscall hooks, 557 fds, 41.7 MB of
     slab+vmalloc+percpu), and 640 hooks (20 policies of 32) took 48 s to verify */
  hooksTotal: 128,
  argsPerHook: 6,
  /* kprobe / syscall argument positions (6 registers) */
  kprobeArgIndexMax: 5,
  /* field positions in a tracepoint format file */
  tracepointArgIndexMax: 63,
  selectorsPerHook: 5,
  matchPIDsPerSelector: 2,
  matchArgsPerSelector: 5,
  matchReturnArgsPerSelector: 2,
  matchBinariesPerSelector: 1,
  matchNamespacesPerSelector: 10,
  matchNamespaceChangesPerSelector: 1,
  matchCapabilitiesPerSelector: 3,
  matchCapabilityChangesPerSelector: 3,
  matchActionsPerSelector: 3,
  /* values of one numeric matcher (pids, integers, namespace inodes) */
  numericValuesPerMatcher: 8,
  /* values of one string matcher or of matchBinaries */
  stringValuesPerMatcher: 16,
  /* bytes of one string value (the kernel compares at most this many) */
  stringValueLength: 255,
  /* bytes of one binary path (execve_map keeps 256 with the NUL) */
  binaryPathLength: 255,
  /* bytes of one captured string, path or buffer */
  capturedBytes: 4096,
} as const;
