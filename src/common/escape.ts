/**
 * Makes process-controlled text safe to print on one terminal line.
 *
 * Binaries, arguments and paths come from processes the agent observes, so
 * they can contain newlines (fake extra events), ESC sequences (recolour,
 * move the cursor, retitle the terminal) or bidirectional overrides
 * (reorder what the reader sees). Each such character becomes a visible
 * escape, and a literal backslash is doubled so that an escape printed by
 * us cannot be confused with one typed by the process.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, escapeCharacter);
}

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi marks,
// embeddings, overrides and isolates, and the backslash itself.
const UNSAFE_CHARACTERS = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\u001b": "\\e",
};

function escapeCharacter(character: string): string {
  const named = NAMED_ESCAPES[character];
  if (named !== undefined) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, "0");
}

/** Bytes as text: printable ASCII as is, everything else as \xNN. */
export function escapeBytes(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x5c;
    text += printable ? String.fromCharCode(byte) : byte === 0x5c ? "\\\\" : `\\x${hex(byte, 2)}`;
  }
  return text;
}
