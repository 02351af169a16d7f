import { NO_KPROBES, probeKernel, type KernelEnvironment } from "../../src/kernel/environment";

/** This machine's kernel described as one without kprobes and without BTF,
 * so kernel-function hooks can only use syscall tracepoints: what a policy
 * test gets then does not depend on the machine it runs on. The kernel
 * matrix (tests/vm) covers kprobe, fentry and fmod_ret. */
export function tracepointOnlyKernel(): KernelEnvironment {
  return { ...probeKernel(), kprobesMissing: NO_KPROBES, btf: false };
}
