// The command line's sub-commands, apart from their options: errors.ts names
// them in UsageError, which the library's public types carry, and a browser
// app's type check must not meet node:util there.

export const COMMANDS = ["weight-decay", "dropout", "lenet", "demo"] as const;
export type CommandName = (typeof COMMANDS)[number];
