/** exec_id: base64 (standard, padded) of "<node>:<ktime>:<tgid>". */
export function execId(nodeName: string, ktime: bigint, tgid: number): string {
  const text = `${nodeName}:${ktime}:${tgid}`;
  // btoa is one native call (the exec path's hot spot); it takes Latin-1 only.
  return LATIN1.test(text) ? btoa(text) : Buffer.from(text, "utf8").toString("base64");
}

const LATIN1 = /^[\x00-\x7f]*$/;
