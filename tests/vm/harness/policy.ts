import { Code, ConnectError } from "@connectrpc/connect";
import { stringify } from "yaml";
import type { Agent } from "./agent";

// TracingPolicy documents as users write them (../shared/facts/tracing-policy.md).

export interface ArgDoc {
  readonly index: number;
  readonly type: string;
}

export interface MatchDoc {
  readonly index?: number;
  readonly operator: string;
  readonly values: readonly string[];
}

export interface ActionDoc {
  readonly action: string;
  readonly argError?: number;
}

export interface SelectorDoc {
  readonly matchBinaries?: readonly MatchDoc[];
  readonly matchArgs?: readonly MatchDoc[];
  readonly matchActions?: readonly ActionDoc[];
}

export interface KprobeDoc {
  readonly call: string;
  readonly syscall?: boolean;
  readonly return?: boolean;
  readonly args?: readonly ArgDoc[];
  readonly returnArg?: ArgDoc;
  readonly selectors?: readonly SelectorDoc[];
}

export function kprobePolicy(name: string, kprobes: readonly KprobeDoc[]): string {
  return stringify({
    apiVersion: "cilium.io/v1alpha1",
    kind: "TracingPolicy",
    metadata: { name },
    spec: { kprobes },
  });
}

/** A selector limited to one binary, so the guest's other activity stays out. */
export function onlyBinary(binary: string, extra: SelectorDoc = {}): SelectorDoc {
  return { matchBinaries: [{ operator: "In", values: [binary] }], ...extra };
}

/** AddTracingPolicy; a refusal becomes an Error carrying the agent's whole message. */
export async function addPolicy(agent: Agent, yaml: string): Promise<void> {
  try {
    await agent.client.addTracingPolicy({ yaml });
  } catch (e) {
    const err = ConnectError.from(e);
    throw new Error(`AddTracingPolicy failed: ${Code[err.code]}: ${err.rawMessage}`);
  }
}
