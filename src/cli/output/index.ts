export { formatCompactLine, type CompactOptions } from "./compact";
export { formatJsonLine } from "./json";
export { escapeForTerminal, escapeBytes } from "./escape";
