/** A policy the agent refuses. `code` maps to the gRPC/Connect status. */
export type PolicyErrorCode = "invalid_argument" | "already_exists" | "not_found" | "failed_precondition" | "resource_exhausted";

export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  /** each "<field path>: <reason>" */
  readonly issues: readonly string[];

  constructor(code: PolicyErrorCode, issues: readonly string[]) {
    super(issues.join("; "));
    this.name = "PolicyError";
    this.code = code;
    this.issues = issues;
  }
}

/** Collects "<path>: <reason>" issues in document order, and warnings:
 * fields accepted for compatibility that do nothing here. */
export class IssueList {
  readonly items: string[] = [];
  readonly warnings: string[] = [];
  add(path: string, reason: string): void {
    const line = path === "" ? reason : `${path}: ${reason}`;
    if (!this.items.includes(line)) this.items.push(line);
  }
  warn(path: string, reason: string): void {
    const line = path === "" ? reason : `${path}: ${reason}`;
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
}
