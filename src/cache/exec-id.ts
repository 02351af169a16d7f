/** exec_id: base64 (standard, padded) of "<node>:<ktime>:<tgid>". */
export function execId(nodeName: string, ktime: bigint, tgid: number): string {
  return Buffer.from(`${nodeName}:${ktime}:${tgid}`, "utf8").toString("base64");
}
