/** Cost bounds of GetEvents filters (docs/filters.md "Limits"). Each error
 * that enforces one names it. A stream's filters run on every published
 * event, on the agent's one JavaScript thread. */
export const FILTER_LIMITS = {
  /** filters in allow_list and deny_list together */
  filtersPerRequest: 64,
  /** binary_regex patterns in one filter */
  patternsPerFilter: 32,
  /** characters of one binary_regex */
  regexLength: 1024,
  /** RE2 instructions of one binary_regex (re2js programSize) */
  regexProgramSize: 1000,
  /** RE2 instructions of every binary_regex of a request together: the
   * per-event match budget is this × matchInputLength steps (~14 ms worst case measured) */
  regexProgramBudget: 2000,
  /** a binary path longer than this (PATH_MAX) never matches */
  matchInputLength: 4096,
  /** pid and pid_set values in one filter */
  pidsPerFilter: 256,
  /** filters with pid_set in one request */
  pidSetFilters: 8,
  /** processes one pid_set filter remembers (members, links, exits) */
  pidSetTracked: 16_384,
  /** event_set and namespace values in one filter */
  valuesPerFilter: 64,
} as const;
