export { formatCompactLine, type CompactOptions } from "./compact";
export { formatJsonLine } from "../../common/event-json";
export { escapeForTerminal, escapeBytes } from "../../common/escape";
