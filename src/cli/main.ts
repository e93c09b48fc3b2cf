// The wasmgrad command line (bin/wasmgrad.mjs runs it): the d2l weight decay and
// dropout experiments from a terminal. See "wasmgrad --help".
//
// Exit codes: 0 done, 1 failed, 2 bad arguments, 130 interrupted (Ctrl-C).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setBackend } from "../index.ts";
import { HELP, parseCommandLine, UsageError } from "./args.ts";
import { makeContext } from "./context.ts";
import { installInterruptHandler, uninstallInterruptHandler } from "./interrupt.ts";
import { loadPlot } from "./plot-loader.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      if (pkg.name === "wasmgrad") return pkg.version;
    }
    dir = dirname(dir);
  }
  return "unknown";
}

/** Runs the command line `argv` (the arguments after "wasmgrad") and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const who = error.command ? `wasmgrad ${error.command}` : "wasmgrad";
    process.stderr.write(`${who}: ${error.message}\nRun "${who} --help" for the options.\n`);
    return EXIT.usage;
  }
  if (args.command === "help") {
    process.stdout.write(HELP[args.topic ?? "main"] + "\n");
    return EXIT.ok;
  }
  if (args.command === "version") {
    process.stdout.write(`wasmgrad ${version()}\n`);
    return EXIT.ok;
  }

  const ctx = makeContext(args);
  // `wasmgrad … | head` closes stdout early: stop quietly, as other tools do.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
  installInterruptHandler((m) => ctx.note(m));
  try {
    setBackend(args.backend);
    if (args.plot) await loadPlot(); // before training: a missing optional package is said at once
    let stopped: boolean;
    if (args.command === "weight-decay") {
      const { weightDecayCommand } = await import("./weight-decay.ts");
      ({ stopped } = await weightDecayCommand(args, ctx));
    } else if (args.command === "dropout") {
      const { dropoutCommand } = await import("./dropout.ts");
      ({ stopped } = await dropoutCommand(args, ctx));
    } else if (args.command === "lenet") {
      const { lenetCommand } = await import("./lenet.ts");
      ({ stopped } = await lenetCommand(args, ctx));
    } else {
      const { demoCommand } = await import("./demo.ts");
      ({ stopped } = await demoCommand(args, ctx));
    }
    return stopped ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    ctx.progress.stop();
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`wasmgrad ${args.command}: error: ${message}\n`);
    if (process.env.WASMGRAD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT.failed;
  } finally {
    ctx.progress.stop();
    uninstallInterruptHandler();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await main(process.argv.slice(2));
}
