/** ANSI colours for the compact output; a no-op when colour is off. */
export type Colour = "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "bold" | "dim";

const ANSI_CODES: Readonly<Record<Colour, number>> = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  bold: 1,
  dim: 2,
};

export type Paint = (text: string, colour: Colour) => string;

/** Text must already be escaped: colour codes are the only escapes we emit. */
export function painter(useColour: boolean): Paint {
  if (!useColour) return (text) => text;
  return (text, colour) => (text === "" ? text : `\u001b[${ANSI_CODES[colour]}m${text}\u001b[0m`);
}
